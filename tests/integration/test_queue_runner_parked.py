"""A queue worker's parked messages (waiting on the inspection pool's OCR lane) free their slot: a
burst of them cannot stall the rest of the queue, and how many may park is bounded."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from gateway.queue_runner import PARKED_PER_SLOT, QueueRunner
from gateway.store.base import Lease, Queue
from gateway.store.sqlite import SqliteStore


class Runner(QueueRunner):
    """Messages whose body says "image" park until `release` is set; the others finish at once."""

    def __init__(self, store: SqliteStore) -> None:
        super().__init__(store, Queue.INBOUND, concurrency=2, lease_seconds=60, poll_interval=0.01)
        self.release = asyncio.Event()
        self.waiting = 0
        self.done: list[str] = []

    def parked(self) -> int:
        return self.waiting

    async def handle(self, lease: Lease) -> None:
        raw = lease.raw if lease.raw is not None else self.store.raw(lease.message.id)
        kind = "image" if b"image" in raw else "plain"
        if kind == "image":
            self.waiting += 1
            try:
                await self.release.wait()
            finally:
                self.waiting -= 1
        self.done.append(kind)
        self.store.finish(lease)


def test_parked_messages_do_not_hold_slots(tmp_path: Path, make_message: Any) -> None:
    store = SqliteStore(tmp_path / "gateway.db")
    images = [make_message(body="image", received_at=1.0 + i) for i in range(3)]
    plain = [make_message(body="plain", received_at=10.0 + i) for i in range(5)]
    store.accept(images)
    store.accept(plain)

    async def scenario() -> list[str]:
        runner = Runner(store)
        stop = asyncio.Event()
        task = asyncio.create_task(runner.run(stop))
        for _ in range(500):
            if runner.done.count("plain") == 5:
                break
            await asyncio.sleep(0.01)
        before_release = list(runner.done)
        runner.release.set()
        for _ in range(500):
            if len(runner.done) == 8:
                break
            await asyncio.sleep(0.01)
        stop.set()
        await task
        return [*before_release, "|", *runner.done[len(before_release) :]]

    order = asyncio.run(scenario())
    store.close()
    assert order == ["plain"] * 5 + ["|"] + ["image"] * 3  # the plain mail went by the parked images


def test_parking_is_bounded(tmp_path: Path, make_message: Any) -> None:
    store = SqliteStore(tmp_path / "gateway.db")
    store.accept([make_message(body="image", received_at=1.0 + i) for i in range(20)])
    store.accept([make_message(body="plain", received_at=100.0)])

    async def scenario() -> tuple[int, int]:
        runner = Runner(store)
        stop = asyncio.Event()
        task = asyncio.create_task(runner.run(stop))
        await asyncio.sleep(0.5)
        in_flight = runner.waiting
        stop.set()
        runner.release.set()
        await task
        return in_flight, len(runner.done)

    in_flight, _ = asyncio.run(scenario())
    store.close()
    # concurrency 2: two slots plus the parked allowance; the rest waits in the queue.
    assert in_flight == 2 + 2 * PARKED_PER_SLOT
