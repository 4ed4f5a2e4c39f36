"""Store throughput: the write operations the workers make, from many threads at once.

The pipeline and delivery workers call the store from many asyncio tasks through `asyncio.to_thread`,
so the store sees many threads calling accept / claim / move / finish at the same time. This bench
does that with plain threads (C callers, each looping over one operation) and prints messages/s:

    accept       C callers, each storing one message per call (the SMTP side without GroupCommitter)
    claim+move   C callers, each claiming one message and moving it to another queue (the pipeline)
    claim+finish C callers, each claiming one message and finishing it (a delivery)

Baseline in the same process: the disk's commit rate, i.e. one single-row SQLite transaction per
fsync (WAL, synchronous=FULL) in the same directory. A store that makes every call its own transaction
cannot beat it; the ratio column shows how far coalescing goes beyond it.

    python bench/store.py [--messages 2000] [--size 5120] [--backends sqlite,redis]
                          [--redis-url redis://127.0.0.1:6379/15] [--dir DIR]
                          [--compare NAME=PATH ...]

`--compare old=/tmp/sqlite_old.py` also runs the SqliteStore class of another file (for example an
earlier release: `git show REV:gateway/store/sqlite.py > /tmp/sqlite_old.py`) as backend "old".
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import secrets
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gateway.message import Envelope, QueuedMessage, new_message_id  # noqa: E402
from gateway.store.base import Queue, Store  # noqa: E402
from gateway.store.redis import RedisStore  # noqa: E402
from gateway.store.sqlite import SqliteStore  # noqa: E402
from tests.support.redis_keys import delete_redis_prefix  # noqa: E402

LEASE = 300.0
CALLERS = (1, 8, 32)
ACCEPT_CALLERS = (1, 50)


def make_items(n: int, size: int) -> list[tuple[QueuedMessage, bytes]]:
    now = time.time()
    items = []
    for _ in range(n):
        mid = new_message_id()
        env = Envelope(mail_from="sender@example.co.jp", rcpt_tos=("rcpt@example.com",), client_address="127.0.0.1")
        raw = f"Subject: bench {mid}\r\n\r\n".encode() + b"x" * size
        items.append((QueuedMessage(id=mid, envelope=env, received_at=now), raw))
    return items


def run_threads(callers: int, work: Callable[[int], int]) -> tuple[int, float]:
    """Run work(i) in `callers` threads started together; returns (operations done, seconds)."""
    start = threading.Barrier(callers + 1)
    done = [0] * callers
    errors: list[BaseException] = []

    def body(i: int) -> None:
        try:
            start.wait()
            done[i] = work(i)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(callers)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    if errors:
        raise errors[0]
    return sum(done), elapsed


def bench_accept(store: Store, callers: int, items: list[tuple[QueuedMessage, bytes]]) -> float:
    shares = [items[i::callers] for i in range(callers)]

    def work(i: int) -> int:
        for item in shares[i]:
            store.accept([item])
        return len(shares[i])

    n, elapsed = run_threads(callers, work)
    return n / elapsed


def bench_claim(store: Store, callers: int, items: list[tuple[QueuedMessage, bytes]], finish: bool) -> float:
    for i in range(0, len(items), 500):
        store.accept(items[i : i + 500])
    claim_at = time.time() + 1

    def work(_: int) -> int:
        n = 0
        while leases := store.claim(Queue.INBOUND, 1, LEASE, now=claim_at):
            for lease in leases:
                ok = store.finish(lease) if finish else store.move(lease, Queue.OUTBOUND, lease.message)
                assert ok, "lease lost during the bench"
                n += 1
        return n

    n, elapsed = run_threads(callers, work)
    assert n == len(items), (n, len(items))
    return n / elapsed


def commit_floor(directory: Path, n: int) -> float:
    """Single-row transactions per second with WAL + synchronous=FULL: one fsync each."""
    path = directory / f"floor-{secrets.token_hex(4)}.db"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)")
        t0 = time.perf_counter()
        for i in range(n):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO t (id, v) VALUES (?, ?)", (i, b"x" * 100))
            conn.execute("COMMIT")
        return n / (time.perf_counter() - t0)
    finally:
        conn.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def load_store_class(path: str) -> type[Store]:
    spec = importlib.util.spec_from_file_location(f"bench_store_{secrets.token_hex(4)}", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cls: type[Store] = module.SqliteStore
    # An earlier release may lack methods added to the interface since; the bench does not call them.
    cls.__abstractmethods__ = frozenset()
    return cls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000, help="messages per scenario")
    parser.add_argument("--size", type=int, default=5120, help="raw message size in bytes")
    parser.add_argument("--backends", default="sqlite,redis")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--dir", type=Path, default=None, help="where the sqlite files go (default: a temp dir)")
    parser.add_argument("--compare", action="append", default=[], metavar="NAME=PATH")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")

    workdir = Path(tempfile.mkdtemp(prefix="bench-store-", dir=args.dir))
    factories: dict[str, Callable[[], tuple[Store, Callable[[], None]]]] = {}
    counter = iter(range(1_000_000))

    def sqlite_factory(cls: type[Store]) -> Callable[[], tuple[Store, Callable[[], None]]]:
        def make() -> tuple[Store, Callable[[], None]]:
            path = workdir / f"s{next(counter)}.db"
            store = cls(path)  # type: ignore[call-arg]

            def cleanup() -> None:
                store.close()
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)

            return store, cleanup

        return make

    for name in args.backends.split(","):
        if name == "sqlite":
            factories["sqlite"] = sqlite_factory(SqliteStore)
        elif name == "redis":

            def make_redis() -> tuple[Store, Callable[[], None]]:
                prefix = f"gwbench-{secrets.token_hex(4)}"
                store = RedisStore(args.redis_url, prefix=prefix)
                logging.getLogger("gateway.store.redis").setLevel(logging.ERROR)  # its durability warning: once

                def cleanup() -> None:
                    store.close()
                    delete_redis_prefix(args.redis_url, prefix)

                return store, cleanup

            factories["redis"] = make_redis
        elif name:
            raise SystemExit(f"unknown backend {name!r}")
    for spec in args.compare:
        name, _, path = spec.partition("=")
        factories[name] = sqlite_factory(load_store_class(path))

    floor = commit_floor(workdir, min(args.messages, 500))
    print(f"commit floor (one fsync per transaction, sqlite WAL+FULL in {workdir}): {floor:,.0f}/s")
    print(f"{args.messages} messages of {args.size} bytes per scenario; figures are messages/s\n")
    scenarios: list[tuple[str, int, Callable[[Store, int, list[tuple[QueuedMessage, bytes]]], float]]] = []
    scenarios += [("accept", c, bench_accept) for c in ACCEPT_CALLERS]
    scenarios += [("claim+move", c, lambda s, c, it: bench_claim(s, c, it, finish=False)) for c in CALLERS]
    scenarios += [("claim+finish", c, lambda s, c, it: bench_claim(s, c, it, finish=True)) for c in CALLERS]

    names = list(factories)
    transactions: dict[str, int] = {}
    header = f"{'scenario':<14}{'callers':>8}" + "".join(f"{n:>12}{'/floor':>8}" for n in names)
    print(header)
    print("-" * len(header))
    for label, callers, fn in scenarios:
        line = f"{label:<14}{callers:>8}"
        for name in names:
            store, cleanup = factories[name]()
            try:
                before = getattr(store, "transactions", None)
                rate = fn(store, callers, make_items(args.messages, args.size))
                if before is not None:
                    transactions[name] = transactions.get(name, 0) + store.transactions - before  # type: ignore[attr-defined]
            finally:
                cleanup()
            line += f"{rate:>12,.0f}{rate / floor:>8.1f}"
        print(line, flush=True)
    for name, n in transactions.items():
        print(f"\n{name}: {n:,} write transactions in all (the others: one per write call)")
    workdir.rmdir()


if __name__ == "__main__":
    main()
