"""Who has mailed whom: the delivery history behind "first-time recipient" and "frequently used".

Two facts are kept, each with the first and last time and a count:
- sender -> recipient address ("has this sender mailed this address before?");
- organisation (registrable domain) -> anyone here ("has anyone here mailed this organisation?").

It is written only when a message was actually delivered (`record_delivery`, called by delivery
with the recipients the next hop accepted) and by `gateway history import`. Backends live next to
the queues and are built from the same store URL (`open_history`): sqlite (same file, own tables)
and redis (same database, own keys, each atomic operation on one hash slot).

All methods block (sqlite3, redis-py): async code calls them through `asyncio.to_thread`.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gateway.mail.addresses import AddressError, parse_address
from gateway.recipients.domains import Organisations

DAY = 86400.0


@dataclass(frozen=True)
class Delivery:
    sender: str  # envelope sender; "" (null sender) is never recorded
    recipients: tuple[str, ...]
    when: float  # unix time of delivery


@dataclass(frozen=True)
class Row:
    """One normalised (sender, recipient) pair ready for a backend."""

    sender: str
    recipient: str
    org: str
    when: float


class RecipientHistory(abc.ABC):
    def __init__(self, orgs: Organisations | None = None) -> None:
        self.orgs = orgs or Organisations()

    def record_delivery(self, sender: str, recipients: Iterable[str], when: float) -> int:
        """Remember that `sender` mailed `recipients` at `when`. Returns the pairs recorded."""
        return self.record_many([Delivery(sender, tuple(recipients), when)])

    def record_many(self, deliveries: Iterable[Delivery]) -> int:
        """Record several deliveries in one go (imports). Invalid addresses are skipped."""
        rows = list(self.rows(deliveries))
        if rows:
            self._record(rows)
        return len(rows)

    def rows(self, deliveries: Iterable[Delivery]) -> Iterable[Row]:
        for d in deliveries:
            if not d.sender:
                continue
            try:
                sender = parse_address(d.sender).normalised
            except AddressError:
                continue
            for r in d.recipients:
                try:
                    addr = parse_address(r)
                except AddressError:
                    continue
                yield Row(sender, addr.normalised, self.orgs.of(addr.domain), float(d.when))

    @abc.abstractmethod
    def _record(self, rows: Sequence[Row]) -> None: ...

    @abc.abstractmethod
    def sent_to(self, sender: str, addresses: Sequence[str], since: float) -> set[str]:
        """Those of `addresses` (normalised) that `sender` has mailed at or after `since`."""

    @abc.abstractmethod
    def orgs_seen(self, orgs: Sequence[str], since: float) -> set[str]:
        """Those of `orgs` that anyone has mailed at or after `since`."""

    @abc.abstractmethod
    def top_domains(self, limit: int, since: float = 0.0) -> list[tuple[str, int]]:
        """The most-mailed organisations (mailed at or after `since`) with their delivery counts."""

    @abc.abstractmethod
    def counts(self) -> dict[str, int]:
        """{'pairs': sender-recipient pairs, 'orgs': organisations} (for `gateway history` output)."""

    @abc.abstractmethod
    def prune(self, before: float) -> dict[str, int]:
        """Forget pairs and organisations last mailed before `before`; {'pairs': n, 'orgs': m} removed.
        A record updated meanwhile (a delivery after `before`) is kept."""

    @abc.abstractmethod
    def clear(self) -> None:
        """Forget everything (tests, and `gateway history import --replace`)."""

    @abc.abstractmethod
    def close(self) -> None: ...

    def has_sent(self, sender: str, address: str, since: float) -> bool:
        return bool(self.sent_to(sender.lower(), [address.lower()], since))

    def org_seen(self, org: str, since: float) -> bool:
        return bool(self.orgs_seen([org.lower()], since))
