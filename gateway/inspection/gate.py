"""Which waiting message gets the next free inspection worker: small messages first.

A plain mail takes milliseconds to inspect, a mail with a 500 KB spreadsheet a good part of a second;
first come, first served would make every plain mail behind two attachments wait for them. So a free
worker goes to the smallest waiting message (below `small_bytes` all count as small, in arrival order),
except that a message that has waited `max_wait` seconds goes first (no starvation under load).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class _Waiter(Generic[T]):
    size: int
    since: float
    seq: int
    ready: threading.Event = field(default_factory=threading.Event)
    item: T | None = None


class SmallFirstGate(Generic[T]):
    """A free item goes straight to the waiter chosen for it, and only that thread wakes: with dozens
    of requests waiting for two workers, waking them all on every hand-over (a Condition's notify_all)
    cost more CPU than the pipeline's own work on a plain mail. The choice (small first, the long
    waiter before all) is made when an item is handed over, so nobody needs to wake up to re-check."""

    def __init__(
        self, small_bytes: int = 64 * 1024, max_wait: float = 5.0, clock: Callable[[], float] = time.monotonic
    ):
        self.small_bytes = small_bytes
        self.max_wait = max_wait
        self.clock = clock
        self._lock = threading.Lock()
        self._free: list[T] = []  # only while nobody waits
        self._waiting: list[_Waiter[T]] = []
        self._seq = itertools.count()

    def put(self, item: T) -> None:
        with self._lock:
            if not self._waiting:
                self._free.append(item)
                return
            chosen = self._next()
            self._waiting.remove(chosen)
            chosen.item = item
        chosen.ready.set()

    def get(self, size: int) -> T:
        """Block until an item is free and this request is the one to get it."""
        with self._lock:
            if self._free:
                return self._free.pop(0)  # the longest idle first
            me: _Waiter[T] = _Waiter(size, self.clock(), next(self._seq))
            self._waiting.append(me)
        me.ready.wait()
        assert me.item is not None
        return me.item

    def _next(self) -> _Waiter[T]:
        now = self.clock()

        def rank(w: _Waiter[T]) -> tuple[int, int, int]:
            if now - w.since >= self.max_wait:
                return (0, 0, w.seq)  # waited long enough: oldest first
            return (1, 0 if w.size < self.small_bytes else w.size, w.seq)

        return min(self._waiting, key=rank)
