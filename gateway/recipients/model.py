"""What the recipient assessment finds: per recipient (RecipientRisk) and per message.

Plain dataclasses; `to_json()` gives what `gateway check --json` shows under `recipients` and what the
rules read. Fields that were not assessed are None (e.g. first-time facts of internal recipients).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from gateway.recipients.domains import RecipientClass
from gateway.recipients.reasons import Reason


class DnsStatus(StrEnum):
    EXISTS = "exists"  # MX (not null) or A/AAAA
    NO_MAIL = "no-mail"  # null MX, or the name exists without MX and address records
    NXDOMAIN = "nxdomain"  # the domain does not exist
    UNKNOWN = "unknown"  # timeout, SERVFAIL, refused: could not tell
    NOT_CHECKED = "not-checked"  # DNS checks off, or an internal domain


@dataclass
class RecipientRisk:
    address: str  # normalised (lower case, ASCII domain); as given if invalid
    recipient_class: RecipientClass
    domain: str = ""  # ASCII form
    domain_unicode: str = ""  # readable form (IDN)
    organisation: str = ""  # registrable domain by the PSL
    valid: bool = True
    list_verdict: str | None = None  # "allow" | "deny" | None
    list_entry: str | None = None  # the entry that decided
    list_source: str | None = None  # "global" | "group:NAME"
    partner: str | None = None  # display name of a listed partner
    first_time_sender: bool | None = None  # None: not assessed (internal, null sender, no history)
    first_time_org: bool | None = None
    lookalike_of: str | None = None  # the known domain imitated
    lookalike_kind: str | None = None  # internal | affiliate | partner | allowed | protected | frequent
    lookalike_reason: str | None = None  # homoglyph | confusable | swapped | embedded | other_tld | typo
    lookalike_distance: int | None = None
    dns: DnsStatus = DnsStatus.NOT_CHECKED
    visibility: str = "unknown"  # "to" | "cc" | "bcc" (Bcc header) | "hidden" | "unknown" (no headers)
    signals: list[str] = field(default_factory=list)
    reasons: list[Reason] = field(default_factory=list)

    @property
    def is_external(self) -> bool:
        return self.recipient_class is RecipientClass.EXTERNAL

    def add(self, signal: str, why: Reason) -> None:
        self.signals.append(signal)
        self.reasons.append(why)

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "class": self.recipient_class.value,
            "valid": self.valid,
            "domain": self.domain,
            "domain_unicode": self.domain_unicode,
            "organisation": self.organisation,
            "list": self.list_verdict,
            "list_entry": self.list_entry,
            "list_source": self.list_source,
            "partner": self.partner,
            "first_time_sender": self.first_time_sender,
            "first_time_org": self.first_time_org,
            "lookalike_of": self.lookalike_of,
            "lookalike_kind": self.lookalike_kind,
            "lookalike_reason": self.lookalike_reason,
            "lookalike_distance": self.lookalike_distance,
            "dns": self.dns.value,
            "visibility": self.visibility,
            "signals": list(self.signals),
            "reasons": [r.to_json() for r in self.reasons],
        }


@dataclass
class RecipientAssessment:
    sender: str  # normalised envelope sender, "" for the null sender
    sender_class: str  # internal | affiliate | external | null | invalid
    sender_groups: list[str] = field(default_factory=list)
    recipients: list[RecipientRisk] = field(default_factory=list)
    external_organisations: list[str] = field(default_factory=list)  # partner names or registrable domains
    visible_external: int = 0  # external addresses shown in To/Cc
    hidden_external: int = 0  # external envelope recipients not shown in To/Cc (Bcc)
    visible_recipients: int = 0  # all addresses in To/Cc
    is_reply: bool = False
    headers_seen: bool = False
    header_errors: list[str] = field(default_factory=list)  # "To: why" (no addresses)
    signals: list[str] = field(default_factory=list)
    reasons: list[Reason] = field(default_factory=list)

    @property
    def external_org_count(self) -> int:
        return len(self.external_organisations)

    def add(self, signal: str, why: Reason) -> None:
        self.signals.append(signal)
        self.reasons.append(why)

    def all_signals(self) -> set[str]:
        """Message signals and every recipient's signals (what a rule condition usually asks)."""
        return set(self.signals).union(*(r.signals for r in self.recipients))

    def to_json(self) -> dict[str, Any]:
        return {
            "sender": self.sender,
            "sender_class": self.sender_class,
            "sender_groups": list(self.sender_groups),
            "external_organisations": list(self.external_organisations),
            "external_org_count": self.external_org_count,
            "visible_external": self.visible_external,
            "hidden_external": self.hidden_external,
            "visible_recipients": self.visible_recipients,
            "is_reply": self.is_reply,
            "headers_seen": self.headers_seen,
            "header_errors": list(self.header_errors),
            "signals": list(self.signals),
            "reasons": [r.to_json() for r in self.reasons],
            "recipients": [r.to_json() for r in self.recipients],
        }
