"""The decision on one message, with its reasons in Japanese and English."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Action(StrEnum):
    """What happens to a message; later members are stronger (the strongest hit wins)."""

    RELAY = "relay"
    REWRITE_BCC = "rewrite_bcc"
    DELAY = "delay"
    HOLD_SENDER = "hold_sender"
    HOLD_MANAGER = "hold_manager"
    REJECT = "reject"

    @property
    def strength(self) -> int:
        return list(Action).index(self)


@dataclass(frozen=True)
class Reason:
    rule: str
    en: str
    ja: str

    def to_json(self) -> dict[str, str]:
        return {"rule": self.rule, "en": self.en, "ja": self.ja}


@dataclass(frozen=True)
class RuleHit:
    """A rule whose conditions held: what it asks for, why, and the facts it read."""

    rule: str
    action: Action
    reason: Reason
    mode: str = "enforce"  # monitor: recorded, never acted on
    minutes: int | None = None
    facts: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rule": self.rule,
            "action": self.action.value,
            "mode": self.mode,
            "ja": self.reason.ja,
            "en": self.reason.en,
        }
        if self.minutes is not None:
            out["minutes"] = self.minutes
        return out | {"facts": self.facts}


@dataclass(frozen=True)
class RuleMiss:
    rule: str
    why: str  # the test that did not hold, e.g. "pii.records gte 100 (is 3)"

    def to_json(self) -> dict[str, str]:
        return {"rule": self.rule, "why": self.why}


@dataclass
class Verdict:
    action: Action
    reasons: list[Reason] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)  # what inspection found, for check --json
    hits: list[RuleHit] = field(default_factory=list)  # enforce and monitor hits, strongest first
    misses: list[RuleMiss] = field(default_factory=list)
    approvers: list[str] = field(default_factory=list)  # for hold_manager
    approver_source: str = ""  # manager | group:NAME | fallback:NAME | none
    delay_minutes: int | None = None  # for delay: the longest delay asked for
    bcc: list[str] = field(default_factory=list)  # external To/Cc addresses to move to Bcc (rewrite_bcc hit)
    lesson: str = ""  # what the message teaches the contact book once delivered (carried on the queue)
    names: dict[str, str] = field(default_factory=dict)  # address -> directory name (sender, approvers, people)
    # masked first lines of each attachment (gateway.scan.preview): for the hold pages only, never in
    # to_json (check --json, logs) and never in notices
    previews: list[dict[str, Any]] = field(default_factory=list, repr=False)
    subject: str | None = None  # the Subject field from the headers the pipeline parsed (hold details decode it)

    @property
    def monitor_hits(self) -> list[RuleHit]:
        return [h for h in self.hits if h.mode == "monitor"]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "action": self.action.value,
            "reasons": [r.to_json() for r in self.reasons],
        }
        if self.action is Action.HOLD_MANAGER:
            out["approvers"] = list(self.approvers)
            out["approver_source"] = self.approver_source
        if self.delay_minutes is not None:
            out["delay_minutes"] = self.delay_minutes
        if self.bcc:
            out["rewrite_bcc"] = list(self.bcc)
        out["rules"] = {"hits": [h.to_json() for h in self.hits], "misses": [m.to_json() for m in self.misses]}
        return out | self.facts
