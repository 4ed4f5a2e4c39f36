"""Recipient assessment speed: ms per message for 1, 10 and 1,000 recipients.

Set-up: a 100,000-pair delivery history (SQLite file and, if one answers, Redis db 15 with a random
prefix, cleaned up afterwards), a 10,000-domain allow-list (all protected against lookalikes), DNS
checks on against the loopback DNS stub, caches warm (each message is assessed once before timing).
The baseline is the same messages with no history, no lists and DNS off (parse + classify only),
run in the same process.

    python -m bench.recipients [--redis redis://127.0.0.1:6379/15] [--rounds 200]

Goal from the issue: <= 2 ms for a 10-recipient message, cache warm.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import statistics
import string
import tempfile
import time
from pathlib import Path

from gateway.config.recipients import RecipientsConfig
from gateway.dnsresolver import make_resolver
from gateway.message import Envelope
from gateway.recipients.assess import RecipientContext, assess_recipients
from gateway.recipients.history import Delivery, RecipientHistory
from gateway.recipients.history_backends import open_history
from tests.support.dnsstub import DnsStub

INTERNAL = ["example.co.jp"]
SUFFIXES = ["co.jp", "com", "jp", "ne.jp", "or.jp", "ac.jp", "com.au", "net"]


def name(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(5, 14)))


def known_domains(rng: random.Random, n: int) -> list[str]:
    out: set[str] = set()
    while len(out) < n:
        out.add(f"{name(rng)}.{rng.choice(SUFFIXES)}")
    return sorted(out)


def seed_history(history: RecipientHistory, rng: random.Random, domains: list[str], pairs: int, now: float) -> None:
    senders = [f"user{i}@example.co.jp" for i in range(200)]
    batch: list[Delivery] = []
    for i in range(pairs):
        batch.append(Delivery(rng.choice(senders), (f"p{i}@{rng.choice(domains)}",), now - rng.random() * 300 * 86400))
        if len(batch) == 5000:
            history.record_many(batch)
            batch.clear()
    history.record_many(batch)


def messages(rng: random.Random, domains: list[str], size: int, count: int) -> list[Envelope]:
    out = []
    for _ in range(count):
        rcpts = []
        for j in range(size):
            roll = rng.random()
            if roll < 0.6:
                rcpts.append(f"p{rng.randint(0, 100_000)}@{rng.choice(domains)}")
            elif roll < 0.8:
                rcpts.append(f"c{j}@example.co.jp")
            elif roll < 0.9:  # a lookalike of a known domain
                d = rng.choice(domains)
                rcpts.append(f"x{j}@{d[0]}{d[2]}{d[1]}{d[3:]}")
            else:
                rcpts.append(f"n{j}@{name(rng)}.example")
        out.append(Envelope(f"user{rng.randint(0, 199)}@example.co.jp", tuple(rcpts)))
    return out


async def run(ctx: RecipientContext, msgs: list[Envelope], rounds: int) -> list[float]:
    for m in msgs:  # warm the caches (lookalike per domain, DNS per domain, frequent list)
        await assess_recipients(m, None, ctx)
    times = []
    for i in range(rounds):
        m = msgs[i % len(msgs)]
        t0 = time.perf_counter()
        await assess_recipients(m, None, ctx)
        times.append((time.perf_counter() - t0) * 1000)
    return times


def fmt(times: list[float]) -> str:
    q = statistics.quantiles(times, n=20)
    return f"mean {statistics.fmean(times):8.3f} ms  p50 {statistics.median(times):8.3f}  p95 {q[18]:8.3f}"


async def bench(history: RecipientHistory, label: str, domains: list[str], rounds: int, stub: DnsStub) -> None:
    cfg = RecipientsConfig.model_validate(
        {"allow_domains": domains, "dns": {"timeout": 1.0}, "lookalike": {"frequent_domains": 500}}
    )
    ctx = RecipientContext.create(cfg, INTERNAL, history=history, resolver=make_resolver(["127.0.0.1"], stub.port, 1.0))
    base = RecipientContext.create(RecipientsConfig.model_validate({"dns": {"enabled": False}}), INTERNAL)
    rng = random.Random(7)
    print(f"\n{label}: history {history.counts()}, known list {len(domains)} domains, DNS stub on loopback")
    for size, count, n in ((1, 50, rounds * 5), (10, 50, rounds * 2), (1000, 5, max(rounds // 10, 10))):
        msgs = messages(rng, domains, size, count)
        full = await run(ctx, msgs, n)
        plain = await run(base, msgs, n)
        ratio = statistics.fmean(full) / statistics.fmean(plain)
        print(f"  {size:5d} recipients: {fmt(full)}   baseline {statistics.fmean(plain):8.3f} ms  x{ratio:5.1f}")
    print(f"  DNS queries made: {ctx.checker.lookups if ctx.checker else 0} (warm-up only)")
    fresh = [f"{name(rng)}.{rng.choice(SUFFIXES)}" for _ in range(1000)]
    t0 = time.perf_counter()
    hits = sum(ctx.lookalikes.check(d, ctx.orgs.of(d)) is not None for d in fresh)
    cold = (time.perf_counter() - t0) * 1000 / len(fresh)
    print(f"  lookalike check of a new domain (cache cold): {cold:.3f} ms per domain ({hits} of 1000 flagged)")


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--redis", default="redis://127.0.0.1:6379/15", help="Redis URL ('' to skip Redis)")
    p.add_argument("--rounds", type=int, default=200)
    p.add_argument("--pairs", type=int, default=100_000)
    p.add_argument("--known", type=int, default=10_000)
    args = p.parse_args()
    rng = random.Random(1)
    domains = known_domains(rng, args.known)
    now = time.time()
    async with DnsStub({}) as stub:  # every name: NODATA -> "no-mail"; enough for a warm cache
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            sqlite = open_history(f"sqlite:///{Path(tmp) / 'gateway.db'}")
            seed_history(sqlite, random.Random(2), domains, args.pairs, now)
            print(f"seeded SQLite history with {args.pairs} pairs in {time.perf_counter() - t0:.1f} s")
            await bench(sqlite, "SQLite", domains, args.rounds, stub)
            sqlite.close()
        if args.redis:
            prefix = f"bench-rh-{secrets.token_hex(4)}"
            try:
                red = open_history(f"{args.redis}?prefix={prefix}")
                red.counts()
            except Exception as e:
                print(f"\nRedis skipped: {e.__class__.__name__}: {e}")
                return
            try:
                t0 = time.perf_counter()
                seed_history(red, random.Random(2), domains, args.pairs, now)
                print(f"\nseeded Redis history with {args.pairs} pairs in {time.perf_counter() - t0:.1f} s")
                await bench(red, "Redis", domains, args.rounds, stub)
            finally:
                red.clear()
                red.close()


if __name__ == "__main__":
    asyncio.run(main())
