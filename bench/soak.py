"""A long soak as proof: many messages through a real Postfix in front of the gateway, with faults on
a schedule, and an account of every message at the end.

    python bench/soak.py [--messages 10000] [--rate 25] [--fault-every 45]

    client ──SMTP──▶ Postfix (relayhost) ──▶ gateway (Redis store) ──▶ smtp-sink (the next hop)

The client is tests/support/load.py's realistic mix (70% plain Japanese business mail, 20% with an
xlsx/docx/PDF, 10% with a customer list that is held), sent to Postfix, which relays to the gateway
as the README's "Behind Postfix" block says. The gateway runs on a Redis of its own (appendonly,
appendfsync always) and relays to Postfix's smtp-sink. Every `--fault-every` seconds, in turn:

  gateway SIGKILL   the whole gateway process group, started again at once (Postfix defers, retries)
  Redis restart     redis-server SIGKILLed and started again 2 s later (the gateway answers 451 meanwhile)
  next hop outage   smtp-sink stopped for 20 s (the gateway defers and retries)

After the last message Postfix's queue and the gateway's queues drain, and the report gives:
accepted (250 from Postfix), delivered (arrived at the sink at least once), held (on the gateway's
hold queue), bounced (a delivery-status notice about it reached the sink), duplicates, lost (must
be 0), and the longest time a message waited after the fault that held it up had cleared (its
arrival minus the end of the last fault that began before it arrived, for messages accepted before
that fault ended). Exit status 1 when anything was lost.
"""

from __future__ import annotations

import argparse
import email.parser
import email.policy
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.faults import OwnRedis  # noqa: E402
from gateway.store import open_store  # noqa: E402
from gateway.store.base import Queue  # noqa: E402
from tests.support.gateway_proc import GatewayProcess, write_config  # noqa: E402
from tests.support.load import Client, SmtpSink, corpus  # noqa: E402
from tests.support.postfix import PostfixInstance, readme_blocks, with_ports  # noqa: E402

OUTAGE_SECONDS = 20.0
REDIS_DOWN_SECONDS = 2.0


@dataclass
class Fault:
    name: str
    began: float
    cleared: float = 0.0


@dataclass
class Schedule:
    """Runs the faults in turn every `every` seconds until stopped; records when each began and cleared."""

    gateway: GatewayProcess
    redis: OwnRedis
    sink: SmtpSink
    every: float
    faults: list[Fault] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        kinds = [self._sigkill, self._redis_restart, self._outage]
        n = 0
        while not self.stop.wait(self.every):
            kinds[n % len(kinds)]()
            n += 1

    def _record(self, name: str) -> Fault:
        fault = Fault(name, time.time())
        self.faults.append(fault)
        return fault

    def _sigkill(self) -> None:
        fault = self._record("gateway SIGKILL")
        self.gateway.kill()
        self.gateway.start()  # returns once it listens again
        fault.cleared = time.time()

    def _redis_restart(self) -> None:
        fault = self._record("Redis restart")
        self.redis.kill()
        time.sleep(REDIS_DOWN_SECONDS)
        self.redis.start()
        fault.cleared = time.time()

    def _outage(self) -> None:
        fault = self._record("next hop outage")
        self.sink.stop()
        time.sleep(OUTAGE_SECONDS)
        self.sink.start()
        fault.cleared = time.time()


def _gateway_queues(url: str) -> dict[Queue, int]:
    store = open_store(url)
    try:
        return store.counts()
    finally:
        store.close()


def _held_ids(url: str) -> set[str]:
    store = open_store(url)
    parser = email.parser.BytesHeaderParser(policy=email.policy.compat32)
    try:
        held = store.list_queue(Queue.HOLD, 1_000_000)
        return {str(parser.parsebytes(store.raw(m.id)).get("X-Test-Id", "")) for m in held}
    finally:
        store.close()


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * q / 100))], 1)


