"""The loop every queue worker shares: claim due messages, handle each with bounded concurrency,
stop cleanly: messages in flight get `shutdown_seconds` to finish, the rest are interrupted and
their leases released (due at once), so that nothing waits for a lease to run out."""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
from dataclasses import replace

from gateway.store.base import Lease, Queue, Store, StoreError

log = logging.getLogger(__name__)


# Messages up to this size are read along with their claim (one thread hop for a whole batch).
PREFETCH_BYTES = 256 * 1024
# Parked messages (see QueueRunner.parked) free their slot, up to this many times `concurrency`.
PARKED_PER_SLOT = 2


class QueueRunner(abc.ABC):
    def __init__(
        self,
        store: Store,
        queue: Queue,
        *,
        concurrency: int,
        lease_seconds: float,
        poll_interval: float,
        shutdown_seconds: float = 30.0,
    ) -> None:
        self.store = store
        self.shutdown_seconds = shutdown_seconds
        self.queue = queue
        self.concurrency = concurrency
        self.lease_seconds = lease_seconds
        self.poll_interval = poll_interval
        # Claim in batches: with every slot busy, wait until a quarter are free rather than claiming
        # (one store transaction) for each message that finishes.
        self.claim_batch = max(1, concurrency // 4)
        self._running: set[asyncio.Task[None]] = set()

    @abc.abstractmethod
    async def handle(self, lease: Lease) -> None:
        """Process one claimed message; must end by moving, finishing or releasing it."""

    def parked(self) -> int:
        """Messages in flight that wait on a resource with a capacity of its own (the inspection pool's
        OCR lane): they do not hold a slot, so that a burst of them cannot stall everything else."""
        return 0

    def _busy(self) -> int:
        return len(self._running) - min(self.parked(), self.concurrency * PARKED_PER_SLOT)

    async def run_once(self) -> int:
        """Claim what is due now and handle it all; returns how many messages were handled."""
        leases = await asyncio.to_thread(self._claim_with_raw, self.concurrency)
        await asyncio.gather(*(self._handle_logged(lease) for lease in leases))
        return len(leases)

    async def run(self, stop: asyncio.Event) -> None:
        stopping = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                free = self.concurrency - self._busy()
                if free < self.claim_batch and self._running:
                    # Woken by a message that finishes, or by the poll interval (one may have parked).
                    await asyncio.wait(
                        {stopping, *self._running}, timeout=self.poll_interval, return_when=asyncio.FIRST_COMPLETED
                    )
                    continue
                leases = await self._claim(free)
                for lease in leases:
                    task = asyncio.create_task(self._handle_logged(lease))
                    self._running.add(task)
                    task.add_done_callback(self._running.discard)
                if len(leases) < free:  # the queue is drained for now
                    await asyncio.wait({stopping}, timeout=self.poll_interval)
        finally:
            stopping.cancel()
            await self._drain()

    async def _drain(self) -> None:
        """Let the messages in flight finish within shutdown_seconds; interrupt (and release) the rest."""
        if not self._running:
            return
        _, late = await asyncio.wait(set(self._running), timeout=self.shutdown_seconds)
        if late:
            log.warning(
                "%s queue: %d message(s) interrupted at shutdown; given back to the queue", self.queue, len(late)
            )
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    async def _handle_logged(self, lease: Lease) -> None:
        """A handler that fails leaves the lease to run out, so the message is taken up again; one
        interrupted at shutdown gives its lease back at once."""
        try:
            await self.handle(lease)
        except asyncio.CancelledError:
            with contextlib.suppress(StoreError):  # else the lease runs out instead
                await asyncio.shield(asyncio.to_thread(self.store.release, lease))
            raise
        except Exception:
            log.exception("%s queue: handling %s failed; it will be retried", self.queue, lease.message.id)

    def _claim_with_raw(self, limit: int) -> list[Lease]:
        """Claim, and read the small messages' bytes in the same thread hop (Lease.raw)."""
        leases = self.store.claim(self.queue, limit, self.lease_seconds)
        if not leases:
            return leases
        try:
            raws = self.store.raws([lease.message.id for lease in leases], PREFETCH_BYTES)
        except StoreError:  # the claim holds: each message's bytes are read again when handled
            return leases
        return [replace(lease, raw=raws.get(lease.message.id)) for lease in leases]

    async def _claim(self, limit: int) -> list[Lease]:
        try:
            return await asyncio.to_thread(self._claim_with_raw, limit)
        except StoreError as e:
            log.warning("%s queue: store unavailable (%s); retrying", self.queue, e)
            return []
