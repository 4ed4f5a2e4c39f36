"""One contract for every store backend (real sqlite files, a real Redis), plus the group committer."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import multiprocessing
import os
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis

from gateway.message import QueuedMessage
from gateway.store import open_store
from gateway.store.base import Lease, Queue, Store, StoreError
from gateway.store.group_commit import GroupCommitter
from gateway.store.owner import is_dead
from gateway.store.redis import RedisStore
from gateway.store.sqlite import SCHEMA_VERSION, SqliteStore

LEASE = 300.0


def later(seconds: float = 1.0) -> float:
    """A claim time just after everything accepted so far became due."""
    return time.time() + seconds


def claim_one(store: Store, queue: Queue = Queue.INBOUND, now: float | None = None) -> Lease:
    leases = store.claim(queue, 1, LEASE, now=later() if now is None else now)
    assert len(leases) == 1
    return leases[0]


# -- accept, get, raw, counts


def test_accept_stores_fields_and_raw_bytes(store: Store, make_message: Any) -> None:
    msg, raw = make_message(rcpt_tos=("a@example.com", "b@example.net"), is_notice=True)
    raw += bytes(range(256))  # raw is bytes, not text: every byte value survives
    store.accept([(msg, raw)])
    assert store.get(msg.id) == (Queue.INBOUND, msg)
    assert store.raw(msg.id) == raw
    assert store.counts() == {Queue.INBOUND: 1, Queue.OUTBOUND: 0, Queue.HOLD: 0, Queue.SHUNT: 0}


def test_accept_to_another_queue_and_empty_batch(store: Store, make_message: Any) -> None:
    store.accept([])
    msg, raw = make_message(is_notice=True)
    store.accept([(msg, raw)], Queue.OUTBOUND)
    assert store.get(msg.id) == (Queue.OUTBOUND, msg)
    assert store.claim(Queue.INBOUND, 10, LEASE, now=later()) == []
    assert claim_one(store, Queue.OUTBOUND).message == msg


def test_unknown_message(store: Store) -> None:
    assert store.get("nope") is None
    with pytest.raises(KeyError):
        store.raw("nope")


def test_accept_batch_is_all_or_none(store: Store, make_message: Any) -> None:
    first, first_raw = make_message(body="first")
    store.accept([(first, first_raw)])
    lease = claim_one(store)
    moved = dataclasses.replace(first, attempts=1, pending=first.envelope.rcpt_tos)
    assert store.move(lease, Queue.OUTBOUND, moved)

    fresh, fresh_raw = make_message(body="fresh")
    clash = dataclasses.replace(fresh, id=first.id)
    with pytest.raises(StoreError):
        store.accept([(fresh, fresh_raw), (clash, b"clash")])
    with pytest.raises(StoreError):
        store.accept([(fresh, fresh_raw), (fresh, fresh_raw)])

    assert store.get(fresh.id) is None
    assert store.counts()[Queue.INBOUND] == 0
    # The failed batches did not touch the message that already had that id.
    assert store.get(first.id) == (Queue.OUTBOUND, moved)
    assert store.raw(first.id) == first_raw


# -- claim, leases, fencing


def test_claim_respects_due_time_and_limit(store: Store, make_message: Any) -> None:
    before = time.time() - 1
    items = [make_message() for _ in range(5)]
    store.accept(items)
    assert store.claim(Queue.INBOUND, 10, LEASE, now=before) == []
    leases = store.claim(Queue.INBOUND, 3, LEASE, now=later())
    assert len(leases) == 3
    assert all(lease.queue == Queue.INBOUND for lease in leases)
    rest = store.claim(Queue.INBOUND, 10, LEASE, now=later())
    assert len(rest) == 2
    assert {lease.message.id for lease in leases + rest} == {m.id for m, _ in items}
    assert store.claim(Queue.INBOUND, 10, LEASE, now=later()) == []
    assert store.claim(Queue.INBOUND, 0, LEASE, now=later()) == []


def test_a_lease_hides_the_message_until_it_runs_out(store: Store, make_message: Any) -> None:
    msg, raw = make_message()
    store.accept([(msg, raw)])
    t = later()
    first = store.claim(Queue.INBOUND, 10, 60, now=t)
    assert [lease.message.id for lease in first] == [msg.id]
    assert store.claim(Queue.INBOUND, 10, 60, now=t + 59) == []
    # The worker died: the lease runs out and another worker gets the message again.
    second = store.claim(Queue.INBOUND, 10, 60, now=t + 61)
    assert [lease.message for lease in second] == [msg]
    assert second[0].token != first[0].token
    assert store.get(msg.id) == (Queue.INBOUND, msg)
    assert store.counts()[Queue.INBOUND] == 1


def test_a_stale_lease_cannot_change_anything(store: Store, make_message: Any) -> None:
    msg, raw = make_message()
    store.accept([(msg, raw)])
    t = later()
    stale = store.claim(Queue.INBOUND, 1, 60, now=t)[0]
    current = store.claim(Queue.INBOUND, 1, 60, now=t + 61)[0]

    changed = dataclasses.replace(msg, attempts=7, shunt_reason="stale")
    assert not store.move(stale, Queue.OUTBOUND, changed, raw=b"stale bytes")
    assert not store.move(stale, Queue.INBOUND, changed, due_at=t + 1000)
    assert not store.finish(stale)
    store.release(stale)  # silently ignored: it must not free the current holder's lease
    assert store.get(msg.id) == (Queue.INBOUND, msg)
    assert store.raw(msg.id) == raw
    assert store.claim(Queue.INBOUND, 10, 60, now=t + 62) == []

    assert store.finish(current)
    assert store.get(msg.id) is None


def test_a_used_lease_is_spent(store: Store, make_message: Any) -> None:
    msg, raw = make_message()
    store.accept([(msg, raw)])
    lease = claim_one(store)
    assert store.move(lease, Queue.OUTBOUND, msg)
    assert not store.move(lease, Queue.SHUNT, dataclasses.replace(msg, shunt_reason="again"))
    assert not store.finish(lease)
    assert store.get(msg.id) == (Queue.OUTBOUND, msg)


# -- claim one known message


def test_claim_message_on_its_queue_due_or_not(store: Store, make_message: Any) -> None:
    msg, raw = make_message()
    store.accept([(msg, raw)], Queue.HOLD)
    lease = store.claim_message(Queue.HOLD, msg.id, LEASE)
    assert lease is not None
    assert (lease.message, lease.queue) == (msg, Queue.HOLD)
    assert store.claim(Queue.HOLD, 10, LEASE, now=later()) == []  # it is leased now
    deferred = dataclasses.replace(msg, deferred_reason="waiting for approval")
    assert store.move(lease, Queue.HOLD, deferred, due_at=time.time() + 86400)
    # Due time does not matter: a message deferred for a day is claimed at once.
    again = store.claim_message(Queue.HOLD, msg.id, LEASE)
    assert again is not None and again.message == deferred and again.token != lease.token
    assert not store.move(lease, Queue.OUTBOUND, msg)  # the spent lease stays spent
    assert store.move(again, Queue.OUTBOUND, deferred)
    assert store.get(msg.id) == (Queue.OUTBOUND, deferred)
    assert store.raw(msg.id) == raw


def test_claim_message_on_another_queue_or_unknown(store: Store, make_message: Any) -> None:
    msg, raw = make_message()
    store.accept([(msg, raw)], Queue.OUTBOUND)
    assert store.claim_message(Queue.INBOUND, msg.id, LEASE) is None
    assert store.claim_message(Queue.HOLD, msg.id, LEASE) is None
    assert store.claim_message(Queue.OUTBOUND, "no-such-id", LEASE) is None
    # Nothing changed: the message is still there, not leased.
    assert store.get(msg.id) == (Queue.OUTBOUND, msg)
    assert claim_one(store, Queue.OUTBOUND).message == msg
    with pytest.raises(ValueError):
        store.claim_message(Queue.OUTBOUND, msg.id, 0)


def test_claim_message_of_a_leased_message(store: Store, make_message: Any) -> None:
    by_claim, raw1 = make_message()
    by_id, raw2 = make_message()
    store.accept([(by_claim, raw1)])
    first = claim_one(store)
    store.accept([(by_id, raw2)])
    assert store.claim_message(Queue.INBOUND, by_claim.id, LEASE) is None
    second = store.claim_message(Queue.INBOUND, by_id.id, LEASE)
    assert second is not None
    assert store.claim_message(Queue.INBOUND, by_id.id, LEASE) is None
    assert store.claim(Queue.INBOUND, 10, LEASE, now=later()) == []
    assert store.finish(first) and store.finish(second)
    assert store.counts()[Queue.INBOUND] == 0


def test_claim_message_after_the_lease_ran_out(store: Store, make_message: Any) -> None:
    msg, raw = make_message()
    store.accept([(msg, raw)])
    t = later()
    by_claim = store.claim(Queue.INBOUND, 1, 60, now=t)[0]
    assert store.claim_message(Queue.INBOUND, msg.id, 60, now=t + 59) is None
    by_id = store.claim_message(Queue.INBOUND, msg.id, 60, now=t + 61)
    assert by_id is not None and by_id.token != by_claim.token
    # Its lease hides the message from claim, and runs out like any other.
    assert store.claim(Queue.INBOUND, 10, 60, now=t + 120) == []
    assert store.claim_message(Queue.INBOUND, msg.id, 60, now=t + 120) is None
    by_claim_again = store.claim(Queue.INBOUND, 10, 60, now=t + 122)
    assert [lease.message for lease in by_claim_again] == [msg]
    # Only the newest lease may change anything.
    assert not store.move(by_claim, Queue.OUTBOUND, msg)
    assert not store.move(by_id, Queue.OUTBOUND, msg)
    assert not store.finish(by_id)
    store.release(by_id)  # ignored: it must not free the current lease
    assert store.claim_message(Queue.INBOUND, msg.id, 60, now=t + 123) is None
    assert store.move(by_claim_again[0], Queue.OUTBOUND, msg)
    assert store.get(msg.id) == (Queue.OUTBOUND, msg)


def test_claim_message_racing_claim_never_gives_two_live_leases(store: Store, make_message: Any) -> None:
    items = [make_message() for _ in range(60)]
    store.accept(items)
    ids = [m.id for m, _ in items]
    got: list[list[Lease]] = [[] for _ in range(8)]
    errors: list[BaseException] = []
    start = threading.Barrier(len(got))

    def by_claim(mine: list[Lease]) -> None:
        try:
            start.wait()
            while leases := store.claim(Queue.INBOUND, 2, LEASE):
                mine.extend(leases)
        except BaseException as e:
            errors.append(e)

    def by_id(mine: list[Lease], order: list[str]) -> None:
        try:
            start.wait()
            for message_id in order:
                lease = store.claim_message(Queue.INBOUND, message_id, LEASE)
                if lease is not None:
                    mine.append(lease)
        except BaseException as e:
            errors.append(e)

    threads = []
    for i, mine in enumerate(got):
        if i % 2:
            threads.append(threading.Thread(target=by_claim, args=(mine,)))
        else:
            order = ids[i:] + ids[:i] if i % 4 else list(reversed(ids))
            threads.append(threading.Thread(target=by_id, args=(mine, order)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    leases = [lease for mine in got for lease in mine]
    assert sorted(lease.message.id for lease in leases) == sorted(ids)  # each exactly once
    # Every lease handed out is live: each one can move its message.
    for lease in leases:
        assert store.move(lease, Queue.OUTBOUND, lease.message)
    assert store.counts()[Queue.OUTBOUND] == len(ids)


# -- move, defer, finish, release


def test_move_with_new_fields_and_raw(store: Store, make_message: Any) -> None:
    msg, raw = make_message(rcpt_tos=("a@example.com", "b@example.com"))
    store.accept([(msg, raw)])
    lease = claim_one(store)
    relayed = dataclasses.replace(msg, pending=msg.envelope.rcpt_tos)
    new_raw = b"X-Gateway: checked\r\n" + raw
    assert store.move(lease, Queue.OUTBOUND, relayed, raw=new_raw)
    assert store.get(msg.id) == (Queue.OUTBOUND, relayed)
    assert store.raw(msg.id) == new_raw
    assert store.counts()[Queue.INBOUND] == 0

    lease = claim_one(store, Queue.OUTBOUND)
    assert lease.message == relayed
    partly = dataclasses.replace(
        relayed,
        attempts=1,
        pending=("b@example.com",),
        delivered=("a@example.com",),
        failed={"c@example.com": "550 5.1.1 no such user"},
        deferred_reason="451 4.3.0 try later",
    )
    assert store.move(lease, Queue.OUTBOUND, partly)  # no raw given: the raw bytes stay
    assert store.get(msg.id) == (Queue.OUTBOUND, partly)
    assert store.raw(msg.id) == new_raw


def test_defer_is_a_move_to_the_same_queue_with_a_due_time(store: Store, make_message: Any) -> None:
    msg, raw = make_message()
    store.accept([(msg, raw)], Queue.OUTBOUND)
    lease = claim_one(store, Queue.OUTBOUND)
    due = time.time() + 3600
    deferred = dataclasses.replace(msg, attempts=1, deferred_reason="421 busy")
    assert store.move(lease, Queue.OUTBOUND, deferred, due_at=due)
    assert store.claim(Queue.OUTBOUND, 10, LEASE, now=due - 1) == []
    again = store.claim(Queue.OUTBOUND, 10, LEASE, now=due)
    assert [lease.message for lease in again] == [deferred]


def test_due_messages_are_claimed_earliest_first(store: Store, make_message: Any) -> None:
    items = [make_message() for _ in range(3)]
    store.accept(items)
    leases = store.claim(Queue.INBOUND, 3, LEASE, now=later())
    base = time.time() + 100
    for offset, lease in zip((30, 10, 20), leases, strict=True):
        assert store.move(lease, Queue.INBOUND, lease.message, due_at=base + offset)
    order = [lease.message.id for lease in store.claim(Queue.INBOUND, 3, LEASE, now=base + 40)]
    assert order == [leases[1].message.id, leases[2].message.id, leases[0].message.id]


def test_finish_removes_message_and_raw(store: Store, make_message: Any) -> None:
    keep, keep_raw = make_message()
    msg, raw = make_message()
    store.accept([(keep, keep_raw), (msg, raw)])
    lease = next(lease for lease in store.claim(Queue.INBOUND, 2, LEASE, now=later()) if lease.message == msg)
    assert store.finish(lease)
    assert store.get(msg.id) is None
    with pytest.raises(KeyError):
        store.raw(msg.id)
    assert not store.finish(lease)
    assert store.counts()[Queue.INBOUND] == 1
    assert store.raw(keep.id) == keep_raw


def test_release_makes_the_message_due_again(store: Store, make_message: Any) -> None:
    msg, raw = make_message()
    store.accept([(msg, raw)])
    lease = claim_one(store)
    store.release(lease)
    store.release(lease)  # idempotent
    again = claim_one(store)
    assert again.message == msg
    assert again.token != lease.token
    assert not store.move(lease, Queue.OUTBOUND, msg)  # a released lease is spent
    assert store.move(again, Queue.OUTBOUND, msg)


def test_shunt_queue_holds_messages_for_a_human(store: Store, make_message: Any) -> None:
    msg, raw = make_message()
    store.accept([(msg, raw)])
    lease = claim_one(store)
    broken = dataclasses.replace(msg, shunt_reason="parser error: ValueError")
    assert store.move(lease, Queue.SHUNT, broken)
    assert store.claim(Queue.INBOUND, 10, LEASE, now=later()) == []
    assert store.get(msg.id) == (Queue.SHUNT, broken)
    assert store.list_queue(Queue.SHUNT) == [broken]
    assert store.raw(msg.id) == raw
    assert store.counts() == {Queue.INBOUND: 0, Queue.OUTBOUND: 0, Queue.HOLD: 0, Queue.SHUNT: 1}
    # An admin may requeue it: the shunt queue is claimable like any other.
    lease = claim_one(store, Queue.SHUNT)
    assert store.move(lease, Queue.INBOUND, dataclasses.replace(broken, shunt_reason=""))
    assert store.counts()[Queue.SHUNT] == 0


def test_list_queue_oldest_first_with_limit(store: Store, make_message: Any) -> None:
    t = time.time()
    items = [make_message(received_at=t - age) for age in (5, 50, 20, 1)]
    store.accept(items[:2])
    store.accept(items[2:])
    expected = sorted((m for m, _ in items), key=lambda m: m.received_at)
    assert store.list_queue(Queue.INBOUND) == expected
    assert store.list_queue(Queue.INBOUND, limit=2) == expected[:2]
    assert store.list_queue(Queue.HOLD) == []
    # A claim or a deferral does not change the listing order.
    for lease in store.claim(Queue.INBOUND, 4, LEASE, now=later()):
        assert store.move(lease, Queue.INBOUND, lease.message, due_at=t + 1000 - lease.message.received_at)
    assert store.list_queue(Queue.INBOUND) == expected


def test_ping_and_closed_store(store: Store) -> None:
    store.ping()
    store.close()
    with pytest.raises(StoreError):
        store.ping()
    with pytest.raises(StoreError):
        store.claim(Queue.INBOUND, 1, LEASE)


# -- concurrency


def test_threads_claiming_concurrently_never_share_a_message(store: Store, make_message: Any) -> None:
    items = [make_message() for _ in range(300)]
    for i in range(0, len(items), 50):
        store.accept(items[i : i + 50])
    claimed: list[list[str]] = [[] for _ in range(8)]
    errors: list[BaseException] = []
    start = threading.Barrier(len(claimed))

    def work(mine: list[str]) -> None:
        try:
            start.wait()
            while leases := store.claim(Queue.INBOUND, 3, LEASE):
                for lease in leases:
                    mine.append(lease.message.id)
                    assert store.move(lease, Queue.OUTBOUND, lease.message)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(mine,)) for mine in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    every = [mid for mine in claimed for mid in mine]
    assert Counter(every).most_common(1)[0][1] == 1
    assert set(every) == {m.id for m, _ in items}
    assert store.counts()[Queue.OUTBOUND] == len(items)


def _claim_in_process(url: str, start: Any, results: Any) -> None:
    """A separate process: claim until the queue is empty, report what it got."""
    store = open_store(url)
    got: list[str] = []
    try:
        start.wait()
        while leases := store.claim(Queue.INBOUND, 2, LEASE):
            for lease in leases:
                got.append(lease.message.id)
                if not store.finish(lease):
                    got.append("lost:" + lease.message.id)
    finally:
        store.close()
        results.put(got)


def test_processes_claiming_concurrently_never_share_a_message(store_url: str, store: Store, make_message: Any) -> None:
    items = [make_message() for _ in range(200)]
    store.accept(items)
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(4)
    results = ctx.Queue()
    procs = [ctx.Process(target=_claim_in_process, args=(store_url, start, results)) for _ in range(4)]
    for p in procs:
        p.start()
    got = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join()
        assert p.exitcode == 0
    every = [mid for mine in got for mid in mine]
    assert Counter(every).most_common(1)[0][1] == 1
    assert set(every) == {m.id for m, _ in items}
    assert store.counts()[Queue.INBOUND] == 0


def _accept_in_process(url: str, start: Any, results: Any, ids: list[str]) -> None:
    try:
        start.wait()
        store = open_store(url)  # several processes create the same fresh file at once
        now = time.time()
        from gateway.message import Envelope

        for mid in ids:
            message = QueuedMessage(id=mid, envelope=Envelope("a@example.co.jp", ("b@example.com",)), received_at=now)
            store.accept([(message, mid.encode())])
        store.close()
        results.put("ok")
    except BaseException as e:
        results.put(f"{type(e).__name__}: {e}")


def test_sqlite_processes_opening_a_fresh_file_at_once(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path / 'fresh' / 'gateway.db'}"
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(4)
    results = ctx.Queue()
    ids = [[f"p{p}m{i}" for i in range(20)] for p in range(4)]
    procs = [ctx.Process(target=_accept_in_process, args=(url, start, results, mine)) for mine in ids]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join()
    assert outcomes == ["ok"] * 4
    store = open_store(url)
    try:
        assert store.counts()[Queue.INBOUND] == 80
        assert store.raw("p3m19") == b"p3m19"
    finally:
        store.close()


# -- backend specifics


def test_sqlite_file_settings(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "gateway.db"
    store = SqliteStore(path)
    store.ping()
    store.close()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        conn.commit()
    finally:
        conn.close()
    with pytest.raises(StoreError, match="schema version"):
        SqliteStore(path)


def _wait_until(condition: Any) -> None:
    """Wait for a state the test sets up; the generous limit only turns a broken set-up into a failure."""
    deadline = time.monotonic() + 120
    while not condition():
        assert time.monotonic() < deadline, "the scene was never set up"
        time.sleep(0.001)


def test_sqlite_concurrent_writes_share_one_transaction(tmp_path: Path, make_message: Any) -> None:
    """Writes from many threads that wait together commit together; each keeps its own outcome."""
    path = tmp_path / "gateway.db"
    store = SqliteStore(path)
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        old, old_raw = make_message()
        store.accept([(old, old_raw)])
        stale = claim_one(store)
        current = store.claim(Queue.INBOUND, 1, LEASE, now=later(LEASE + 10))[0]
        writer = store._writer  # the store's write queue, observed to set the scene up

        blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        outcomes: dict[str, Any] = {}

        def call(name: str, fn: Any, *args: Any) -> None:
            try:
                outcomes[name] = fn(*args)
            except BaseException as e:
                outcomes[name] = e

        first = make_message()
        threads = [threading.Thread(target=call, args=("first", store.accept, [first]))]
        submitted = writer.submitted
        threads[0].start()
        # Its caller leads: it took its operation and waits for the lock inside BEGIN IMMEDIATE.
        _wait_until(lambda: writer.submitted == submitted + 1 and writer.waiting() == 0)
        before = store.transactions

        good = [make_message() for _ in range(20)]
        clash = dataclasses.replace(make_message()[0], id=old.id)
        calls: list[tuple[str, Any, tuple[Any, ...]]] = [(f"good{i}", store.accept, ([g],)) for i, g in enumerate(good)]
        calls += [
            ("batch", store.accept, ([make_message(), make_message()],)),
            ("clash", store.accept, ([make_message(), (clash, b"clash")],)),  # all or none: fails alone
            ("stale", store.move, (stale, Queue.OUTBOUND, old)),
            ("current", store.move, (current, Queue.SHUNT, old)),
        ]
        for name, fn, args in calls:
            threads.append(threading.Thread(target=call, args=(name, fn, *args)))
            threads[-1].start()
        _wait_until(lambda: writer.waiting() == len(calls))
        blocker.execute("COMMIT")
        for thread in threads:
            thread.join()

        assert store.transactions - before == 2  # the first alone, then everything that waited
        assert isinstance(outcomes.pop("clash"), StoreError)
        assert outcomes.pop("stale") is False
        assert outcomes.pop("current") is True
        assert outcomes == {name: None for name in outcomes}
        assert store.get(first[0].id) is not None
        assert all(store.get(m.id) is not None for m, _ in good)
        assert store.counts() == {Queue.INBOUND: 1 + 20 + 2, Queue.OUTBOUND: 0, Queue.HOLD: 0, Queue.SHUNT: 1}
        assert store.get(old.id) == (Queue.SHUNT, old)
        assert store.raw(old.id) == old_raw
    finally:
        blocker.close()
        store.close()


def test_sqlite_close_finishes_the_writes_handed_in(tmp_path: Path, make_message: Any) -> None:
    path = tmp_path / "gateway.db"
    store = SqliteStore(path)
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        items = [make_message() for _ in range(10)]
        errors: list[BaseException] = []

        def accept(item: tuple[QueuedMessage, bytes]) -> None:
            try:
                store.accept([item])
            except BaseException as e:
                errors.append(e)

        blocker.execute("BEGIN IMMEDIATE")
        threads = [threading.Thread(target=accept, args=(item,)) for item in items]
        submitted = store._writer.submitted
        for thread in threads:
            thread.start()
        _wait_until(lambda: store._writer.submitted == submitted + len(items))
        closer = threading.Thread(target=store.close)
        closer.start()
        _wait_until(lambda: store._closed)
        with pytest.raises(StoreError):
            store.accept([make_message()])  # nothing new once closing
        blocker.execute("COMMIT")
        closer.join()
        for thread in threads:
            thread.join()
        assert errors == []
    finally:
        blocker.close()
        store.close()
    reopened = SqliteStore(path)
    try:
        assert reopened.counts()[Queue.INBOUND] == 10
    finally:
        reopened.close()


def test_redis_keys_of_one_operation_share_a_hash_slot(redis_url: str, redis_prefix: str, make_message: Any) -> None:
    """Every key a script touches must hash to one slot (Redis Cluster)."""
    from redis.crc import key_slot

    store = RedisStore(redis_url, prefix=redis_prefix)
    try:
        msg, raw = make_message()
        store.accept([(msg, raw)])
        lease = claim_one(store)
        assert store.move(lease, Queue.OUTBOUND, msg, raw=b"new")
        by_id = store.claim_message(Queue.OUTBOUND, msg.id, LEASE)
        assert by_id is not None
        store.release(by_id)
        client = redis.Redis.from_url(redis_url)
        try:
            queue_keys = list(client.scan_iter(match=f"{{{redis_prefix}:q}}:*"))
            data_keys = list(client.scan_iter(match=f"{redis_prefix}:m:*"))
        finally:
            client.close()
        assert len({key_slot(k) for k in queue_keys}) == 1
        assert len(queue_keys) >= 5
        assert data_keys == [f"{redis_prefix}:m:{{{msg.id}}}".encode()]
        # Only the current version of the data is kept.
        client = redis.Redis.from_url(redis_url)
        try:
            assert len(client.hkeys(data_keys[0])) == 2
        finally:
            client.close()
    finally:
        store.close()


def test_redis_warns_when_persistence_is_not_durable(
    redis_url: str, redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        config = {**client.config_get("appendonly"), **client.config_get("appendfsync")}
        config.update(client.config_get("maxmemory-policy"))
    finally:
        client.close()
    durable = config == {"appendonly": "yes", "appendfsync": "always", "maxmemory-policy": "noeviction"}
    with caplog.at_level(logging.WARNING, logger="gateway.store.redis"):
        RedisStore(redis_url, prefix=redis_prefix).close()
    warned = [r for r in caplog.records if "appendfsync always" in r.getMessage()]
    assert len(warned) == (0 if durable else 1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_redis_unreachable_raises_store_error(make_message: Any) -> None:
    store = RedisStore(f"redis://127.0.0.1:{free_port()}/0")
    try:
        with pytest.raises(StoreError):
            store.ping()
        with pytest.raises(StoreError):
            store.accept([make_message()])
        with pytest.raises(StoreError):
            store.get("x")
    finally:
        store.close()


def test_open_store_urls(tmp_path: Path, redis_url: str, redis_prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="unknown scheme"):
        open_store("postgres://localhost/gw")
    with pytest.raises(ValueError):
        open_store("no-scheme")
    monkeypatch.chdir(tmp_path)
    relative = open_store("sqlite://data/gw.db")
    assert isinstance(relative, SqliteStore)
    relative.close()
    assert (tmp_path / "data" / "gw.db").exists()
    remote = open_store(f"{redis_url}?prefix={redis_prefix}")
    assert isinstance(remote, RedisStore)
    assert remote.prefix == redis_prefix
    remote.ping()
    remote.close()
    with pytest.raises(ValueError):
        RedisStore("redis+sentinel://127.0.0.1:26379/")  # no service name
    with pytest.raises(ValueError):
        RedisStore("redis+sentinel://127.0.0.1:26379/mymaster/zero")


# -- group commit


async def test_group_commit_batches_concurrent_callers(store: Store, make_message: Any) -> None:
    committer = GroupCommitter(store, max_batch=64)
    items = [make_message() for _ in range(300)]
    await asyncio.gather(*(committer.accept(m, raw) for m, raw in items))
    assert committer.accepted == 300
    assert committer.commits < 300
    assert committer.commits >= 300 // 64
    assert store.counts()[Queue.INBOUND] == 300
    assert store.raw(items[123][0].id) == items[123][1]
    await committer.close()


async def test_group_commit_mixed_queues_and_close_drains(store: Store, make_message: Any) -> None:
    committer = GroupCommitter(store)
    inbound = [make_message() for _ in range(20)]
    notices = [make_message(is_notice=True) for _ in range(5)]
    tasks = [asyncio.create_task(committer.accept(m, raw)) for m, raw in inbound]
    tasks += [asyncio.create_task(committer.accept(m, raw, Queue.OUTBOUND)) for m, raw in notices]
    await asyncio.sleep(0)  # let every task hand its message in
    await committer.close()
    assert all(t.done() and t.exception() is None for t in tasks)
    counts = store.counts()
    assert (counts[Queue.INBOUND], counts[Queue.OUTBOUND]) == (20, 5)
    with pytest.raises(StoreError):
        await committer.accept(*make_message())


async def test_group_commit_errors_reach_every_caller_of_the_batch(store: Store, make_message: Any) -> None:
    store.close()
    committer = GroupCommitter(store)
    results = await asyncio.gather(*(committer.accept(*make_message()) for _ in range(10)), return_exceptions=True)
    assert all(isinstance(r, StoreError) for r in results)
    await committer.close()


async def test_group_commit_with_unreachable_redis(make_message: Any) -> None:
    store = RedisStore(f"redis://127.0.0.1:{free_port()}/0")
    committer = GroupCommitter(store)
    try:
        results = await asyncio.gather(*(committer.accept(*make_message()) for _ in range(10)), return_exceptions=True)
        assert all(isinstance(r, StoreError) for r in results)
        assert committer.commits == 0
    finally:
        await committer.close()
        store.close()


async def test_group_commit_skips_callers_that_went_away(store: Store, make_message: Any) -> None:
    committer = GroupCommitter(store)
    gone_msg, gone_raw = make_message()
    stay_msg, stay_raw = make_message()
    gone = asyncio.create_task(committer.accept(gone_msg, gone_raw))
    stay = asyncio.create_task(committer.accept(stay_msg, stay_raw))
    await asyncio.sleep(0)
    gone.cancel()  # the SMTP client disconnected before any commit started: no 250, nothing stored
    await stay
    await committer.close()
    assert store.get(stay_msg.id) is not None
    assert store.get(gone_msg.id) is None


@pytest.fixture
def sentinel_url(redis_url: str, redis_prefix: str, tmp_path: Path) -> Iterator[str]:
    """A real Sentinel (redis-server --sentinel) watching the test Redis, as a redis+sentinel URL."""
    parts = urlsplit(redis_url)
    server = shutil.which("redis-server")
    if parts.scheme != "redis" or server is None:
        pytest.skip("needs redis-server and a redis:// test Redis")
    host, port, db = parts.hostname or "127.0.0.1", parts.port or 6379, parts.path.strip("/") or "0"
    sentinel_port = free_port()
    service = f"gwtest{secrets.token_hex(4)}"
    conf = tmp_path / "sentinel.conf"
    conf.write_text(
        f"port {sentinel_port}\nbind 127.0.0.1\ndir {tmp_path}\nsentinel monitor {service} {host} {port} 1\n"
    )
    proc = subprocess.Popen([server, str(conf), "--sentinel"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = redis.Redis(port=sentinel_port, socket_connect_timeout=1)
        for _ in range(100):  # wait until it answers (start-up, not a timing assertion)
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        client.close()
        yield f"redis+sentinel://127.0.0.1:{sentinel_port}/{service}/{db}?prefix={redis_prefix}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_redis_through_sentinel(sentinel_url: str, make_message: Any) -> None:
    store = open_store(sentinel_url)
    try:
        msg, raw = make_message()
        store.accept([(msg, raw)])
        lease = claim_one(store)
        assert store.move(lease, Queue.OUTBOUND, msg)
        assert store.get(msg.id) == (Queue.OUTBOUND, msg)
        assert store.finish(claim_one(store, Queue.OUTBOUND))
        assert store.counts()[Queue.OUTBOUND] == 0
    finally:
        store.close()


# -- raws (small messages read along with a claim) and the writers' file lock


def test_raws_gives_exact_bytes_of_small_messages_only(store: Store, make_message: Any) -> None:
    small, small_raw = make_message(body="small")
    big, big_raw = make_message(body="x" * 5000)
    store.accept([(small, small_raw), (big, big_raw)])
    got = store.raws([small.id, big.id, "no-such-id"], max_bytes=len(small_raw))
    assert got == {small.id: small_raw}  # never a longer message, never an unknown one
    assert store.raws([small.id, big.id], max_bytes=len(big_raw)) == {small.id: small_raw, big.id: big_raw}
    lease = claim_one(store)  # a move that rewrites the bytes: raws reads the current ones
    new_raw = small_raw + b"changed\r\n" if lease.message.id == small.id else big_raw + b"changed\r\n"
    assert store.move(lease, Queue.OUTBOUND, lease.message, raw=new_raw)
    assert store.raws([lease.message.id], max_bytes=len(new_raw)) == {lease.message.id: new_raw}
    assert store.raws([], max_bytes=10) == {}


def test_queue_runner_leases_carry_small_messages_bytes(tmp_path: Path, make_message: Any) -> None:
    from gateway.queue_runner import PREFETCH_BYTES, QueueRunner

    store = SqliteStore(tmp_path / "gateway.db")
    small, small_raw = make_message(body="small")
    big, big_raw = make_message(body="x" * (PREFETCH_BYTES + 1))
    store.accept([(small, small_raw), (big, big_raw)])
    seen: dict[str, bytes | None] = {}

    class Recorder(QueueRunner):
        async def handle(self, lease: Lease) -> None:
            seen[lease.message.id] = lease.raw
            self.store.finish(lease)

    runner = Recorder(store, Queue.INBOUND, concurrency=8, lease_seconds=LEASE, poll_interval=0.01)
    assert asyncio.run(runner.run_once()) == 2
    store.close()
    assert seen == {small.id: small_raw, big.id: None}  # the big one is read when handled


def test_sqlite_writers_wait_for_the_file_lock(tmp_path: Path, make_message: Any) -> None:
    """Every writer of the file (any process, any connection) queues on one flock around its
    transaction; here a second lock on the same file stands for another process's writer."""
    from gateway.store.sqlite_file import WriteLock

    path = tmp_path / "gateway.db"
    store = SqliteStore(path)
    other = WriteLock(str(path))
    done = threading.Event()
    msg, raw = make_message()

    def accept() -> None:
        store.accept([(msg, raw)])
        done.set()

    with other:
        thread = threading.Thread(target=accept)
        thread.start()
        assert not done.wait(0.5)  # blocked on the lock, not failed
    assert done.wait(30)
    thread.join()
    assert store.raw(msg.id) == raw
    other.close()
    store.close()


