"""HoldStore: the records of held messages (state, link token digests, audit log, per-rule statistics).

The held message itself stays in the queue store (Queue.HOLD); this store keeps what the workflow
decides on. Backends live next to the queues and are built from the same store URL (`open_holds`,
backends.py):
sqlite (same file, own tables) and redis (same database, own keys, all under one hash tag so every
atomic update touches one slot).

Every change is one atomic read-modify-write (`update`): the backend reads the record, the caller's
function decides (it sees the current state, so checking the state there is a compare-and-set), and
the new record, its audit entries and its statistics are written together or not at all.

All methods block (sqlite3, redis-py): async code calls them through `asyncio.to_thread`.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass

from gateway.hold.model import AuditEntry, Change, Hold, HoldState

Decide = Callable[[Hold], Change | None]  # None: change nothing


class HoldConflict(Exception):
    """A concurrent writer kept changing the record; the update was not applied."""


@dataclass(frozen=True)
class HoldFilter:
    states: tuple[HoldState, ...] = ()
    sender: str = ""  # substring, case-insensitive
    rule: str = ""
    older_than: float | None = None  # created_at <= this
    limit: int = 200


class HoldStore(abc.ABC):
    @abc.abstractmethod
    def create(self, hold: Hold, audit: AuditEntry) -> bool:
        """Store a new hold (and count it in its rule's statistics). False if one with its id exists."""

    @abc.abstractmethod
    def get(self, hold_id: str) -> Hold | None: ...

    @abc.abstractmethod
    def update(self, hold_id: str, decide: Decide) -> Change | None:
        """Atomically: read the hold, `decide(hold)`, write the Change. Returns the Change applied, or
        None when the hold is unknown or `decide` returned None. `decide` may run more than once (a
        concurrent writer won the race), so it must not have side effects."""

    @abc.abstractmethod
    def due(self, now: float, limit: int = 100) -> list[Hold]:
        """Holds the loop must look at: deadline reached, releasing, or final but not settled."""

    @abc.abstractmethod
    def find(self, where: HoldFilter) -> list[Hold]:
        """Holds, newest first (admin pages)."""

    @abc.abstractmethod
    def audit(self, hold_id: str | None = None, limit: int = 200) -> list[AuditEntry]:
        """Audit entries of one hold (oldest first) or of all holds (newest first)."""

    @abc.abstractmethod
    def stats(self) -> dict[str, dict[str, int]]:
        """rule -> {holds, released_as_is, recipient_removed, cancelled, rejected, expired}."""

    @abc.abstractmethod
    def counts(self) -> dict[str, int]:
        """state -> number of holds in it."""

    @abc.abstractmethod
    def away(self) -> dict[str, str]:
        """Approvers who said they are away (on their inbox page) -> the deputy they chose."""

    @abc.abstractmethod
    def set_away(self, approver: str, deputy: str | None) -> None:
        """`approver` is away and `deputy` decides for them (None: back, the entry is removed).
        Addresses are stored lower-case; one deputy per approver (a new one replaces the old)."""

    @abc.abstractmethod
    def secret(self) -> bytes:
        """A random key shared by every node (CSRF and session signatures), made on first use."""

    @abc.abstractmethod
    def clear(self) -> None:
        """Forget everything (tests)."""

    @abc.abstractmethod
    def close(self) -> None: ...
