"""The inspection gate hands free workers to small messages first, and to long waiters before all."""

from __future__ import annotations

import threading
import time

from gateway.inspection.gate import SmallFirstGate


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _queue_up(gate: SmallFirstGate[str], sizes: list[int], order: list[int]) -> list[threading.Thread]:
    threads = []
    for size in sizes:

        def take(size: int = size) -> None:
            item = gate.get(size)
            order.append(size)
            gate.put(item)

        thread = threading.Thread(target=take)
        thread.start()
        threads.append(thread)
        while len(gate._waiting) < len(threads):  # each is waiting before the next arrives
            time.sleep(0.001)
    return threads


def test_small_messages_go_first_and_keep_their_order() -> None:
    gate: SmallFirstGate[str] = SmallFirstGate(small_bytes=1000, max_wait=60, clock=Clock())
    order: list[int] = []
    threads = _queue_up(gate, [500_000, 10, 200_000, 20, 30], order)
    gate.put("worker")
    for thread in threads:
        thread.join(timeout=10)
    assert order == [10, 20, 30, 200_000, 500_000]


def test_a_message_that_waited_long_goes_before_small_ones() -> None:
    clock = Clock()
    gate: SmallFirstGate[str] = SmallFirstGate(small_bytes=1000, max_wait=5, clock=clock)
    order: list[int] = []
    threads = _queue_up(gate, [500_000], order)
    clock.now = 10.0  # the big one has waited past max_wait when small ones arrive
    threads += _queue_up(gate, [10, 20], order)
    gate.put("worker")
    for thread in threads:
        thread.join(timeout=10)
    assert order == [500_000, 10, 20]


def test_a_free_item_is_taken_at_once() -> None:
    gate: SmallFirstGate[str] = SmallFirstGate()
    gate.put("a")
    assert gate.get(123) == "a"
