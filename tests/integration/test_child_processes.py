"""`gateway run` with receiving and delivery in child processes (smtp.processes, relay.processes):
mail flows through them, a child that dies is replaced, SIGTERM stops them all, and children that
cannot start stop the node with an error instead of leaving it deaf."""

from __future__ import annotations

import os
import re
import signal
import smtplib
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.support.gateway_proc import GatewayProcess, write_config
from tests.support.sink import RecordingSink


def _message(i: int) -> bytes:
    return (
        f"From: taro@example.co.jp\r\nTo: partner@partner.example\r\nSubject: child {i}\r\n"
        f"Message-ID: <child-{i}@example.co.jp>\r\n\r\nこんにちは {i}\r\n"
    ).encode()


def _send(port: int, first: int, count: int) -> None:
    for i in range(first, first + count):  # one connection each: both receivers get some
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            client.sendmail("taro@example.co.jp", ["partner@partner.example"], _message(i))


def _started(log: Path, part: str) -> list[int]:
    return [int(p) for p in re.findall(rf"{part} process (\d+) started", log.read_text(errors="replace"))]


def _wait(predicate: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def _nice(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def _comm(pid: int) -> str:
    return Path(f"/proc/{pid}/comm").read_text().strip()


def _alive(pid: int) -> bool:
    """Running, in any state but zombie (exited, not yet reaped by its parent or by init)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _start_node(tmp_path: Path, sink: RecordingSink, log: Path) -> tuple[GatewayProcess, int]:
    """`gateway run` with 2 receive processes and 1 delivery process, once all three have started."""
    config, port = write_config(
        tmp_path, {"smtp": {"processes": 2}, "relay": {"smarthost": f"127.0.0.1:{sink.port}", "processes": 1}}
    )
    gateway = GatewayProcess(config, port, log).start()
    if not _wait(lambda: len(_started(log, "smtp")) == 2 and len(_started(log, "deliver")) == 1, 30):
        gateway.kill()
        raise AssertionError(f"child processes did not start:\n{log.read_text(errors='replace')}")
    return gateway, port


def test_mail_flows_through_child_processes_and_a_dead_child_is_replaced(tmp_path: Path) -> None:
    log = tmp_path / "gw.log"
    with RecordingSink() as sink:
        gateway, port = _start_node(tmp_path, sink, log)
        try:
            # Receiving keeps its priority; inspecting and delivering yield to it (worker.nice: 5).
            assert gateway.process is not None
            base = os.nice(0)  # whatever this test runs at
            assert [_nice(pid) for pid in _started(log, "smtp")] == [base, base]
            assert _nice(_started(log, "deliver")[0]) == min(base + 5, 19)
            assert _nice(gateway.process.pid) == min(base + 5, 19)
            # Each child is named for its part where ps, top and /proc show it.
            assert [_comm(pid) for pid in _started(log, "smtp")] == ["gw-smtp", "gw-smtp"]
            assert _comm(_started(log, "deliver")[0]) == "gw-deliver"
            _send(port, 0, 10)
            assert sink.wait_for(10, timeout=60)

            victim = _started(log, "smtp")[0]
            os.kill(victim, signal.SIGKILL)
            assert _wait(lambda: len(_started(log, "smtp")) == 3, 30), log.read_text()
            assert f"smtp process {victim} exited with code -9; starting another" in log.read_text()
            deliverer = _started(log, "deliver")[0]
            os.kill(deliverer, signal.SIGKILL)
            assert _wait(lambda: len(_started(log, "deliver")) == 2, 30), log.read_text()

            _send(port, 10, 10)
            assert sink.wait_for(20, timeout=60)
            children = [*_started(log, "smtp"), *_started(log, "deliver")]
        finally:
            code = gateway.stop()
            gateway.kill()
    assert code == 0
    assert not [pid for pid in children if _alive(pid)]
    ids = sorted(m.header("Message-ID") or "" for m in sink.snapshot())
    assert set(ids) == {f"<child-{i}@example.co.jp>" for i in range(20)}


def test_receive_processes_that_cannot_listen_stop_the_node(tmp_path: Path) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))  # no SO_REUSEPORT: the receivers cannot share it
    taken.listen()
    port = taken.getsockname()[1]
    try:
        config, _ = write_config(tmp_path, {"smtp": {"listen": f"127.0.0.1:{port}", "processes": 2}})
        result = subprocess.run(
            [sys.executable, "-m", "gateway", "run", "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        taken.close()
    assert result.returncode != 0
    assert "twice in a row" in result.stderr


def test_children_stop_when_the_first_process_is_killed(tmp_path: Path) -> None:
    log = tmp_path / "gw.log"
    with RecordingSink() as sink:
        gateway, _ = _start_node(tmp_path, sink, log)
        try:
            children = [*_started(log, "smtp"), *_started(log, "deliver")]
            assert gateway.process is not None
            os.kill(gateway.process.pid, signal.SIGKILL)  # the first process only, not its group
            gateway.process.wait(timeout=10)
            assert _wait(lambda: not [pid for pid in children if _alive(pid)], 30), log.read_text()
            assert "is gone; stopping" in log.read_text()
        finally:
            gateway.kill()