# -- heartbeat and reclaim (crash recovery in seconds, not after a lease)


def test_renew_keeps_a_lease_and_reports_one_that_was_lost(store: Store, make_message: Any) -> None:
    first, second = make_message(), make_message()
    store.accept([first, second])
    t = later()
    leases = store.claim(Queue.INBOUND, 2, 1.0, now=t)
    assert len(leases) == 2
    mine, lost = leases
    assert store.renew([mine, lost], 10.0, now=t + 0.5) == [True, True]
    # The second one is given back and taken by someone else: renewing it fails, the other still holds.
    store.release(lost)
    assert [x.message.id for x in store.claim(Queue.INBOUND, 5, LEASE, now=t + 0.6)] == [lost.message.id]
    assert store.renew([mine, lost], 10.0, now=t + 5) == [True, False]
    assert store.claim(Queue.INBOUND, 5, LEASE, now=t + 14) == []  # renewed to t + 15: not free yet
    assert store.move(mine, Queue.OUTBOUND, mine.message)
    assert store.renew([mine], 10.0) == [False]  # moved on: nothing to renew
    assert store.renew([], 10.0) == []


def test_reclaim_ends_only_the_leases_of_dead_owners(store_url: str, make_message: Any) -> None:
    ours, theirs = open_store(store_url, node_id="node-a"), open_store(store_url, node_id="node-b")
    try:
        a, b = make_message(), make_message()
        ours.accept([a, b])
        t = later()
        (lease_a,) = ours.claim(Queue.INBOUND, 1, LEASE, now=t)
        (lease_b,) = theirs.claim(Queue.INBOUND, 1, LEASE, now=t)
        assert lease_a.token != lease_b.token
        owners: list[Any] = []

        def dead(owner: Any) -> bool:
            owners.append(owner)
            return bool(owner.node == "node-b")

        assert ours.reclaim(dead, now=t + 1) == [lease_b.message.id]
        assert {o.node for o in owners} == {"node-a", "node-b"}
        assert all(o.pid > 0 for o in owners)
        # Due at once, on its own queue, and the dead owner's lease is fenced off.
        (again,) = ours.claim(Queue.INBOUND, 5, LEASE, now=t + 1)
        assert again.message.id == lease_b.message.id
        assert not theirs.move(lease_b, Queue.OUTBOUND, lease_b.message)
        assert ours.move(lease_a, Queue.OUTBOUND, lease_a.message)
        assert ours.reclaim(lambda owner: False) == []
    finally:
        ours.close()
        theirs.close()


