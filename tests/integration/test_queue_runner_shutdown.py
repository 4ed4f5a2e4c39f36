"""Shutdown of a queue worker: messages in flight get worker.shutdown_seconds to finish; the rest are
interrupted and their leases given back, due at once, so that nothing waits for a lease to run out."""

from __future__ import annotations

import asyncio

from gateway.queue_runner import QueueRunner
from gateway.store.base import Lease, Queue, Store
from tests.conftest import MakeMessage


class Runner(QueueRunner):
    def __init__(self, store: Store, block: bool) -> None:
        super().__init__(
            store, Queue.INBOUND, concurrency=4, lease_seconds=300, poll_interval=0.01, shutdown_seconds=0.3
        )
        self.block = block
        self.started = asyncio.Event()
        self.finished: list[str] = []

    async def handle(self, lease: Lease) -> None:
        self.started.set()
        if self.block:
            await asyncio.Event().wait()  # a next hop that never answers
        await asyncio.sleep(0.05)
        await asyncio.to_thread(self.store.finish, lease)
        self.finished.append(lease.message.id)


async def run_then_stop(runner: Runner) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    await asyncio.wait_for(runner.started.wait(), 10)
    stop.set()
    await asyncio.wait_for(task, 10)


async def test_a_stuck_message_is_given_back_due_at_once(store: Store, make_message: MakeMessage) -> None:
    message, raw = make_message()
    store.accept([(message, raw)])
    await run_then_stop(Runner(store, block=True))
    # Released, not left leased for 300 s: another worker claims it right away.
    (lease,) = store.claim(Queue.INBOUND, 10, 30)
    assert lease.message.id == message.id


async def test_messages_in_flight_finish_within_the_grace(store: Store, make_message: MakeMessage) -> None:
    message, raw = make_message()
    store.accept([(message, raw)])
    runner = Runner(store, block=False)
    await run_then_stop(runner)
    assert runner.finished == [message.id]
    assert store.get(message.id) is None
