"""Deliveries for the recipient history, written in the background in batches.

The delivery worker only hands a delivery over; one write runs at a time, and the deliveries that
arrive while it runs go together in the next one (one transaction for many messages under load, at
once when idle; no timer). History is advice for later decisions, not mail: a failed write is logged
and dropped, and losing a few records only makes a recipient look new once more.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from gateway.recipients.contacts import ContactBook
from gateway.recipients.history import Delivery, RecipientHistory

log = logging.getLogger(__name__)

MAX_PENDING = 100_000  # deliveries waiting at most (a store that stays down must not eat memory)


class HistoryRecorder:
    def __init__(
        self, history: RecipientHistory, max_pending: int = MAX_PENDING, contacts: ContactBook | None = None
    ) -> None:
        self.history = history
        self.contacts = contacts  # learns who is who from the same deliveries (contacts.py)
        self._lessons: dict[int, str] = {}
        self.max_pending = max_pending
        self._pending: list[Delivery] = []
        self._writer: asyncio.Task[None] | None = None
        self.dropped = 0

    def add(self, sender: str, recipients: Iterable[str], when: float, lesson: str = "") -> None:
        if len(self._pending) >= self.max_pending:
            self.dropped += 1
            return
        delivery = Delivery(sender, tuple(recipients), when)
        if lesson and self.contacts is not None:
            self._lessons[id(delivery)] = lesson
        self._pending.append(delivery)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write())

    async def _write(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            lessons = [(self._lessons.pop(id(d)), d.recipients, d.when) for d in batch if id(d) in self._lessons]
            try:
                await asyncio.to_thread(self.history.record_many, batch)
            except Exception as e:
                log.warning("recipient history: %d deliveries not recorded: %s", len(batch), type(e).__name__)
            if lessons and self.contacts is not None:
                try:
                    await asyncio.to_thread(self.contacts.learn_many, lessons)
                except Exception as e:
                    log.warning("contact book: %d deliveries not learned: %s", len(lessons), type(e).__name__)

    async def drain(self) -> None:
        """Return once everything handed over so far is written (or given up)."""
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)
