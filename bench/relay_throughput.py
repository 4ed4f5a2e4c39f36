"""Relay throughput: the gateway (relay-all pipeline, durable store) against the floors it runs on.

For each message size, the same load (N messages over S parallel SMTP sessions) goes, in one run, to
  (a) the gateway: `gateway run` with the durable store, delivering to Postfix's smtp-sink, once with
      the relay-all pipeline (an empty rules directory: nothing reads the content, so nothing is
      extracted or scanned) and once with the shipped rules (full inspection);
  (b) a bare aiosmtpd server that accepts and discards (the Python floor; the best of --floor-runs
      runs, 3 by default, so that a run slowed by anything else on the machine cannot flatter the ratios);
  (c) Postfix's smtp-sink when installed (the physical limit of this machine).
It prints accepted/s (until the last 250), delivered/s for the gateway (from the first message sent
until its queues are empty), the ratios a/b and a/c, CPU per message and the gateway's peak RSS.

    python -m bench.relay_throughput [--messages 2000] [--sessions 20] [--sizes 5120,102400]
                                     [--store sqlite|redis] [--receivers 2] [--deliverers 1]
                                     [--pipeline relay-all|shipped|both] [--no-ner]
                                     [--set section.key=value] [--profile DIR] [--floor-runs 3]

--receivers and --deliverers set smtp.processes and relay.processes (README, "Using every core of
one node"); the issue-2 figures are with 2 and 1. --set section.key=value changes a config setting
(repeatable). --profile DIR samples every process of the node with py-spy (`pip install py-spy`;
threads holding the GIL only, so waiting is not counted) into DIR/<pipeline>-<size>.txt, with the
role of each process in a .roles.json beside it.

CPU per message is printed per role of process (the first process: pipeline, holds, web; gw-smtp,
gw-deliver, gw-inspect, gw-ocr), from /proc, over the load only (start-up and loading the models are
not counted; a worker replaced during the load is, models included).

The load comes from Postfix's smtp-source when installed (a C client, so the client does not eat the
server's CPU), else from a Python client in a separate process.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gateway.store import open_store  # noqa: E402
from gateway.store.base import Queue  # noqa: E402
from tests.support.net import free_port, wait_for_port  # noqa: E402

SMTP_SOURCE = shutil.which("smtp-source") or (
    "/usr/sbin/smtp-source" if os.path.exists("/usr/sbin/smtp-source") else None
)
SMTP_SINK = shutil.which("smtp-sink") or ("/usr/sbin/smtp-sink" if os.path.exists("/usr/sbin/smtp-sink") else None)

BARE_AIOSMTPD = """
import asyncio, sys
from aiosmtpd.smtp import SMTP
class Discard:
    async def handle_DATA(self, server, session, envelope):
        return "250 2.0.0 Ok"
async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(Discard(), hostname="bare"), "127.0.0.1", int(sys.argv[1]))
    await asyncio.Event().wait()
asyncio.run(main())
"""


def python_load(port: int, messages: int, sessions: int, size: int) -> None:
    """Fallback client: `sessions` threads, each reusing one connection."""
    body = b"From: bench@example.co.jp\r\nTo: partner@partner.example\r\nSubject: bench\r\n\r\n"
    body += (b"x" * 76 + b"\r\n") * (size // 78)
    per = [messages // sessions + (1 if i < messages % sessions else 0) for i in range(sessions)]

    def run(count: int) -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=120) as client:
            for _ in range(count):
                client.sendmail("bench@example.co.jp", ["partner@partner.example"], body)

    with ThreadPoolExecutor(sessions) as pool:
        list(pool.map(run, per))


def send_load(port: int, messages: int, sessions: int, size: int) -> float:
    """Send the load; return seconds until the last message was acknowledged."""
    start = time.perf_counter()
    if SMTP_SOURCE:
        subprocess.run(
            [
                SMTP_SOURCE,
                "-s",
                str(sessions),
                "-m",
                str(messages),
                "-l",
                str(size),
                "-f",
                "bench@example.co.jp",
                "-t",
                "partner@partner.example",
                f"127.0.0.1:{port}",
            ],
            check=True,
        )
    else:
        code = (
            f"import sys; sys.path.insert(0, {str(ROOT)!r}); from bench.relay_throughput import python_load; "
            f"python_load({port}, {messages}, {sessions}, {size})"
        )
        subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - start


def peak_rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def cpu_seconds(pid: int) -> tuple[float, float]:
    """User and system CPU seconds a process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(p) for p in out]


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _unnamed_role(pid: int) -> str:
    """The role of a process of a build that does not name its processes: inspection workers map
    Sudachi (OCR-lane workers Tesseract), the others are receive or delivery children."""
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return "python"
    if "tesser" in maps:
        return "ocr"
    return "inspect" if "sudachi" in maps else "python"


