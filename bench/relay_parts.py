"""The relay's parts one at a time: rate and CPU per message of receiving, the pipeline and delivery.

    python -m bench.relay_parts [--messages 4000]

- receive: `gateway smtp` alone (durable SQLite store) against a bare aiosmtpd that discards, the
  same load from Postfix's smtp-source (20 sessions, one connection per message, 5 KB);
- pipeline: `gateway worker` alone with the relay-all policy (an empty rules directory) draining an
  inbound queue filled beforehand;
- delivery: `gateway deliver` alone draining an outbound queue filled beforehand into smtp-sink.

CPU per message is the part's process CPU (user + system) over the messages it handled, so the figures
add up to what one message costs the node (bench/relay_throughput.py runs them together).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bench.relay_throughput import BARE_AIOSMTPD, SMTP_SINK, SMTP_SOURCE, cpu_seconds, sink_command, start, stop
from gateway.message import Envelope, QueuedMessage, new_message_id
from gateway.store import open_store
from gateway.store.base import Queue
from tests.support.net import free_port, wait_for_port

BODY = (
    b"From: bench@example.co.jp\r\nTo: partner@partner.example\r\nSubject: bench\r\n"
    b"Message-ID: <bench@example.co.jp>\r\n\r\n" + (b"x" * 76 + b"\r\n") * 64
)


def config(tmp: str, sink_port: int, smtp_port: int) -> Path:
    (Path(tmp) / "rules").mkdir(exist_ok=True)
    data = {
        "log_level": "WARNING",
        "smtp": {"listen": f"127.0.0.1:{smtp_port}", "hostname": "gw.bench", "max_connections": 1000},
        "relay": {"smarthost": f"127.0.0.1:{sink_port}", "concurrency": 20},
        "store": {"url": f"sqlite:///{tmp}/gateway.db"},
        "organization": {"internal_domains": ["example.co.jp"]},
        "worker": {"pipeline_concurrency": 32, "poll_interval": 0.05},
        "recipients": {"dns": {"enabled": False}},
        "inspection": {"workers": 1},
        "policy": {"rules_dir": f"{tmp}/rules", "watch": False},
    }
    path = Path(tmp) / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def receive(cmd: list[str], port: int, messages: int) -> tuple[float, float]:
    """(msg/s, CPU ms per message) of a server under the smtp-source load."""
    assert SMTP_SOURCE
    process = subprocess.Popen(cmd)
    try:
        wait_for_port(port, 60)
        time.sleep(0.5)
        before = sum(cpu_seconds(process.pid))
        t0 = time.perf_counter()
        source = [SMTP_SOURCE, "-s", "20", "-m", str(messages), "-l", str(len(BODY))]
        subprocess.run(
            [*source, "-f", "bench@example.co.jp", "-t", "partner@partner.example", f"127.0.0.1:{port}"], check=True
        )
        seconds = time.perf_counter() - t0
        used = sum(cpu_seconds(process.pid)) - before
    finally:
        process.terminate()
        process.wait()
    return messages / seconds, 1000 * used / messages


def drain(part: str, queue: Queue, messages: int) -> tuple[float, float]:
    """(msg/s, CPU ms per message) of `gateway <part>` emptying a queue filled beforehand."""
    with tempfile.TemporaryDirectory(prefix="gw-parts-") as tmp:
        sink_port = free_port()
        sink = start(sink_command(sink_port), sink_port)
        path = config(tmp, sink_port, free_port())
        store = open_store(f"sqlite:///{tmp}/gateway.db")
        envelope = Envelope("bench@example.co.jp", ("partner@partner.example",), "127.0.0.1", "bench")
        for first in range(0, messages, 200):
            store.accept(
                [
                    (QueuedMessage(new_message_id(), envelope, time.time(), pending=envelope.rcpt_tos), BODY)
                    for _ in range(min(200, messages - first))
                ],
                queue,
            )
        process = subprocess.Popen([sys.executable, "-m", "gateway", part, "--config", str(path)])
        try:
            while store.counts()[queue] == messages:  # started (models loaded, first claim)
                time.sleep(0.005)
            left, before, t0 = store.counts()[queue], sum(cpu_seconds(process.pid)), time.perf_counter()
            while store.counts()[queue] > 0:
                time.sleep(0.01)
            seconds = time.perf_counter() - t0
            used = sum(cpu_seconds(process.pid)) - before
        finally:
            process.terminate()
            process.wait()
            stop(sink)
            store.close()
    return left / seconds, 1000 * used / left


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=4000)
    args = parser.parse_args()
    if not SMTP_SOURCE or not SMTP_SINK:
        sys.exit("bench/relay_parts.py needs Postfix's smtp-source and smtp-sink")
    n = args.messages
    port = free_port()
    bare = receive([sys.executable, "-c", BARE_AIOSMTPD, str(port)], port, n)
    with tempfile.TemporaryDirectory(prefix="gw-parts-") as tmp:
        port = free_port()
        path = config(tmp, free_port(), port)
        gateway = receive([sys.executable, "-m", "gateway", "smtp", "--config", str(path)], port, n)
    pipeline = drain("worker", Queue.INBOUND, n)
    delivery = drain("deliver", Queue.OUTBOUND, n)
    print(f"{n} messages of {len(BODY)} bytes; CPU per message is the part's process CPU")
    for name, (rate, cpu) in [
        ("bare aiosmtpd, receive", bare),
        ("gateway smtp, receive", gateway),
        ("gateway worker, relay-all", pipeline),
        ("gateway deliver", delivery),
    ]:
        print(f"{name:28} {rate:7.0f} msg/s   CPU {cpu:.2f} ms/msg")
    total = gateway[1] + pipeline[1] + delivery[1]
    print(f"{'gateway, all three':28} {'':7}         CPU {total:.2f} ms/msg (bare receive: {bare[1]:.2f})")


if __name__ == "__main__":
    main()
