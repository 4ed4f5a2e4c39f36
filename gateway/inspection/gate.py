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
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class _Waiter:
    size: int
    since: float
    seq: int


class SmallFirstGate(Generic[T]):
    def __init__(
        self, small_bytes: int = 64 * 1024, max_wait: float = 5.0, clock: Callable[[], float] = time.monotonic
    ):
        self.small_bytes = small_bytes
        self.max_wait = max_wait
        self.clock = clock
        self._cond = threading.Condition()
        self._free: list[T] = []
        self._waiting: list[_Waiter] = []
        self._seq = itertools.count()

    def put(self, item: T) -> None:
        with self._cond:
            self._free.append(item)
            self._cond.notify_all()

    def get(self, size: int) -> T:
        """Block until an item is free and this request is the one to get it."""
        with self._cond:
            me = _Waiter(size, self.clock(), next(self._seq))
            self._waiting.append(me)
            try:
                while not (self._free and self._next() is me):
                    self._cond.wait(timeout=self.max_wait)
                return self._free.pop(0)  # the longest idle first
            finally:
                self._waiting.remove(me)
                self._cond.notify_all()

    def _next(self) -> _Waiter:
        now = self.clock()

        def rank(w: _Waiter) -> tuple[int, int, int]:
            if now - w.since >= self.max_wait:
                return (0, 0, w.seq)  # waited long enough: oldest first
            return (1, 0 if w.size < self.small_bytes else w.size, w.seq)

        return min(self._waiting, key=rank)