def soak(messages: int, rate: float, every: float, sessions: int) -> dict[str, object]:
    tmp = Path(tempfile.mkdtemp(prefix="gw-soak-"))
    redis = OwnRedis().start()
    sink = SmtpSink().start()
    config, gw_port = write_config(
        tmp,
        {
            "store": {"url": redis.url},
            "relay": {"smarthost": f"127.0.0.1:{sink.port}", "retry": {"initial": 1, "maximum": 5, "lifetime": 7200}},
            "hold": {"language": "en"},
            "inspection": {"workers": 2},
        },
    )
    gateway = GatewayProcess(config, gw_port, tmp / "gateway.log").start()
    mta = PostfixInstance(main_text=with_ports(readme_blocks()["relayhost"]["main.cf"], {10025: gw_port})).start()
    schedule = Schedule(gateway, redis, sink, every)
    faults = threading.Thread(target=schedule.run, daemon=True)
    mails = corpus(messages, seed=23, run="soak")
    started = time.time()
    try:
        client = Client(mta.port, mails, sessions, rate).start()
        faults.start()
        client.join()
        sent_s = time.time() - started
        schedule.stop.set()
        faults.join()
        # Drain: Postfix's queue and the gateway's inbound and outbound queues empty, for a while.
        quiet_since = None
        deadline = time.time() + 1800
        while time.time() < deadline:
            counts = _gateway_queues(redis.url)
            busy = mta.queue() or counts[Queue.INBOUND] or counts[Queue.OUTBOUND]
            if busy:
                quiet_since = None
                mta.flush()
            elif quiet_since is None:
                quiet_since = time.time()
            elif time.time() - quiet_since > 5:
                break
            time.sleep(1.0)
        drained_s = time.time() - started
        held = _held_ids(redis.url)
        counts = _gateway_queues(redis.url)
        arrivals = sink.arrivals()
    finally:
        schedule.stop.set()
        mta.cleanup()
        gateway.stop()
        gateway.kill()
        sink.cleanup()
        redis.cleanup()
    log = (tmp / "gateway.log").read_text(errors="replace")
    shutil.rmtree(tmp, ignore_errors=True)

    accepted = client.sent.accepted_at
    delivered_at: dict[str, float] = {}
    arrived = Counter()
    bounced: set[str] = set()
    for a in arrivals:
        if not a.test_id:
            continue
        if a.mail_from == "":  # a delivery-status notice quoting the message's headers
            bounced.add(a.test_id)
            continue
        arrived[a.test_id] += 1
        delivered_at[a.test_id] = min(delivered_at.get(a.test_id, a.at), a.at)
    delivered = {t for t in accepted if t in delivered_at}
    held_here = {t for t in accepted if t in held} - delivered
    bounced_here = (bounced & set(accepted)) - delivered - held_here
    lost = set(accepted) - delivered - held_here - bounced_here
    # The longest wait after a fault cleared: for each delivered message accepted before a fault
    # ended and delivered after it, arrival minus the end of the last such fault.
    longest, longest_fault = 0.0, ""
    after_fault: list[float] = []
    untouched: list[float] = []  # accepted-to-arrival of messages no fault came between
    for test_id in delivered:
        arrived_at, accepted_at = delivered_at[test_id], accepted[test_id]
        before = [f for f in schedule.faults if f.cleared and f.began < arrived_at and accepted_at < f.cleared]
        if not before:
            untouched.append(arrived_at - accepted_at)
            continue
        last = max(before, key=lambda f: f.cleared)
        wait = arrived_at - last.cleared
        after_fault.append(wait)
        if wait > longest:
            longest, longest_fault = wait, last.name
    return {
        "messages": messages,
        "accepted": len(accepted),
        "delivered": len(delivered),
        "held": len(held_here),
        "bounced": len(bounced_here),
        "duplicates": sum(n - 1 for t, n in arrived.items() if n > 1 and t in accepted),
        "lost": len(lost),
        "lost_ids": sorted(lost)[:20],
        "faults": Counter(f.name for f in schedule.faults),
        "longest_wait_after_fault_s": round(longest, 1),
        "wait_after_fault_p50_p99_s": (_pct(after_fault, 50), _pct(after_fault, 99)),
        "latency_without_fault_p50_p99_max_s": (_pct(untouched, 50), _pct(untouched, 99), _pct(untouched, 100)),
        "longest_wait_fault": longest_fault,
        "taken_back_lines": log.count("took back"),
        "shunted": counts[Queue.SHUNT],
        "client_retries": len(client.sent.refusals),
        "sending_s": round(sent_s),
        "until_drained_s": round(drained_s),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=25.0, help="messages per second offered to Postfix")
    parser.add_argument("--fault-every", type=float, default=45.0, help="seconds between faults")
    parser.add_argument("--sessions", type=int, default=10)
    args = parser.parse_args()
    report = soak(args.messages, args.rate, args.fault_every, args.sessions)
    for key, value in report.items():
        print(f"{key:28} {value}")
    sys.exit(1 if report["lost"] else 0)


if __name__ == "__main__":
    main()
