"""The loop every queue worker shares: claim due messages, handle each with bounded concurrency,
stop cleanly: messages in flight get `shutdown_seconds` to finish, the rest are interrupted and
their leases released (due at once), so that nothing waits for a lease to run out.

Every failure path ends: an exception escaping a worker's handler counts a failure on the message
(`QueuedMessage.failures`, stored with it; a StoreError is the store's, not the message's, and is
only retried) and puts it back on its queue after a doubling wait; at
`worker.max_failures` it goes to the shunt queue with the error, for an administrator
(`gateway queue list shunt`, the admin page), and `on_shunt` tells the sender where a human must act.
One log line (with the traceback) per failure, never a silent retry at every lease expiry.

A message put on the queue by this process (received, relayed, released from hold) or by another
process of the node (gateway.processes.Doorbells) wakes the worker at once (`Store.watch`), though
not sooner than WAKE_GAP after its last claim; `worker.poll_interval` is the fallback that finds the
work of other nodes and messages that came due. A wake-up is a flag the worker clears just before it
claims: one that comes during a claim, or while every slot is busy, leaves the flag set, and the
worker claims again as soon as it can take more; many wake-ups before a claim are one claim. One
worker per queue and process watches, so a wake-up sets off one claim, not a herd.

Leases are short (`worker.lease_seconds`) and renewed by a heartbeat every third of that while a
message is being worked on, however long the scan or delivery takes; so when a node dies, the others
take its messages over within one lease. When a process of this node died (a crash, SIGKILL), the
runner takes its leases back at once, at start and every few seconds (`Store.reclaim` with the
owner in each lease token, gateway.store.owner), instead of waiting for them to run out.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import replace

from gateway.logsetup import describe_error
from gateway.message import QueuedMessage
from gateway.store.base import Lease, Queue, Store, StoreError
from gateway.store.owner import default_node_id, is_dead

log = logging.getLogger(__name__)


# Messages up to this size are read along with their claim (one thread hop for a whole batch).
PREFETCH_BYTES = 256 * 1024
# Parked messages (see QueueRunner.parked) free their slot, up to this many times `concurrency`.
PARKED_PER_SLOT = 2
DEFAULT_MAX_FAILURES = 5
STORE_ERRORS_FREE = 20  # store errors on one message retried at once before they count as failures
RECLAIM_SECONDS = 5.0  # how often a running worker looks for leases of this node's dead processes
# A wake-up claims at once, but not sooner than this (or the poll interval, if shorter) after the last
# claim: a lone message goes at once, a steady stream is taken several messages per claim (each claim
# is a store transaction and thread hops: at 50 messages/s, bench/e2e.py, the first process spent 8.5 ms
# per message with a claim per message, 6.3 with one per 0.1 s, which adds at most 0.1 s per queue).
WAKE_GAP = 0.1

# Called once a message was moved to the shunt queue (the sender's notice); gets its raw bytes if known.
OnShunt = Callable[[QueuedMessage, bytes | None], Awaitable[object]]


class Wakeup:
    """Set from any thread (the store's, once a write is durable); cleared by the worker on its loop
    just before it claims. Only the first set after a clear crosses threads (one write to the loop's
    self-pipe): the claim that follows the clear sees every message put before any later set."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._thread = threading.get_ident()
        self._pending = False
        self.event = asyncio.Event()

    def set(self) -> None:
        if self._pending:
            return
        self._pending = True
        if threading.get_ident() == self._thread:
            self.event.set()
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed: nothing left to wake
            self._loop.call_soon_threadsafe(self.event.set)

    def clear(self) -> None:
        self._pending = False
        self.event.clear()


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
        max_failures: int = DEFAULT_MAX_FAILURES,
        failure_delay: Callable[[int], float] = lambda failures: 30.0 * 2 ** min(failures - 1, 7),
        on_shunt: OnShunt | None = None,
    ) -> None:
        self.store = store
        self.shutdown_seconds = shutdown_seconds
        self.queue = queue
        self.concurrency = concurrency
        self.lease_seconds = lease_seconds
        self.poll_interval = poll_interval
        self.max_failures = max_failures
        self.failure_delay = failure_delay
        self.on_shunt = on_shunt
        # Claim in batches: with every slot busy, wait until a quarter are free rather than claiming
        # (one store transaction) for each message that finishes.
        self.claim_batch = max(1, concurrency // 4)
        self._running: set[asyncio.Task[None]] = set()
        self._held: dict[str, Lease] = {}  # leases being worked on: the heartbeat renews them
        self._store_errors: Counter[str] = Counter()  # message id -> store errors in a row, not yet counted

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
        heartbeat = asyncio.create_task(self._heartbeat())
        try:
            await asyncio.gather(*(self._handle_logged(lease) for lease in leases))
        finally:
            heartbeat.cancel()
        return len(leases)

    async def run(self, stop: asyncio.Event) -> None:
        stopping = asyncio.create_task(stop.wait())
        heartbeat = asyncio.create_task(self._heartbeat())
        loop = asyncio.get_running_loop()
        wakeup = Wakeup(loop)
        unwatch = self.store.watch(self.queue, wakeup.set)
        woken = asyncio.create_task(wakeup.event.wait())
        next_reclaim = 0.0  # at once: a restarted node takes up what its dead processes held
        try:
            while not stop.is_set():
                if loop.time() >= next_reclaim:
                    await self.reclaim_dead()
                    next_reclaim = loop.time() + RECLAIM_SECONDS
                free = self.concurrency - self._busy()
                if free < self.claim_batch and self._running:
                    # Woken by a message that finishes, or by the poll interval (one may have parked);
                    # a wake-up meanwhile stays set for the claim that follows.
                    await asyncio.wait(
                        {stopping, *self._running}, timeout=self.poll_interval, return_when=asyncio.FIRST_COMPLETED
                    )
                    continue
                wakeup.clear()
                last_claim = loop.time()
                leases = await self._claim(free)
                for lease in leases:
                    task = asyncio.create_task(self._handle_logged(lease))
                    self._running.add(task)
                    task.add_done_callback(self._running.discard)
                if len(leases) < free:  # the queue is drained for now: until a wake-up or the next poll
                    if woken.done():
                        woken = asyncio.create_task(wakeup.event.wait())
                    await asyncio.wait(
                        {stopping, woken}, timeout=self.poll_interval, return_when=asyncio.FIRST_COMPLETED
                    )
                    gap = min(WAKE_GAP, self.poll_interval) - (loop.time() - last_claim)
                    if woken.done() and gap > 0:
                        await asyncio.wait({stopping}, timeout=gap)
        finally:
            unwatch()
            woken.cancel()
            stopping.cancel()
            await self._drain()
            heartbeat.cancel()

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

    async def reclaim_dead(self) -> list[str]:
        """Take back the leases of this node's processes that are gone (due now on their queues)."""
        node = self.store.node_id or default_node_id()
        try:
            taken = await asyncio.to_thread(self.store.reclaim, lambda owner: is_dead(owner, node))
        except StoreError as e:
            log.warning("%s queue: could not look for leases of dead processes: %s", self.queue, e)
            return []
        if taken:
            log.warning("%s queue: took back %d message(s) held by dead processes of this node", self.queue, len(taken))
        return taken

    async def _heartbeat(self) -> None:
        """Renew the leases being worked on, every third of a lease, until cancelled."""
        interval = self.lease_seconds / 3
        while True:
            await asyncio.sleep(interval)
            leases = list(self._held.values())
            if not leases:
                continue
            try:
                renewed = await asyncio.to_thread(self.store.renew, leases, self.lease_seconds)
            except StoreError as e:  # the next beat tries again; the lease may run out meanwhile
                log.warning("%s queue: leases not renewed: %s", self.queue, e)
                continue
            for lease, ok in zip(leases, renewed, strict=True):
                if not ok and self._held.get(lease.message.id) is lease:
                    log.warning("%s queue: the lease on %s was lost; another may have it", self.queue, lease.message.id)

    async def _handle_logged(self, lease: Lease) -> None:
        """A handler that fails counts a failure on the message: retried later, or shunted at the limit.
        One interrupted at shutdown gives its lease back at once."""
        self._held[lease.message.id] = lease
        try:
            await self.handle(lease)
            self._store_errors.pop(lease.message.id, None)
        except asyncio.CancelledError:
            with contextlib.suppress(StoreError):  # else the lease runs out instead
                await asyncio.shield(asyncio.to_thread(self.store.release, lease))
            raise
        except Exception as e:
            await self.failed(lease, e)
        finally:
            if self._held.get(lease.message.id) is lease:
                del self._held[lease.message.id]

    async def failed(self, lease: Lease, error: BaseException) -> None:
        """Count a failure on the leased message; back on its queue after a wait, or to the shunt queue.

        The store failing (StoreError: Redis restarting, a disk error) is not the message's fault: the
        lease is given back (due at once; it runs out if the store is still down) without counting, up
        to STORE_ERRORS_FREE times in a row for one message in this process; then it counts as well."""
        message = lease.message
        if isinstance(error, StoreError):
            self._store_errors[message.id] += 1
            if self._store_errors[message.id] <= STORE_ERRORS_FREE:
                log.warning("%s queue: store error on %s (retried, not counted): %s", self.queue, message.id, error)
                with contextlib.suppress(StoreError):
                    await asyncio.to_thread(self.store.release, lease)
                return
        self._store_errors.pop(message.id, None)
        message.failures += 1
        message.last_error = describe_error(error)
        n, limit = message.failures, self.max_failures
        if n < limit:
            delay = self.failure_delay(n)
            log.error(
                "%s queue: handling %s failed (failure %d of %d), retry in %.0f s: %s",
                self.queue,
                message.id,
                n,
                limit,
                delay,
                message.last_error,
                exc_info=error,
            )
            await self._put(lease, self.queue, message, time.time() + delay)
            return
        message.shunt_reason = f"{self.queue} worker failed {n} times: {message.last_error}"[:500]
        log.error(
            "%s queue: handling %s failed (failure %d of %d), shunted for an administrator: %s",
            self.queue,
            message.id,
            n,
            limit,
            message.last_error,
            exc_info=error,
        )
        if await self._put(lease, Queue.SHUNT, message, None) and self.on_shunt is not None:
            try:
                await self.on_shunt(message, lease.raw)
            except Exception as e:  # the admin still sees it on the shunt queue
                log.error(
                    "%s queue: %s shunted; the sender's notice failed: %s", self.queue, message.id, describe_error(e)
                )

    async def _put(self, lease: Lease, queue: Queue, message: QueuedMessage, due: float | None) -> bool:
        try:
            if await asyncio.to_thread(self.store.move, lease, queue, message, due_at=due):
                return True
            log.warning("%s queue: %s was taken over meanwhile; its failure is not recorded", self.queue, message.id)
        except StoreError as e:  # the lease runs out and the message is taken up again
            log.warning("%s queue: could not record the failure of %s: %s", self.queue, message.id, e)
        return False

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
