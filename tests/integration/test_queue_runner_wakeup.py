"""A message this process puts on a queue wakes that queue's worker at once (Store.watch), whatever
the poll interval; one put while the worker is busy is claimed once a slot is free, not at the next
poll; messages put by another process (another store object here) are found by polling."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from gateway.message import QueuedMessage
from gateway.processes import Doorbells
from gateway.queue_runner import QueueRunner, Wakeup
from gateway.store import open_store
from gateway.store.base import Lease, Queue, Store
from gateway.store.sqlite import SqliteStore

LONG_POLL = 60.0  # no message in these tests may wait for a poll but the one from another process


class Runner(QueueRunner):
    """Records what it handled; moves inbound mail on to `forward` (if set), else finishes it.
    While `gate` is clear, a message whose body says "slow" waits for it."""

    def __init__(self, store: Store, queue: Queue, poll_interval: float = LONG_POLL, concurrency: int = 4) -> None:
        super().__init__(store, queue, concurrency=concurrency, lease_seconds=60, poll_interval=poll_interval)
        self.forward: Queue | None = None
        self.gate = asyncio.Event()
        self.gate.set()
        self.handled: list[str] = []
        self.claims = 0
        self.after_claim: list[tuple[QueuedMessage, bytes]] = []  # accepted once a claim has read the queue

    async def _claim(self, limit: int) -> list[Lease]:
        self.claims += 1
        leases = await super()._claim(limit)
        if self.after_claim:
            await asyncio.to_thread(self.store.accept, [self.after_claim.pop()])
        return leases

    async def handle(self, lease: Lease) -> None:
        raw = lease.raw if lease.raw is not None else self.store.raw(lease.message.id)
        if b"slow" in raw:
            await self.gate.wait()
        if self.forward is not None:
            assert await asyncio.to_thread(self.store.move, lease, self.forward, lease.message)
        else:
            assert await asyncio.to_thread(self.store.finish, lease)
        self.handled.append(lease.message.id)


async def until(condition: Any, timeout: float = 10.0) -> bool:
    for _ in range(int(timeout / 0.01)):
        if condition():
            return True
        await asyncio.sleep(0.01)
    return bool(condition())


def test_a_message_put_by_this_process_wakes_its_queue_worker(tmp_path: Path, make_message: Any) -> None:
    """Accepted (from a thread, as the group commit does) → the inbound worker; moved on → the
    outbound worker: both at once, with a poll interval of a minute."""
    store = SqliteStore(tmp_path / "gateway.db")
    message, raw = make_message()

    async def scenario() -> tuple[list[str], list[str]]:
        inbound, outbound = Runner(store, Queue.INBOUND), Runner(store, Queue.OUTBOUND)
        inbound.forward = Queue.OUTBOUND
        stop = asyncio.Event()
        tasks = [asyncio.create_task(r.run(stop)) for r in (inbound, outbound)]
        assert await until(lambda: inbound.claims and outbound.claims)  # both idle now, till the poll
        await asyncio.to_thread(store.accept, [(message, raw)])
        await until(lambda: outbound.handled)
        stop.set()
        await asyncio.gather(*tasks)
        return inbound.handled, outbound.handled

    assert asyncio.run(scenario()) == ([message.id], [message.id])
    assert store._watchers == ()  # the workers stopped watching when they stopped
    store.close()


def test_a_wake_up_while_every_slot_is_busy_is_not_lost(tmp_path: Path, make_message: Any) -> None:
    store = SqliteStore(tmp_path / "gateway.db")
    slow, later = make_message(body="slow"), make_message(body="quick")

    async def scenario() -> list[str]:
        runner = Runner(store, Queue.INBOUND, concurrency=1)
        runner.gate.clear()
        stop = asyncio.Event()
        task = asyncio.create_task(runner.run(stop))
        assert await until(lambda: runner.claims)
        await asyncio.to_thread(store.accept, [slow])
        assert await until(lambda: runner.claims >= 2)  # the slow one is claimed: the only slot busy
        await asyncio.to_thread(store.accept, [later])  # the wake-up comes while the worker cannot claim
        await asyncio.sleep(0.2)
        runner.gate.set()
        await until(lambda: len(runner.handled) == 2)
        stop.set()
        await task
        return runner.handled

    assert asyncio.run(scenario()) == [slow[0].id, later[0].id]
    store.close()


def test_a_wake_up_during_a_claim_is_not_lost(tmp_path: Path, make_message: Any) -> None:
    """The claim has read an empty queue when the message arrives: the worker claims again at once."""
    store = SqliteStore(tmp_path / "gateway.db")
    message = make_message()

    async def scenario() -> list[str]:
        runner = Runner(store, Queue.INBOUND)
        runner.after_claim.append(message)
        stop = asyncio.Event()
        task = asyncio.create_task(runner.run(stop))
        await until(lambda: runner.handled)
        stop.set()
        await task
        return runner.handled

    assert asyncio.run(scenario()) == [message[0].id]
    store.close()


def test_a_message_due_later_or_put_elsewhere_does_not_wake(store_url: str, make_message: Any) -> None:
    """Every backend: accept and a move due now wake this store object's watchers of that queue; a
    deferral (move with due_at) and another store object's accept (another process) do not."""
    store, other = open_store(store_url), open_store(store_url)
    calls: list[str] = []
    unwatch = store.watch(Queue.OUTBOUND, lambda: calls.append("outbound"))
    store.watch(Queue.INBOUND, lambda: calls.append("inbound"))
    other.accept([make_message()])
    assert calls == []
    store.accept([make_message()])
    assert calls == ["inbound"]
    (lease,) = store.claim(Queue.INBOUND, 1, 60)
    assert store.move(lease, Queue.OUTBOUND, lease.message, due_at=lease.message.received_at + 3600)
    assert calls == ["inbound"]
    (lease,) = store.claim(Queue.INBOUND, 1, 60)
    assert store.move(lease, Queue.OUTBOUND, lease.message)
    assert calls == ["inbound", "outbound"]
    store.release(store.claim(Queue.OUTBOUND, 1, 60)[0])  # given back unchanged: no wake-up (shutdown, store errors)
    assert calls == ["inbound", "outbound"]
    unwatch()
    store.accept([make_message()], Queue.OUTBOUND)
    assert calls == ["inbound", "outbound"]
    store.close()
    other.close()


