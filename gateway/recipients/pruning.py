"""Keeping the recipient history from growing without end: what nobody has used for
recipients.history_retention_days is deleted, a minute after start-up and then every 6 hours, by
every node that delivers (pruning is idempotent, so nodes sharing a store may overlap).
`gateway history prune` does the same at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from gateway.recipients.contacts import ContactBook
from gateway.recipients.history import RecipientHistory

log = logging.getLogger(__name__)

DAY = 86400.0
FIRST_DELAY_SECONDS = 60.0
INTERVAL_SECONDS = 6 * 3600.0


def prune_once(
    history: RecipientHistory, retention_days: float, now: float | None = None, contacts: ContactBook | None = None
) -> dict[str, int]:
    """Delete what was last used more than retention_days ago; the counts removed (the contact
    book's under 'names', 'threads' and 'files')."""
    now = time.time() if now is None else now
    removed = history.prune(now - retention_days * DAY)
    if contacts is not None:
        learned = contacts.prune(now - retention_days * DAY)
        log.info(
            "contact book: %d name(s), %d thread id(s), %d file(s) unused for %g days deleted",
            learned["names"],
            learned["threads"],
            learned["files"],
            retention_days,
        )
        removed = {**removed, **learned}
    log.info(
        "recipient history: %d pair(s) and %d organisation(s) unused for %g days deleted",
        removed["pairs"],
        removed["orgs"],
        retention_days,
    )
    return removed


async def prune_periodically(
    history: RecipientHistory, retention_days: float, stop: asyncio.Event, contacts: ContactBook | None = None
) -> None:
    delay = FIRST_DELAY_SECONDS
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)
            return
        try:
            await asyncio.to_thread(prune_once, history, retention_days, None, contacts)
        except Exception as e:  # the store being away: try again next time, delivery goes on
            log.warning("recipient history not pruned: %s", type(e).__name__)
        delay = INTERVAL_SECONDS
