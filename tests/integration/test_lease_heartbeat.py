"""Short leases renewed by a heartbeat (both backends): work that lasts many leases keeps its message,
no other worker takes it meanwhile; once the worker stops beating (its node died), another node takes
the message over within a lease."""

from __future__ import annotations

import asyncio
import time

from gateway.queue_runner import QueueRunner
from gateway.store import open_store
from gateway.store.base import Lease, Queue
from tests.conftest import MakeMessage

LEASE = 0.6


class SlowWorker(QueueRunner):
    """Works `seconds` on each message, then finishes it; records what it took."""

    def __init__(self, store_url: str, node: str, seconds: float) -> None:
        super().__init__(
            open_store(store_url, node_id=node), Queue.INBOUND, concurrency=2, lease_seconds=LEASE, poll_interval=0.05
        )
        self.seconds = seconds
        self.took: list[tuple[str, float]] = []
        self.finished: list[str] = []

    async def handle(self, lease: Lease) -> None:
        self.took.append((lease.message.id, time.monotonic()))
        await asyncio.sleep(self.seconds)
        if await asyncio.to_thread(self.store.finish, lease):
            self.finished.append(lease.message.id)


async def test_heartbeat_keeps_long_work_and_a_dead_node_is_taken_over(
    store_url: str, make_message: MakeMessage
) -> None:
    msg, raw = make_message()
    first = SlowWorker(store_url, "node-1", seconds=8 * LEASE)  # the work lasts eight leases
    second = SlowWorker(store_url, "node-2", seconds=0.0)
    first.store.accept([(msg, raw)])
    stop_first, stop_second = asyncio.Event(), asyncio.Event()
    running_first = asyncio.create_task(first.run(stop_first))
    while not first.took:
        await asyncio.sleep(0.01)
    running_second = asyncio.create_task(second.run(stop_second))
    try:
        await asyncio.sleep(4 * LEASE)
        assert second.took == []  # renewed: never free for the other node
        # The first node dies: its work and its heartbeat stop dead (a dead process neither releases
        # nor renews anything).
        first.store.release = lambda lease: None  # type: ignore[method-assign]
        for task in (*first._running, running_first):
            task.cancel()
        died = time.monotonic()
        while not second.finished and time.monotonic() - died < 20 * LEASE:
            await asyncio.sleep(0.02)
        assert second.finished == [msg.id]
        taken_after = second.took[0][1] - died
        assert taken_after <= LEASE + 1.0  # within a lease of the last heartbeat (plus polling slack)
    finally:
        stop_second.set()
        await running_second
        running_first.cancel()
        first.store.close()
        second.store.close()
    assert first.finished == []
