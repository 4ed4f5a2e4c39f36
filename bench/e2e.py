"""End to end under sustained load: realistic Japanese business mail through the gateway with full
inspection (extraction, personal-data scan with GiNZA, recipients, rules) to Postfix's smtp-sink.

    python bench/e2e.py [--messages 3000] [--rate 50] [--sessions 10] [--store sqlite|redis] [--max]
                        [--without-ocr]

The mix (tests/support/load.py): 65% plain 2-10 KB, 20% with an xlsx/docx/PDF of 50-500 KB, 10% with a
customer list in the body that the default rules hold (pii_first_time_external), 4% with a signature
logo and icons (skipped by size, not OCR'd) and 1% with a screenshot of a table or a scanned PDF page
(read with OCR in the inspection pool's OCR lane).

In one run, the same load goes
  (a) straight to smtp-sink (the floor: what the client and the machine do without a gateway);
  (b) through the gateway at --rate messages/s (open loop: a message is due every 1/rate seconds);
  (c) with --max, through a fresh gateway as fast as the client sessions can send.
For the gateway it prints accepted/s (until the last 250), processed/s (messages delivered or held,
until the last relayed message reached the sink), p50/p99 seconds from the 250 to the arrival at the
sink for mail without images (plain and with attachments, separately too), with logos and with an
OCR'd image, the SMTP transaction time, the held count, CPU seconds
of the gateway's process tree (per message, and cores used) and its peak RSS (sum of VmRSS over the tree, sampled).
Figures only: nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.relay_throughput import ProcessCPU, print_cpu  # noqa: E402
from gateway.store import open_store  # noqa: E402
from gateway.store.base import Queue  # noqa: E402
from tests.support.load import Client, Mail, SmtpSink, corpus  # noqa: E402
from tests.support.net import free_port, wait_for_port  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:  # children are listed per thread (the pool starts its workers from a thread)
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def cpu_seconds(pid: int) -> float:
    """utime+stime of the process tree, plus what its reaped children used (recycled workers)."""
    total = 0.0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / TICK
    return total


def rss_mb(pid: int) -> float:
    total = 0
    for p in tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


@dataclass
class Gateway:
    process: subprocess.Popen[bytes]
    port: int
    url: str
    tmp: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def gateway_config(tmp: Path, sink_port: int, store: str, **sections: dict[str, object]) -> tuple[Path, int, str]:
    port, web = free_port(), free_port()
    if store == "redis":
        url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12") + f"?prefix=e2e{os.getpid()}{port}"
    else:
        url = f"sqlite:///{tmp}/gateway.db"
    config: dict[str, object] = {
        "log_level": "INFO",
        "smtp": {"listen": f"127.0.0.1:{port}", "hostname": "gw.bench", "max_connections": 1000},
        "web": {"listen": f"127.0.0.1:{web}", "base_url": f"http://127.0.0.1:{web}"},
        "relay": {"smarthost": f"127.0.0.1:{sink_port}", "helo_name": "gw.bench"},
        "store": {"url": url},
        "organization": {"internal_domains": ["example.co.jp"]},
        "recipients": {"dns": {"enabled": False}},
    }
    for name, values in sections.items():
        section = config.setdefault(name, {})
        assert isinstance(section, dict)
        section.update(values)
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path, port, url


def start_gateway(tmp: Path, sink_port: int, store: str, **sections: dict[str, object]) -> Gateway:
    path, port, url = gateway_config(tmp, sink_port, store, **sections)
    log = open(tmp / "gateway.log", "ab")  # noqa: SIM115 - the child's
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "run", "--config", str(path)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=ROOT,
    )
    log.close()
    gateway = Gateway(process, port, url, tmp)
    try:
        wait_for_port(port, timeout=240)
    except BaseException:
        gateway.stop()  # it did not come up: not left running
        raise
    return gateway


def run_direct(mails: list[Mail], sessions: int, rate: float) -> None:
    with SmtpSink() as sink:
        t0 = time.time()
        client = Client(sink.port, mails, sessions, rate).start()
        client.join()
        elapsed = max(client.sent.accepted_at.values()) - t0
        times = list(client.sent.transaction.values())
    print(
        f"(a) straight to smtp-sink      accepted/s {len(mails) / elapsed:7.1f}   "
        f"transaction p50 {pct(times, 0.5) * 1000:6.1f} ms  p99 {pct(times, 0.99) * 1000:6.1f} ms"
    )


def run_gateway(
    label: str,
    mails: list[Mail],
    sessions: int,
    rate: float,
    store: str,
    workers: int,
    receivers: int,
    deliverers: int,
    concurrency: int = 0,
    poll_interval: float = 0.0,
) -> None:
    relayable = {m.test_id: m for m in mails if m.kind != "pii"}
    with tempfile.TemporaryDirectory(prefix="gw-e2e-") as tmp, SmtpSink() as sink:
        gw = start_gateway(
            Path(tmp),
            sink.port,
            store,
            inspection={"workers": workers},
            smtp={"processes": receivers},
            relay={"processes": deliverers},
            worker={
                **({"pipeline_concurrency": concurrency} if concurrency else {}),
                **({"poll_interval": poll_interval} if poll_interval else {}),
            },
        )
        peak = [0.0]
        sampling = threading.Event()

        def sample() -> None:
            while not sampling.is_set():
                peak[0] = max(peak[0], rss_mb(gw.process.pid))
                time.sleep(0.25)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            cpu0 = cpu_seconds(gw.process.pid)
            per_role = ProcessCPU(gw.process.pid).start()
            t0 = time.time()
            client = Client(gw.port, mails, sessions, rate).start()
            client.join()
            accepted_end = max(client.sent.accepted_at.values())
            arrived: dict[str, float] = {}
            deadline = time.time() + 600
            while len(arrived) < len(relayable) and time.time() < deadline:
                for a in sink.arrivals():
                    if a.test_id in relayable and a.test_id not in arrived:
                        arrived[a.test_id] = a.at
                time.sleep(0.2)
            delivered_end = max(arrived.values()) if arrived else time.time()
            store_ = open_store(gw.url)
            for _ in range(300):  # held mail is decided a moment after the last relayed one arrives
                counts = store_.counts()
                if counts[Queue.INBOUND] == 0:
                    break
                time.sleep(0.2)
            store_.close()
            cpu = cpu_seconds(gw.process.pid) - cpu0
            roles = per_role.stop()
        finally:
            sampling.set()
            sampler.join()
            gw.stop()
    accepted = client.sent.accepted_at

    def latencies(*kinds: str) -> list[float]:
        return [arrived[t] - accepted[t] for t, m in relayable.items() if m.kind in kinds and t in arrived]

    plain, attach, no_image = latencies("plain"), latencies("attach"), latencies("plain", "attach")
    logo, image = latencies("logo"), latencies("image")
    times = list(client.sent.transaction.values())
    wall = delivered_end - t0
    print(
        f"{label}  accepted/s {len(mails) / (accepted_end - t0):7.1f}   "
        f"processed/s {(len(arrived) + counts[Queue.HOLD]) / wall:6.1f} (delivered or held)   "
        f"delivered {len(arrived)}/{len(relayable)}   held {counts[Queue.HOLD]} (of {len(mails) - len(relayable)} "
        f"with personal data)   client retries {len(client.sent.refusals)}"
    )
    for name, values in (
        ("without images ", no_image),
        ("  no attachment", plain),
        ("  attachment   ", attach),
        ("logos, icons   ", logo),
        ("OCR'd image    ", image),
    ):
        print(
            f"      250 -> sink, {name}  p50 {pct(values, 0.5):6.2f} s   p99 {pct(values, 0.99):6.2f} s   "
            f"max {max(values, default=0.0):6.2f} s   (n={len(values)})"
        )
    print(
        f"      SMTP transaction p50 {pct(times, 0.5) * 1000:6.1f} ms  p99 {pct(times, 0.99) * 1000:6.1f} ms   "
        f"CPU {cpu:6.1f} s = {cpu / len(mails) * 1000:5.1f} ms/message, {cpu / wall:4.2f} cores   "
        f"peak RSS {peak[0]:5.0f} MB"
    )
    print_cpu(roles, len(mails))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=50.0, help="messages per second offered (open loop)")
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--store", choices=["sqlite", "redis"], default="sqlite")
    parser.add_argument("--workers", type=int, default=2, help="inspection.workers")
    parser.add_argument("--max", action="store_true", help="also a run as fast as the sessions can send")
    parser.add_argument("--receivers", type=int, default=1, help="smtp.processes")
    parser.add_argument("--deliverers", type=int, default=0, help="relay.processes")
    parser.add_argument(
        "--pipeline-concurrency", type=int, default=0, help="worker.pipeline_concurrency (default: the gateway's)"
    )
    parser.add_argument(
        "--poll-interval",
        type=float,
        default=0.0,
        help="worker.poll_interval (default: the gateway's; its own mail wakes the workers at once)",
    )
    parser.add_argument(
        "--without-ocr", action="store_true", help="leave out the 1%% of mail with an image to OCR (their cost apart)"
    )
    args = parser.parse_args()
    t = time.time()
    mails = corpus(args.messages, seed=7, run="e2e")
    if args.without_ocr:
        mails = [m for m in mails if m.kind != "image"]
    kinds = {k: sum(m.kind == k for m in mails) for k in ("plain", "attach", "pii", "logo", "image")}
    size = sum(len(m.data) for m in mails) / 1024 / 1024
    print(
        f"load: {len(mails)} messages ({kinds['plain']} plain, {kinds['attach']} with attachment, "
        f"{kinds['pii']} with personal data, {kinds['logo']} with logos, {kinds['image']} with an image to OCR; "
        f"{size:.0f} MB, built in {time.time() - t:.0f} s), {args.sessions} "
        f"sessions, offered at {args.rate:g}/s; store {args.store}; inspection workers {args.workers}; "
        f"receive processes {args.receivers}; delivery processes {args.deliverers}; "
        f"pipeline concurrency {args.pipeline_concurrency or 'default'}; "
        f"poll interval {args.poll_interval or 'default'}; cores {os.cpu_count()}"
    )
    run_direct(mails, args.sessions, args.rate)
    node = (args.store, args.workers, args.receivers, args.deliverers, args.pipeline_concurrency, args.poll_interval)
    run_gateway(f"(b) gateway at {args.rate:g}/s offered", mails, args.sessions, args.rate, *node)
    if args.max:
        run_gateway("(c) gateway, unpaced        ", mails, args.sessions, 0.0, *node)


if __name__ == "__main__":
    main()
