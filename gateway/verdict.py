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


@dataclass
class Verdict:
    action: Action
    reasons: list[Reason] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)  # what inspection found, for check --json

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action.value,
            "reasons": [r.to_json() for r in self.reasons],
            **self.facts,
        }