class ProcessCPU:
    """CPU time of every process of a node from start() to stop(), including the workers that were
    replaced during the run (a thread reads /proc every `interval` and keeps the last figure of each
    process). Each process is named by its role: `first` (pipeline, holds, web) and the name the
    gateway gives its children (logsetup.name_process: gw-smtp, gw-deliver, gw-inspect, gw-ocr)."""

    def __init__(self, root: int, interval: float = 0.25) -> None:
        self.root = root
        self.interval = interval
        self.seen: dict[int, tuple[str, float]] = {}
        self.base: dict[int, float] = {}  # CPU of the processes alive at start, not counted
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> ProcessCPU:
        self._sample()
        self.base = {pid: used for pid, (_, used) in self.seen.items()}
        self._thread.start()
        return self

    def _sample(self) -> None:
        for pid in [self.root, *children(self.root)]:
            used, name = sum(cpu_seconds(pid)), _comm(pid)
            if not name:
                continue  # gone between the listing and the read
            role = "first" if pid == self.root else name.removeprefix("gw-")
            if role.startswith("python") and pid in self.seen and not self.seen[pid][0].startswith("python"):
                role = self.seen[pid][0]  # named itself (or was told apart) after an earlier sample
            elif role.startswith("python"):
                role = _unnamed_role(pid)  # until its models have loaded, a worker looks like any child
            self.seen[pid] = (role, used)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def stop(self) -> dict[str, list[float]]:
        """CPU seconds per role, one figure per process."""
        self._sample()
        self._stop.set()
        self._thread.join()
        roles: dict[str, list[float]] = {}
        for pid, (role, used) in self.seen.items():
            roles.setdefault(role, []).append(used - self.base.get(pid, 0.0))
        return roles


def print_cpu(roles: dict[str, list[float]], messages: int) -> None:
    """CPU per message per role (ms), with the count of processes of each role seen during the run."""
    total = sum(sum(v) for v in roles.values())
    parts = [
        f"{role} {1000 * sum(used) / messages:.2f} ({len(used)} proc)"
        for role, used in sorted(roles.items(), key=lambda kv: -sum(kv[1]))
        if sum(used) > 0.005
    ]
    print(f"    CPU per message, ms: {', '.join(parts)}; all {1000 * total / messages:.2f}")


def start(
    cmd: list[str], port: int, env: dict[str, str] | None = None, log: Path | None = None
) -> subprocess.Popen[bytes]:
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        wait_for_port(port, timeout=30)
    except BaseException:
        stop(process)  # it did not come up: not left running
        raise
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def sink_command(port: int) -> list[str]:
    assert SMTP_SINK
    as_user = ["-u", "nobody"] if os.geteuid() == 0 else []  # smtp-sink refuses to run as root
    return [SMTP_SINK, *as_user, "-c", f"127.0.0.1:{port}", "1000"]


def bench_floor_aiosmtpd(messages: int, sessions: int, size: int) -> float:
    port = free_port()
    process = start([sys.executable, "-c", BARE_AIOSMTPD, str(port)], port)
    try:
        return messages / send_load(port, messages, sessions, size)
    finally:
        stop(process)


