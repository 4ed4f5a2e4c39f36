"""Crash test: SIGKILL the gateway twice while several hundred messages are being sent; every message
that got a 250 must reach the next hop within 60 s of the last restart (duplicates are allowed, counted
and reported; losses are not).

The lease is set far longer than that (300 s): only the restarted node taking back at once what its
killed processes held (lease tokens name their owner, gateway.store.owner) can meet the 60 s."""

from __future__ import annotations

import contextlib
import queue
import secrets
import smtplib
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.support.gateway_proc import GatewayProcess, write_config
from tests.support.redis_keys import delete_redis_prefix
from tests.support.sink import RecordingSink

MESSAGES = 400
SESSIONS = 10
KILL_AT = (MESSAGES // 3, 2 * MESSAGES // 3)
RECOVERY_SECONDS = 60.0


def _message(test_id: str) -> bytes:
    return (
        f"From: sender@example.co.jp\r\nTo: partner@partner.example\r\nSubject: report {test_id}\r\n"
        f"Message-ID: <{test_id}@example.co.jp>\r\nX-Test-Id: {test_id}\r\n\r\n"
        + "monthly figures attached below.\r\n"
        * 40
    ).encode()


class _Load:
    """SESSIONS threads sending MESSAGES messages; a refused or broken session retries later, as an MTA would."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.todo: queue.Queue[str] = queue.Queue()
        for i in range(MESSAGES):
            self.todo.put(f"t{i:04d}")
        self.accepted: set[str] = set()
        self.lock = threading.Lock()
        self.failures = 0

    def sender(self) -> None:
        client: smtplib.SMTP | None = None
        while True:
            try:
                test_id = self.todo.get_nowait()
            except queue.Empty:
                break
            try:
                if client is None:
                    client = smtplib.SMTP("127.0.0.1", self.port, timeout=30)
                client.sendmail("sender@example.co.jp", ["partner@partner.example"], _message(test_id))
                with self.lock:
                    self.accepted.add(test_id)
            except (OSError, smtplib.SMTPException):
                with self.lock:
                    self.failures += 1
                self.todo.put(test_id)  # not acknowledged: the client still owns it and sends again
                client = None
                time.sleep(0.05)
        if client is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                client.quit()

    def count(self) -> int:
        with self.lock:
            return len(self.accepted)


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path, redis_url: str) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/gateway.db"
    prefix = f"e2e{secrets.token_hex(4)}"  # test runs sharing the Redis must not see each other's queues
    request.addfinalizer(lambda: delete_redis_prefix(redis_url, prefix))
    return f"{redis_url}?prefix={prefix}"


@pytest.mark.slow
def test_sigkill_during_load_loses_nothing(tmp_path: Path, store_url: str) -> None:
    with RecordingSink() as sink:
        config, port = write_config(
            tmp_path,
            {
                "store": {"url": store_url},
                "relay": {"smarthost": f"127.0.0.1:{sink.port}"},
                "worker": {"lease_seconds": 300, "poll_interval": 0.05},
            },
        )
        gateway = GatewayProcess(config, port, tmp_path / "gateway.log").start()
        load = _Load(port)
        senders = [threading.Thread(target=load.sender) for _ in range(SESSIONS)]
        for thread in senders:
            thread.start()
        kills = 0
        for threshold in KILL_AT:
            while load.count() < threshold and any(t.is_alive() for t in senders):
                time.sleep(0.005)
            gateway.kill()
            kills += 1
            time.sleep(0.3)  # senders hit a closed port meanwhile
            gateway.start()
            restarted = time.monotonic()
        for thread in senders:
            thread.join(timeout=300)
        assert load.count() == MESSAGES
        assert kills == 2

        all_in = sink.wait_until(
            lambda got: load.accepted <= {m.header("X-Test-Id") for m in got},
            timeout=max(0.0, restarted + RECOVERY_SECONDS - time.monotonic()),
        )
        settled_after = time.monotonic() - restarted
        gateway.stop()
        arrived = Counter(m.header("X-Test-Id") for m in sink.snapshot())
        lost = sorted(load.accepted - set(arrived))
        duplicates = sum(n - 1 for n in arrived.values() if n > 1)
        print(
            f"{store_url.split(':', 1)[0]}: accepted={load.count()} delivered={len(arrived)} duplicates={duplicates} "
            f"lost={len(lost)}; every accepted message delivered {settled_after:.1f} s after the last restart"
        )
        print(f"client retries after refused/broken sessions: {load.failures}")
        assert lost == []
        assert all_in, f"not all delivered within {RECOVERY_SECONDS:.0f} s of the last restart"