_CLAIM_AND_WAIT = """
import sys, time
from gateway.store import open_store
from gateway.store.base import Queue
store = open_store(sys.argv[1], node_id="node-x")
leases = store.claim(Queue.INBOUND, 10, 300.0, now=time.time() + 1)
print(len(leases), flush=True)
time.sleep(600)
"""


def test_a_killed_process_leases_are_taken_back_at_once(store_url: str, make_message: Any) -> None:
    """A real process claims and is SIGKILLed: the same node sees it is gone (pid and start time)."""
    store = open_store(store_url, node_id="node-x")
    try:
        batch = [make_message() for _ in range(3)]
        store.accept(batch)
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
        child = subprocess.Popen(
            [sys.executable, "-c", _CLAIM_AND_WAIT, store_url], stdout=subprocess.PIPE, env=env, text=True
        )
        try:
            assert child.stdout is not None and child.stdout.readline().strip() == "3"
            assert store.reclaim(lambda owner: is_dead(owner, "node-x")) == []  # alive: kept
            assert store.reclaim(lambda owner: is_dead(owner, "node-y")) == []  # another node: never ours
        finally:
            child.kill()
            child.wait()
        taken = store.reclaim(lambda owner: is_dead(owner, "node-x"))
        assert sorted(taken) == sorted(m.id for m, _ in batch)
        assert len(store.claim(Queue.INBOUND, 10, LEASE, now=later())) == 3
    finally:
        store.close()


def test_sqlite_a_node_whose_processes_are_all_gone_loses_its_leases(tmp_path: Path, make_message: Any) -> None:
    """SQLite: every process using the file is on this kernel; the node holding the file owns the
    leases of a node none of whose processes holds its lock any more (a renamed container, say)."""
    url = f"sqlite:///{tmp_path}/gateway.db"
    ours, theirs = open_store(url, node_id="node-new"), open_store(url, node_id="node-old")
    try:
        msg, raw = make_message()
        ours.accept([(msg, raw)])
        (lease,) = theirs.claim(Queue.INBOUND, 1, LEASE, now=later())
        assert ours.reclaim(lambda owner: False) == []  # node-old still runs
    finally:
        theirs.close()  # its last process is gone
    try:
        assert ours.reclaim(lambda owner: False) == [msg.id]
        assert [x.message.id for x in ours.claim(Queue.INBOUND, 5, LEASE, now=later())] == [msg.id]
        assert lease.token.endswith(f"@node-old/{os.getpid()}/" + lease.token.rsplit("/", 1)[1])
    finally:
        ours.close()