def bench_floor_smtp_sink(messages: int, sessions: int, size: int) -> float | None:
    if not SMTP_SINK:
        return None
    port = free_port()
    process = start(sink_command(port), port)
    try:
        return messages / send_load(port, messages, sessions, size)
    finally:
        stop(process)


def bench_gateway(
    messages: int,
    sessions: int,
    size: int,
    store: str,
    receivers: int,
    deliverers: int = 0,
    ner: bool = True,
    relay_all: bool = False,
    profile: str = "",
    settings: dict[str, dict[str, object]] | None = None,
) -> tuple[float, float, float]:
    sink_port, gw_port, web_port = free_port(), free_port(), free_port()
    with tempfile.TemporaryDirectory(prefix="gw-bench-") as tmp:
        if store == "redis":
            url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
            import redis

            redis.Redis.from_url(url).flushdb()
        else:
            url = f"sqlite:///{tmp}/gateway.db"
        config = {
            "log_level": "WARNING",
            "smtp": {
                "listen": f"127.0.0.1:{gw_port}",
                "hostname": "gw.bench",
                "processes": receivers,
                "max_connections": 1000,
            },
            "relay": {"smarthost": f"127.0.0.1:{sink_port}", "concurrency": 20, "processes": deliverers},
            "store": {"url": url},
            "organization": {"internal_domains": ["example.co.jp"]},
            "worker": {"pipeline_concurrency": 32},
            "recipients": {"dns": {"enabled": False}},
            "web": {"listen": f"127.0.0.1:{web_port}"},  # not the default port, which another node may hold
            "scan": {} if ner else {"ner_window_chars": 0},
        }
        for section, values in (settings or {}).items():
            config.setdefault(section, {}).update(values)  # type: ignore[attr-defined]
        if relay_all:  # no rules: nothing reads the content, so nothing is extracted or scanned
            (Path(tmp) / "rules").mkdir()
            config["policy"] = {"rules_dir": f"{tmp}/rules", "watch": False}
        path = Path(tmp) / "config.yaml"
        path.write_text(yaml.safe_dump(config))
        sink = start(sink_command(sink_port), sink_port) if SMTP_SINK else None
        if sink is None:
            sink = start([sys.executable, "-c", BARE_AIOSMTPD, str(sink_port)], sink_port)
        gateway: subprocess.Popen[bytes] | None = None
        spy = None
        try:  # whatever fails from here, nothing started is left running
            gateway = start(
                [sys.executable, "-m", "gateway", "run", "--config", str(path)], gw_port, log=Path(tmp) / "gateway.log"
            )
            time.sleep(1.0)  # let extra receive processes bind too
            sampler = ProcessCPU(gateway.pid).start()  # CPU from here: start-up and loading the models are not counted
            if profile:  # CPU samples of every process of the node (idle threads are not sampled)
                out = Path(profile) / f"{'relay-all' if relay_all else 'shipped'}-{size}.txt"
                spy_args = ["record", "--subprocesses", "--gil", "--format", "raw", "--rate", "200"]
                spy = subprocess.Popen(
                    [py_spy(), *spy_args, "-o", str(out), "-p", str(gateway.pid)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                time.sleep(1.0)
            t0 = time.perf_counter()
            accepted_s = send_load(gw_port, messages, sessions, size)
            reader = open_store(url)
            while True:
                counts = reader.counts()
                if counts[Queue.INBOUND] + counts[Queue.OUTBOUND] == 0:
                    break
                time.sleep(0.02)
            delivered_s = time.perf_counter() - t0
            reader.close()
            rss = peak_rss_mb([gateway.pid, *children(gateway.pid)])
            print_cpu(sampler.stop(), messages)
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                spy.wait(60)
                spy = None
                roles = {pid: role for pid, (role, _) in sampler.seen.items()}
                out.with_suffix(".roles.json").write_text(json.dumps(roles))
            print(
                "    (per role: the CPU of its processes during the load, over the messages; workers replaced"
                " during the run count, loading their models included)"
            )
        finally:
            if spy is not None:
                spy.kill()
            if gateway is not None:
                stop(gateway)
            stop(sink)
    return messages / accepted_s, messages / delivered_s, rss


def py_spy() -> str:
    """py-spy from PATH or beside this Python (a venv's bin/); an error before anything starts."""
    found = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if found is None:
        sys.exit("--profile needs py-spy: pip install py-spy")
    return found


def parse_settings(items: list[str]) -> dict[str, dict[str, object]]:
    """`--set section.key=value` options (YAML values) as config sections."""
    settings: dict[str, dict[str, object]] = {}
    for item in items:
        key, _, value = item.partition("=")
        section, _, name = key.partition(".")
        settings.setdefault(section, {})[name] = yaml.safe_load(value)
    return settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--sizes", default="5120,102400")
    parser.add_argument("--store", choices=["sqlite", "redis"], default="sqlite")
    parser.add_argument("--receivers", type=int, default=1, help="smtp.processes for the gateway")
    parser.add_argument("--deliverers", type=int, default=0, help="relay.processes for the gateway")
    parser.add_argument("--no-ner", action="store_true", help="scan without the GiNZA window (patterns, Sudachi)")
    parser.add_argument(
        "--pipeline",
        choices=["relay-all", "shipped", "both"],
        default="both",
        help="relay-all: no rules (parse, recipients, decide relay); shipped: the shipped rules, full inspection",
    )
    parser.add_argument(
        "--floor-runs", type=int, default=3, help="runs of the bare aiosmtpd floor; the ratios use the best"
    )
    parser.add_argument("--profile", default="", help="a directory: py-spy CPU samples of every process (raw)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="a config setting for the gateway, e.g. inspection.recycle_after=100000 (YAML value)",
    )
    args = parser.parse_args()
    settings = parse_settings(args.set)
    print(
        f"load: {args.messages} messages over {args.sessions} sessions, client: "
        f"{'smtp-source' if SMTP_SOURCE else 'python smtplib'}; store: {args.store}; "
        f"receive processes: {args.receivers}; cores: {os.cpu_count()}"
    )
    for size in (int(s) for s in args.sizes.split(",")):
        # the floor at its best of a few runs: a run slowed by anything else on the machine (a node
        # still stopping, a neighbour's burst) would flatter the ratios
        floors_b = [bench_floor_aiosmtpd(args.messages, args.sessions, size) for _ in range(max(1, args.floor_runs))]
        floor_b = max(floors_b)
        floor_c = bench_floor_smtp_sink(args.messages, args.sessions, size)
        print(f"\n== {size // 1024} KB messages")
        runs_b = f"   (best of {len(floors_b)}: {', '.join(f'{f:.0f}' for f in floors_b)})" if len(floors_b) > 1 else ""
        print(f"(b) bare aiosmtpd     accepted/s {floor_b:8.0f}{runs_b}")
        if floor_c:
            print(f"(c) smtp-sink         accepted/s {floor_c:8.0f}")
        pipelines = ["relay-all", "shipped"] if args.pipeline == "both" else [args.pipeline]
        for pipeline in pipelines:
            accepted, delivered, rss = bench_gateway(
                args.messages,
                args.sessions,
                size,
                args.store,
                args.receivers,
                args.deliverers,
                ner=not args.no_ner,
                relay_all=pipeline == "relay-all",
                profile=args.profile,
                settings=settings,
            )
            print(
                f"(a) gateway, {pipeline:9} accepted/s {accepted:8.0f}   delivered/s {delivered:8.0f}   "
                f"peak RSS {rss:.0f} MB"
            )
            print(
                f"    ratios            accepted a/b {accepted / floor_b:.2f}   delivered a/b {delivered / floor_b:.2f}"
                + (f"   accepted a/c {accepted / floor_c:.3f}" if floor_c else "")
            )


if __name__ == "__main__":
    main()