def test_work_of_another_process_is_found_by_polling(tmp_path: Path, make_message: Any) -> None:
    async def scenario(poll_interval: float, wait: float, directory: Path) -> list[str]:
        directory.mkdir()
        store = SqliteStore(directory / "gateway.db")
        other = SqliteStore(directory / "gateway.db")  # another process's store: its writes wake nobody here
        runner = Runner(store, Queue.INBOUND, poll_interval=poll_interval)
        stop = asyncio.Event()
        task = asyncio.create_task(runner.run(stop))
        assert await until(lambda: runner.claims)
        await asyncio.to_thread(other.accept, [make_message()])
        await until(lambda: runner.handled, wait)
        stop.set()
        await task
        store.close()
        other.close()
        return runner.handled

    assert asyncio.run(scenario(LONG_POLL, 0.5, tmp_path / "a")) == []  # no wake-up across store objects
    assert len(asyncio.run(scenario(0.2, 10.0, tmp_path / "b"))) == 1


def test_wakeup_crosses_threads_once_until_cleared() -> None:
    async def scenario() -> list[bool]:
        wakeup = Wakeup(asyncio.get_running_loop())
        seen = [wakeup.event.is_set()]
        threads = [threading.Thread(target=wakeup.set) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        await asyncio.wait_for(wakeup.event.wait(), 5)
        seen.append(wakeup.event.is_set())
        wakeup.clear()
        seen.append(wakeup.event.is_set())
        wakeup.set()  # on the loop's own thread: set at once
        seen.append(wakeup.event.is_set())
        return seen

    assert asyncio.run(scenario()) == [False, True, False, True]


def test_doorbells_carry_a_wake_up_to_the_process_that_works_the_queue(tmp_path: Path, make_message: Any) -> None:
    """Two store objects stand for two processes of a node: the one that receives rings, the one that
    runs the pipeline hears it (once for many rings) and wakes its watchers of the inbound queue."""
    receiver, first = SqliteStore(tmp_path / "gateway.db"), SqliteStore(tmp_path / "gateway.db")
    bells = Doorbells()
    heard: list[Queue] = []
    first.watch(Queue.INBOUND, lambda: heard.append(Queue.INBOUND))
    first.watch(Queue.OUTBOUND, lambda: heard.append(Queue.OUTBOUND))

    async def scenario() -> list[Queue]:
        loop = asyncio.get_running_loop()
        stops = [bells.connect(receiver, loop, []), bells.connect(first, loop, [Queue.INBOUND])]
        for _ in range(3):  # three rings before the loop reads the pipe: one wake-up
            receiver.accept([make_message()])
        await until(lambda: heard)
        await asyncio.sleep(0.1)
        for stop in stops:
            stop()
        return heard

    assert asyncio.run(scenario()) == [Queue.INBOUND]
    receiver.close()
    first.close()
