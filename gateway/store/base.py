"""The one small store interface. Backends: sqlite (embedded default) and redis (scale-out).

Every message lives on exactly one queue at a time. Queues are lease-based: `claim` hands a due
message to one worker for `lease_seconds`; if the worker dies, the lease runs out and another worker
claims it again (at-least-once). Every change after a claim is fenced by the lease token, so a worker
whose lease ran out cannot overwrite the work of the one that took over.

Leases are short and renewed (`renew`, a heartbeat) while the work goes on, so a dead node's messages
are taken over soon, however long the work. Each lease token names its owner (node, pid, process start
time: gateway.store.owner), and `reclaim` ends at once the leases of processes known to be dead: a node
that restarts after a crash takes up its in-flight mail within seconds, not after the lease.

All methods are blocking (sqlite3, redis-py); async code calls them through a thread
(`asyncio.to_thread`) and never on the SMTP event loop directly.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from gateway.message import QueuedMessage
from gateway.store.owner import Owner


class Queue(StrEnum):
    INBOUND = "inbound"  # accepted (250 given), waiting for the pipeline
    OUTBOUND = "outbound"  # decided "relay", waiting for (re)delivery
    HOLD = "hold"  # held for a person to confirm/approve (later issues)
    SHUNT = "shunt"  # the pipeline could not process it: for a human, never dropped, never passed


class StoreError(Exception):
    """The store could not do what was asked (connection lost, disk full ...). Callers answer 4xx."""


class DispositionLost(Exception):
    """The lease ran out while the message was being processed; another worker owns it now."""


@dataclass(frozen=True)
class Lease:
    """A claimed message: the worker holding it may move, defer or finish it until the lease runs out."""

    message: QueuedMessage
    queue: Queue
    token: str
    # The raw bytes, when read along with the claim (small messages, see Store.raws); else None.
    raw: bytes | None = field(default=None, repr=False, compare=False)


class Store(abc.ABC):
    node_id: str | None = None  # this node's name in lease tokens (None: the host name)
    _watchers: tuple[tuple[Queue, Callable[[], None]], ...] = ()

    def watch(self, queue: Queue, wake: Callable[[], None]) -> Callable[[], None]:
        """Call `wake()` each time this store object puts messages on `queue` due now (`accept`, and
        `move` without `due_at`), once they are durable, in the thread that wrote them: a queue worker
        of this process takes them at once instead of at its next poll (queue_runner). Messages put by
        other nodes, or due later, are found by polling. Returns the call that stops it."""
        entry = (queue, wake)
        self._watchers = (*self._watchers, entry)

        def unwatch() -> None:
            self._watchers = tuple(e for e in self._watchers if e is not entry)

        return unwatch

    def due_now(self, queue: Queue) -> None:
        """Messages were put on `queue`, due now: by this store object (its backend calls this after
        the write), or by another process of this node (its doorbell, gateway.processes)."""
        for watched, wake in self._watchers:
            if watched == queue:
                wake()

    @abc.abstractmethod
    def accept(self, items: Sequence[tuple[QueuedMessage, bytes]], queue: Queue = Queue.INBOUND) -> None:
        """Durably store new messages with their raw bytes, all or none, due now.

        Returns only after the data is on disk (sqlite: committed with synchronous=FULL; redis: the
        server's AOF with appendfsync always). Several messages in one call share one commit (group
        commit). Raises StoreError on any failure.
        """

    @abc.abstractmethod
    def claim(self, queue: Queue, limit: int, lease_seconds: float, now: float | None = None) -> list[Lease]:
        """Lease up to `limit` messages from `queue` that are due (due_at <= now) and not leased."""

    @abc.abstractmethod
    def claim_message(
        self, queue: Queue, message_id: str, lease_seconds: float, now: float | None = None
    ) -> Lease | None:
        """Lease that one message if it is on `queue` and not leased (due or not), else None.

        For acting on one known message (release a held one, an admin's requeue). A lease that ran
        out counts as not leased, as in `claim`; the lease is fenced like one from `claim`.
        """

    @abc.abstractmethod
    def renew(self, leases: Sequence[Lease], lease_seconds: float, now: float | None = None) -> list[bool]:
        """The heartbeat: every lease still held now runs until now + lease_seconds. One bool per
        lease: False for one that was lost (ran out and was taken over, or the message moved on)."""

    @abc.abstractmethod
    def reclaim(self, dead: Callable[[Owner], bool], now: float | None = None) -> list[str]:
        """End every lease whose owner `dead(owner)` says is gone: its message is due now, on the same
        queue, as after `release`. Returns the ids of the messages taken back."""

    @abc.abstractmethod
    def raw(self, message_id: str) -> bytes:
        """The message's current raw bytes. Raises KeyError if unknown."""

    def raws(self, message_ids: Sequence[str], max_bytes: int) -> dict[str, bytes]:
        """The raw bytes of those messages no longer than max_bytes, in one call (others left out).

        Lets a queue worker read small messages along with its claim instead of one call each.
        The default reads nothing: callers fall back to raw()."""
        return {}

    @abc.abstractmethod
    def move(
        self,
        lease: Lease,
        queue: Queue,
        message: QueuedMessage,
        *,
        raw: bytes | None = None,
        due_at: float | None = None,
    ) -> bool:
        """Put the leased message on `queue` (may be the same queue: a deferral), lease released.

        Stores `message`'s fields (pending/delivered/failed/attempts ...) and, if given, new raw bytes.
        `due_at` None means due now. Returns False (changing nothing) if the lease was lost.
        """

    @abc.abstractmethod
    def finish(self, lease: Lease) -> bool:
        """The message is done (delivered, or given up and noticed): remove it and its raw bytes.

        Returns False (changing nothing) if the lease was lost.
        """

    @abc.abstractmethod
    def release(self, lease: Lease) -> None:
        """Give the lease back unchanged, due now (graceful shutdown). Silently ignores a lost lease."""

    @abc.abstractmethod
    def get(self, message_id: str) -> tuple[Queue, QueuedMessage] | None:
        """The message and the queue it is on, or None."""

    @abc.abstractmethod
    def list_queue(self, queue: Queue, limit: int = 100) -> list[QueuedMessage]:
        """Messages on a queue, oldest first (for admins: `gateway queue list`)."""

    @abc.abstractmethod
    def counts(self) -> dict[Queue, int]:
        """Number of messages on every queue."""

    @abc.abstractmethod
    def ping(self) -> None:
        """Raise StoreError if the store cannot be reached (health checks)."""

    @abc.abstractmethod
    def close(self) -> None: ...
