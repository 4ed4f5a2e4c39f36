"""Fault injection under load: every message the gateway acknowledged with 250 is delivered, held,
or bounced with a notice to its sender; none is lost. Duplicates (at-least-once) are counted.

    python bench/faults.py [--per-phase 60] [--rate 20]

The gateway runs on a Redis store of its own (a redis-server started here on a free loopback port,
appendfsync always; the shared Redis on 6379 is never touched) and relays to Postfix's smtp-sink.
The load is the realistic mix of tests/support/load.py (10% gets held). Phases, one after the other:

  normal            no fault
  gateway SIGKILL   the gateway is killed half-way through the phase's load and started again
  Redis down        Redis is killed half-way (AOF, appendfsync always) and started again 2 s later;
                    meanwhile the gateway answers 4xx (the client, like an MTA, retries)
  next hop 4xx      smtp-sink -r .   (450 after the content: the gateway defers and retries)
  next hop 5xx      smtp-sink -f .   (5xx after the content: the gateway bounces with a notice)
  next hop hang-up  smtp-sink -q .   (disconnects after the content without a reply: retried, may duplicate)
  next hop slow     smtp-sink -w 3   (3 s before answering DATA)
  DNS timeouts      recipients at domains whose DNS never answers (tests/support/dnsstub.py)

After each phase the fault is lifted and the phase's mail settles (nothing left to deliver) before
the next one starts. The report has one line
per phase: accepted (250 given), delivered (arrived at the sink at least once), held, bounced (a
delivery-status notice was queued for the sender), duplicates, lost, and the client's retries
(temporary answers and broken sessions). `tests/integration/faults/` runs the short form.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import email
import email.parser
import email.policy
import re
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gateway.store import open_store  # noqa: E402
from gateway.store.base import Queue  # noqa: E402
from tests.support.dnsstub import DnsStub  # noqa: E402
from tests.support.gateway_proc import GatewayProcess, write_config  # noqa: E402
from tests.support.load import PARTNERS, Client, Mail, SmtpSink, company_of, corpus  # noqa: E402
from tests.support.redis_servers import RedisServer  # noqa: E402


class OwnRedis(RedisServer):
    """A redis-server of our own (AOF, appendfsync always) on a free loopback port, in a temporary folder."""

    def __init__(self) -> None:
        super().__init__(Path(tempfile.mkdtemp(prefix="gw-faults-redis-")))

    def cleanup(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0?prefix=faults"


class Dns:
    """tests.support.dnsstub.DnsStub on its own event loop in a thread."""

    def __init__(self, zone: dict[tuple[str, str], list[str]], silent: set[str]) -> None:
        self.stub = DnsStub(zone, silent=silent)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> Dns:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.stub.__aenter__(), self.loop).result(10)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.stub.__aexit__(None, None, None), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@dataclass
class Phase:
    name: str
    mails: list[Mail]
    during: Callable[[], None] | None = None  # run once half the phase's mail was accepted
    sink_options: tuple[str, ...] = ()
    client_retries: int = 0
    client_4xx: int = 0
    accepted: set[str] = field(default_factory=set)
    queue_ids: dict[str, str] = field(default_factory=dict)  # test id -> the gateway's queue id (from the 250)


@dataclass
class Report:
    rows: list[dict[str, object]]
    notices: int
    log: str

    @property
    def lost(self) -> int:
        return sum(int(str(r["lost"])) for r in self.rows)

    def table(self) -> str:
        cols = ["phase", "accepted", "delivered", "held", "bounced", "duplicates", "lost", "client retries"]
        lines = [" | ".join(f"{c:>16}" if i else f"{c:<18}" for i, c in enumerate(cols))]
        for r in self.rows:
            lines.append(" | ".join(f"{r[c]!s:>16}" if i else f"{r[c]!s:<18}" for i, c in enumerate(cols)))
        lines.append(f"notices that reached the sink (hold notices and bounces): {self.notices}")
        return "\n".join(lines)


def _to_silent(mail: Mail) -> Mail:
    """The same mail to the partner's twin whose DNS never answers, greeting that company (a greeting
    naming the first partner would rightly be held as misaddressed)."""
    rcpts = tuple(re.sub(r"@(client\d+\.)?", r"@\1silent-", r) for r in mail.rcpts)
    old, new = company_of(mail.rcpts[0].rpartition("@")[2]), company_of(rcpts[0].rpartition("@")[2])
    message = email.message_from_bytes(mail.data, policy=email.policy.compat32)
    for part in message.walk():
        if part.get_content_type() == "text/plain" and not part.get_filename():
            text = part.get_payload(decode=True).decode("utf-8").replace(old, new)
            del part["Content-Transfer-Encoding"]
            part.set_payload(text, "utf-8")
    data = message.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return dataclasses.replace(mail, rcpts=rcpts, data=data)


def _held_ids(url: str) -> set[str]:
    store = open_store(url)
    parser = email.parser.BytesHeaderParser(policy=email.policy.compat32)
    try:
        return {
            str(parser.parsebytes(store.raw(m.id)).get("X-Test-Id", "")) for m in store.list_queue(Queue.HOLD, 100_000)
        }
    finally:
        store.close()


def _pending(url: str) -> int:
    store = open_store(url)
    try:
        counts = store.counts()
        return counts[Queue.INBOUND] + counts[Queue.OUTBOUND]
    finally:
        store.close()


def run_faults(per_phase: int = 60, rate: float = 20.0, sessions: int = 8, slow: float = 3.0) -> Report:
    phases_order = ["normal", "gateway SIGKILL", "Redis down", "next hop 4xx", "next hop 5xx", "next hop hang-up"]
    phases_order += ["next hop slow", "DNS timeouts"]
    mails = corpus(per_phase * len(phases_order), seed=11, run="fault")
    tmp = Path(tempfile.mkdtemp(prefix="gw-faults-"))
    redis = OwnRedis().start()
    zone = {(d, "MX"): [f"10 mx.{d}."] for d in PARTNERS}
    dns = Dns(zone, silent={f"silent-{d}" for d in PARTNERS}).start()
    sink = SmtpSink().start()
    config, port = write_config(
        tmp,
        {
            "store": {"url": redis.url},
            "relay": {"smarthost": f"127.0.0.1:{sink.port}", "command_timeout": 30},
            "recipients": {"dns": {"enabled": True, "nameservers": ["127.0.0.1"], "port": dns.stub.port, "timeout": 1}},
            "hold": {"language": "en"},
        },
    )
    gateway = GatewayProcess(config, port, tmp / "gateway.log").start()

    def sigkill() -> None:
        gateway.kill()
        time.sleep(0.3)
        gateway.start()

    def redis_down() -> None:
        redis.kill()
        time.sleep(2.0)
        redis.start()

    slices = [mails[i * per_phase : (i + 1) * per_phase] for i in range(len(phases_order))]
    # DNS timeouts: the same mix, to partners whose DNS never answers.
    slices[-1] = [_to_silent(m) for m in slices[-1]]
    phases = [
        Phase("normal", slices[0]),
        Phase("gateway SIGKILL", slices[1], during=sigkill),
        Phase("Redis down", slices[2], during=redis_down),
        Phase("next hop 4xx", slices[3], sink_options=("-r", ".")),
        Phase("next hop 5xx", slices[4], sink_options=("-f", ".")),
        Phase("next hop hang-up", slices[5], sink_options=("-q", ".")),
        Phase("next hop slow", slices[6], sink_options=("-w", str(int(slow)))),
        Phase("DNS timeouts", slices[7]),
    ]
    try:
        for phase in phases:
            if phase.sink_options:
                sink.restart(phase.sink_options)
            client = Client(port, phase.mails, sessions, rate).start()
            if phase.during is not None:
                while client.done() < len(phase.mails) // 2:
                    time.sleep(0.01)
                phase.during()
            client.join()
            phase.accepted = set(client.sent.accepted_at)
            phase.queue_ids = dict(client.sent.queue_ids)
            phase.client_retries = len(client.sent.refusals)
            phase.client_4xx = sum(1 for r in client.sent.refusals if re.search(r": 4\d\d$", r))
            if phase.sink_options:
                time.sleep(max(slow + 1, 3.0))  # deliveries meet the fault before it is lifted
                sink.restart(())
            # Let this phase's mail settle, so that the next fault does not decide its fate.
            settle = time.monotonic() + 120
            while _pending(redis.url) and time.monotonic() < settle:
                time.sleep(0.25)
        # Drain: nothing left to deliver or to decide.
        deadline = time.monotonic() + 300
        while _pending(redis.url) and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(1.0)
        held = _held_ids(redis.url)
        arrivals = sink.arrivals()
        log = (tmp / "gateway.log").read_text(errors="replace")
    finally:
        gateway.stop()
        gateway.kill()
        sink.cleanup()
        dns.stop()
        redis.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)  # the log travels in the report
    bounced_queue_ids = set(re.findall(r"delivery (\S+): notice \S+ queued", log))
    arrived = Counter(a.test_id for a in arrivals if a.test_id)
    rows = []
    for phase in phases:
        ids = {m.test_id: m for m in phase.mails}
        delivered = {t for t in phase.accepted if arrived[t]}
        held_here = {t for t in phase.accepted if t in held}
        bounced = {t for t in phase.accepted if phase.queue_ids.get(t) in bounced_queue_ids} - delivered
        lost = phase.accepted - delivered - held_here - bounced
        rows.append(
            {
                "phase": phase.name,
                "accepted": len(phase.accepted),
                "delivered": len(delivered),
                "held": len(held_here),
                "bounced": len(bounced),
                "duplicates": sum(arrived[t] - 1 for t in delivered),
                "lost": len(lost),
                "client retries": f"{phase.client_retries} ({phase.client_4xx} 4xx)",
                "lost_ids": sorted(lost),
                "not_accepted": sorted(set(ids) - phase.accepted),
            }
        )
    return Report(rows, sum(1 for a in arrivals if a.mail_from == ""), log)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-phase", type=int, default=60)
    parser.add_argument("--rate", type=float, default=20.0)
    args = parser.parse_args()
    t0 = time.time()
    report = run_faults(args.per_phase, args.rate)
    print(report.table())
    print(f"lost in total: {report.lost}; {time.time() - t0:.0f} s")
    for row in report.rows:
        if row["lost_ids"]:
            print(f"  {row['phase']}: lost {row['lost_ids']}")
    sys.exit(1 if report.lost else 0)


if __name__ == "__main__":
    main()
