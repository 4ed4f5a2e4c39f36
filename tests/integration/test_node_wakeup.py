"""A real node with a long worker.poll_interval: mail it receives goes through at once (the inbound
and outbound workers are woken by their own process's store writes), and mail put on its queue by
another process is still found, by polling."""

from __future__ import annotations

import smtplib
import time
from pathlib import Path

from gateway.message import Envelope, QueuedMessage, new_message_id
from gateway.store.sqlite import SqliteStore
from tests.support.gateway_proc import GatewayProcess, write_config
from tests.support.sink import RecordingSink

POLL = 10.0  # seconds; a wake-up must bring each message through well within it
PROMPT = POLL / 2  # generous for a message that is not waiting for a poll, and no poll could make it

MESSAGE = (
    "From: <taro@example.co.jp>\r\nTo: <partner@partner.example>\r\nSubject: wake\r\n"
    "Message-ID: <{n}@example.co.jp>\r\n\r\nいつもお世話になっております。\r\n"
)


def _send(port: int, n: int) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.sendmail("taro@example.co.jp", ["partner@partner.example"], MESSAGE.format(n=n).encode())


def test_received_mail_goes_through_at_once_and_mail_from_elsewhere_by_polling(tmp_path: Path) -> None:
    with RecordingSink() as sink:
        config, port = write_config(
            tmp_path, {"relay": {"smarthost": f"127.0.0.1:{sink.port}"}, "worker": {"poll_interval": POLL}}
        )
        with GatewayProcess(config, port, tmp_path / "gw.log"):
            _send(port, 1)
            assert sink.wait_for(1, timeout=PROMPT)
            time.sleep(1.0)  # both workers idle now, each until a wake-up or its next poll
            _send(port, 2)
            assert sink.wait_for(2, timeout=PROMPT)
            # Another process (a receive process apart, another node) puts one on the inbound queue.
            store = SqliteStore(tmp_path / "gateway.db")
            envelope = Envelope("taro@example.co.jp", ("partner@partner.example",), "127.0.0.1")
            message = QueuedMessage(new_message_id(), envelope, time.time(), pending=envelope.rcpt_tos)
            store.accept([(message, MESSAGE.format(n=3).encode())])
            store.close()
            assert sink.wait_for(3, timeout=POLL + 30)
    ids = sorted(m.header("Message-ID") or "" for m in sink.snapshot())
    assert ids == [f"<{n}@example.co.jp>" for n in (1, 2, 3)]


def test_processes_of_a_node_wake_each_other(tmp_path: Path) -> None:
    """Receive processes apart wake the first process's pipeline; it wakes the delivery process."""
    with RecordingSink() as sink:
        config, port = write_config(
            tmp_path,
            {
                "smtp": {"processes": 2},
                "relay": {"smarthost": f"127.0.0.1:{sink.port}", "processes": 1},
                "worker": {"poll_interval": POLL},
            },
        )
        with GatewayProcess(config, port, tmp_path / "gw.log"):
            time.sleep(2.0)  # the receive and delivery processes started (the port answers from the first one up)
            for n in range(1, 4):
                _send(port, n)
                assert sink.wait_for(n, timeout=PROMPT)
                time.sleep(0.5)
    ids = sorted(m.header("Message-ID") or "" for m in sink.snapshot())
    assert ids == [f"<{n}@example.co.jp>" for n in (1, 2, 3)]
