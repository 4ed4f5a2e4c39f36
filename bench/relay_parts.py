"""The relay's parts one at a time: rate and CPU per message of receiving, the pipeline and delivery.

    python -m bench.relay_parts [--messages 4000]

- receive: `gateway smtp` alone (durable SQLite store) against a bare aiosmtpd that discards, the
  same load from Postfix's smtp-source (20 sessions, one connection per message, 5 KB);
- pipeline: `gateway worker` alone with the relay-all policy (an empty rules directory) draining an
  inbound queue filled beforehand;
- delivery: `gateway deliver` alone draining an outbound queue filled beforehand into smtp-sink;
- pipeline with the shipped rules (full inspection): `gateway worker` with the shipped rules, draining
  the inbound queue into the outbound queue; its CPU is split between the pipeline process and the
  inspection workers (`gw-inspect`), measured from the first claim, so loading the models is not
  counted (replacing a worker after `inspection.recycle_after` messages is).

--profile DIR runs each drained part under cProfile with a CPU-time clock of its main thread (the event
  loop; time.thread_time: the other threads are neither profiled nor counted) and
writes DIR/<part>.prof (the pipeline process only; its inspection workers are not profiled).

CPU per message is the part's process CPU (user + system) over the messages it handled, so the figures
add up to what one message costs the node (bench/relay_throughput.py runs them together).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bench.relay_throughput import (
    BARE_AIOSMTPD,
    SMTP_SINK,
    SMTP_SOURCE,
    ProcessCPU,
    cpu_seconds,
    parse_settings,
    sink_command,
    start,
    stop,
)
from gateway.message import Envelope, QueuedMessage, new_message_id
from gateway.store import open_store
from gateway.store.base import Queue
from tests.support.net import free_port, wait_for_port

BODY = (
    b"From: bench@example.co.jp\r\nTo: partner@partner.example\r\nSubject: bench\r\n"
    b"Message-ID: <bench@example.co.jp>\r\n\r\n" + (b"x" * 76 + b"\r\n") * 64
)


def profiled(out: Path) -> list[str]:
    """The command prefix that runs `python -m gateway ...` under cProfile (CPU time) into `out`."""
    code = (
        "import cProfile, runpy, sys, time\n"
        "sys.argv = ['gateway', *sys.argv[1:]]\n"
        "profile = cProfile.Profile(time.thread_time)\n"
        "profile.enable()\n"
        "try:\n    runpy.run_module('gateway', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        f"finally:\n    profile.disable()\n    profile.dump_stats({str(out)!r})\n"
    )
    return [sys.executable, "-c", code]


SETTINGS: dict[str, dict[str, object]] = {}  # --set options


def config(tmp: str, sink_port: int, smtp_port: int, shipped: bool = False) -> Path:
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
    if shipped:  # the shipped rules read the content: two inspection workers, as a default node
        del data["policy"], data["inspection"]
    for section, values in SETTINGS.items():
        data.setdefault(section, {}).update(values)  # type: ignore[attr-defined]
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


def thread_cpu(pid: int) -> tuple[float, float]:
    """CPU seconds of a process's main thread (its event loop) and of its other threads alive now."""
    main = others = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        used = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        if int(task.name) == pid:
            main = used
        else:
            others += used
    return main, others


def drain(
    part: str, queue: Queue, messages: int, shipped: bool = False, profile: str = ""
) -> tuple[float, dict[str, float]]:
    """(msg/s, CPU ms per message of each process role) of `gateway <part>` emptying a queue filled
    beforehand."""
    with tempfile.TemporaryDirectory(prefix="gw-parts-") as tmp:
        sink_port = free_port()
        sink = start(sink_command(sink_port), sink_port)
        path = config(tmp, sink_port, free_port(), shipped)
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
        name = f"{part}-shipped" if shipped else part
        command = profiled(Path(profile) / f"{name}.prof") if profile else [sys.executable]
        module = [] if profile else ["-m", "gateway"]
        process = subprocess.Popen([*command, *module, part, "--config", str(path)])
        try:
            while store.counts()[queue] == messages:  # started (models loaded, first claim)
                time.sleep(0.005)
            left, sampler, t0 = store.counts()[queue], ProcessCPU(process.pid).start(), time.perf_counter()
            main0, threads0 = thread_cpu(process.pid)
            while store.counts()[queue] > 0:
                time.sleep(0.01)
            seconds = time.perf_counter() - t0
            roles = sampler.stop()
            main, threads = thread_cpu(process.pid)
            roles["first: main thread"], roles["first: other threads"] = [main - main0], [threads - threads0]
        finally:
            process.terminate()
            process.wait()
            stop(sink)
            store.close()
    used = {role: 1000 * sum(cpu) / left for role, cpu in roles.items() if role not in ("tracker", "python")}
    return left / seconds, used


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=4000)
    parser.add_argument(
        "--parts", default="receive,pipeline,delivery,shipped", help="which parts: receive,pipeline,delivery,shipped"
    )
    parser.add_argument("--profile", default="", help="a directory for cProfile files (CPU time) of the drained parts")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE", help="a config setting")
    args = parser.parse_args()
    SETTINGS.update(parse_settings(args.set))
    wanted = set(args.parts.split(","))
    if not SMTP_SOURCE or not SMTP_SINK:
        sys.exit("bench/relay_parts.py needs Postfix's smtp-source and smtp-sink")
    n = args.messages
    rows: list[tuple[str, tuple[float, float]]] = []
    if "receive" in wanted:
        port = free_port()
        rows.append(("bare aiosmtpd, receive", receive([sys.executable, "-c", BARE_AIOSMTPD, str(port)], port, n)))
        with tempfile.TemporaryDirectory(prefix="gw-parts-") as tmp:
            port = free_port()
            path = config(tmp, free_port(), port)
            command = [sys.executable, "-m", "gateway", "smtp", "--config", str(path)]
            rows.append(("gateway smtp, receive", receive(command, port, n)))
    split = ""
    for key, name, part, queue, shipped in [
        ("pipeline", "gateway worker, relay-all", "worker", Queue.INBOUND, False),
        ("delivery", "gateway deliver", "deliver", Queue.OUTBOUND, False),
        ("shipped", "gateway worker, shipped", "worker", Queue.INBOUND, True),
    ]:
        if key in wanted:
            rate, roles = drain(part, queue, n, shipped, args.profile)
            rows.append((name, (rate, sum(ms for role, ms in roles.items() if ":" not in role))))
            if shipped:
                split = ", ".join(f"{'pipeline' if r == 'first' else r} {ms:.2f}" for r, ms in sorted(roles.items()))
    print(f"{n} messages of {len(BODY)} bytes; CPU per message is the part's process CPU (children included)")
    for name, (rate, cpu) in rows:
        print(f"{name:28} {rate:7.0f} msg/s   CPU {cpu:.2f} ms/msg")
    if split:
        print(f"{'  shipped, per process':28} {'':7}         CPU ms/msg: {split}")


if __name__ == "__main__":
    main()
