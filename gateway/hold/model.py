"""A held message's record: its state machine, the tokens of its links, and audit entries.

    held_sender ──confirm──▶ releasing ──(moved to outbound)──▶ released          (sender, no approval)
    held_sender ──confirm──▶ held_manager ──approve──▶ releasing ──▶ released    (hold_manager)
    held_sender/held_manager/delayed ──cancel / reject / expire──▶ cancelled / rejected / expired
    delayed ──(its time)──▶ releasing ──▶ released
    any unsettled state ──(the hold loop failed on it worker.max_failures times)──▶ shunted

`releasing` is the compare-and-set that makes release happen once: whoever moves a hold into it (a
click, a second node's click, the delay timer) is the only one that may move the message from the
hold queue to the outbound queue. `settled` says the queue work of a final state is done (message moved
or removed, result notice queued); the hold loop settles whatever a crash left unsettled.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any


class HoldState(StrEnum):
    HELD_SENDER = "held_sender"
    HELD_MANAGER = "held_manager"
    DELAYED = "delayed"
    RELEASING = "releasing"
    RELEASED = "released"
    DELIVERED = "delivered"  # the released message reached at least one recipient (failures: `delivery`)
    DELIVERY_FAILED = "delivery_failed"  # it reached none (each failure was noticed to the sender)
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    SHUNTED = "shunted"  # the hold loop kept failing on it: the message is on the shunt queue for an admin

    @property
    def waiting(self) -> bool:
        """Someone (or the clock) still has to decide."""
        return self in WAITING

    @property
    def final(self) -> bool:
        return self in FINAL


WAITING = frozenset({HoldState.HELD_SENDER, HoldState.HELD_MANAGER, HoldState.DELAYED})
FINAL = frozenset(
    {
        HoldState.RELEASED,
        HoldState.DELIVERED,
        HoldState.DELIVERY_FAILED,
        HoldState.CANCELLED,
        HoldState.REJECTED,
        HoldState.EXPIRED,
        HoldState.SHUNTED,
    }
)


class Scope(StrEnum):
    """What a link token allows (the "action" a token is bound to)."""

    SENDER = "sender"  # confirm (possibly without some recipients), cancel
    APPROVER = "approver"  # approve, reject


class Outcome(StrEnum):
    """How a hold ended, for the per-rule statistics."""

    AS_IS = "released_as_is"
    REMOVED = "recipient_removed"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"


STAT_KEYS = ("holds", *(o.value for o in Outcome))


@dataclass
class LinkToken:
    """A link's token, stored only as its SHA-256 digest."""

    digest: str
    scope: Scope
    actor: str  # the address it was sent to
    used_at: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"digest": self.digest, "scope": self.scope.value, "actor": self.actor, "used_at": self.used_at}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> LinkToken:
        return cls(d["digest"], Scope(d["scope"]), d["actor"], d.get("used_at"))


@dataclass
class Hold:
    id: str  # the queue id of the held message
    state: HoldState
    action: str  # the verdict's action: hold_sender | hold_manager | delay
    sender: str
    recipients: tuple[str, ...]  # envelope recipients when held
    rules: tuple[str, ...]  # enforced rules that hit, strongest first
    created_at: float
    expires_at: float  # deadline of the current waiting state (delay: the release time)
    updated_at: float = 0.0
    needs_approval: bool = False
    approvers: tuple[str, ...] = ()
    # "" (the directory named them), "admins" (nobody was configured to approve: the admins of the
    # users file were asked instead) or "none" (nobody at all: only the admin queue can act)
    approver_source: str = ""
    keep: tuple[str, ...] = ()  # recipients to deliver to (after the sender removed some)
    language: str = "ja"
    remind_at: float | None = None
    reminded: bool = False
    notified: bool = False
    settled: bool = False
    outcome: str = ""
    decided_by: str = ""
    comment: str = ""
    release_on_expiry: bool = False
    retry_at: float = 0.0  # releasing / final but unsettled, or after a failure: when the loop looks again
    failures: int = 0  # the hold loop raised on it this many times (worker.max_failures: shunted)
    last_error: str = ""
    details: dict[str, Any] = field(default_factory=dict)  # reasons, recipients, attachments, findings
    delivery: dict[str, int] = field(default_factory=dict)  # after delivery: {"delivered": n, "failed": m}
    escalate_at: float | None = None  # waiting for approval: when deputies (then the fallback group) are asked
    escalation: int = 0  # 0: the approvers; 1: their deputies asked too; 2: the fallback group as well
    tokens: list[LinkToken] = field(default_factory=list)
    version: int = 0
    # The masked first lines of each attachment (gateway.scan.preview), made by the inspection worker:
    # kept exactly as long as the held message (emptied when the hold settles or is shunted, in the
    # same update), shown on the hold pages only, never in notices, logs or reprs.
    previews: list[dict[str, Any]] = field(default_factory=list, repr=False)

    @property
    def rule(self) -> str:
        return self.rules[0] if self.rules else "-"

    @property
    def removed(self) -> tuple[str, ...]:
        keep = set(self.keep)
        return tuple(r for r in self.recipients if r not in keep) if self.keep else ()

    def next_due(self) -> float | None:
        """When the hold loop must look at this hold next (None: never again)."""
        if self.state.final:
            return None if self.settled else self.retry_at
        if self.state is HoldState.RELEASING:
            return self.retry_at
        due = self.expires_at
        if self.remind_at is not None and not self.reminded and self.state is not HoldState.DELAYED:
            due = min(due, self.remind_at)
        if self.escalate_at is not None and self.state is HoldState.HELD_MANAGER:
            due = min(due, self.escalate_at)
        if self.failures:  # the last look failed: not again before its wait is over
            due = max(due, self.retry_at)
        return due

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["state"] = self.state.value
        d["tokens"] = [t.to_json() for t in self.tokens]
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Hold:
        d = dict(d)
        d["state"] = HoldState(d["state"])
        d["tokens"] = [LinkToken.from_json(t) for t in d.get("tokens", [])]
        for key in ("recipients", "rules", "approvers", "keep"):
            d[key] = tuple(d.get(key, ()))
        # A field a newer node wrote (several nodes share the hold store; upgrades roll) is ignored.
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass(frozen=True)
class AuditEntry:
    hold_id: str
    at: float
    event: str  # held, notified, confirmed, approved, rejected, cancelled, expired, released, extended ...
    actor: str  # an address, "admin:NAME", or "system"
    state_from: str
    state_to: str
    detail: str = ""  # no personal data beyond the actor: counts, rule names, the approver's comment

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> AuditEntry:
        return cls(**d)


@dataclass
class Change:
    """What one atomic update does: the new record, its audit entries and statistics increments."""

    hold: Hold
    audit: list[AuditEntry] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)  # stat key -> increment, for hold.rule

    def log(self, event: str, actor: str, state_from: HoldState, detail: str = "", now: float | None = None) -> None:
        self.audit.append(
            AuditEntry(
                self.hold.id,
                time.time() if now is None else now,
                event,
                actor,
                state_from.value,
                self.hold.state.value,
                detail,
            )
        )
