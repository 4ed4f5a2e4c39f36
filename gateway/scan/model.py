"""What a scan is given (ScanContext) and what it returns (ScanResult with PersonalData findings)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway.content import Finding, pickled_by_fields

BULK = "BULK_PERSONAL_DATA"


@dataclass(frozen=True, slots=True)
class Hit:
    """One match in one segment's text (raw value: never leaves the worker process)."""

    entity: str
    start: int
    end: int
    score: float
    value: str
    source: str = "pattern"  # pattern | sudachi | column | ginza | spacy-en


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class ScanContext:
    """What makes a scan quiet: who sends, who receives, what belongs to the organisation.

    Addresses are compared case-insensitively, domains cover their subdomains, phone numbers are
    compared by their digits (+81 forms as 0...).
    """

    sender: str = ""
    recipients: tuple[str, ...] = ()
    internal_domains: tuple[str, ...] = ()
    own_phone_numbers: tuple[str, ...] = ()
    own_addresses: tuple[str, ...] = ()

    @property
    def recipient_domains(self) -> frozenset[str]:
        return frozenset(a.rpartition("@")[2].lower() for a in self.recipients if "@" in a)


@dataclass(frozen=True, slots=True)
class PersonalData(Finding):
    """A personal-data finding: one entity in one place (a segment), with counts.

    `count` is the number of occurrences, `distinct` of distinct values, `records` of table rows (or,
    in running text, distinct values) holding the entity. `location` is the segment's provenance
    ('attachment 申込者一覧.xlsx › sheet 明細 › rows 2-5573'); `samples` are masked.
    """

    distinct: int = 0
    records: int = 0
    location: str = ""
    quoted: bool = False
    sources: tuple[str, ...] = ()

    @property
    def where(self) -> str:
        return self.location or Finding.where.fget(self)  # type: ignore[attr-defined]

    def to_json(self) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "count": self.count,
            "distinct": self.distinct,
            "records": self.records,
            "score": round(self.score, 2),
            "where": self.where,
            "quoted": self.quoted,
            "samples": list(self.samples),
            **({"detail": self.detail} if self.detail else {}),
        }


@dataclass(frozen=True, slots=True)
class AttachmentPreview:
    """The first lines of one attached file's text, masked (gateway.scan.preview): shown on the hold
    pages only, kept with the hold only as long as its held message, never logged.

    `attachment` and `path` name the file (a zip member: the zip, then the member); `text` is empty
    when nothing was read, and `unreadable` then (or as well) holds the UNSCANNABLE reason code."""

    part: str
    attachment: str
    path: tuple[str, ...] = ()
    text: str = ""
    truncated: bool = False
    unreadable: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "file": " › ".join((self.attachment, *self.path)),
            "text": self.text,
            "truncated": self.truncated,
            "unreadable": self.unreadable,
        }

    def __repr__(self) -> str:  # never the text, wherever a repr ends up (logs, tracebacks)
        return f"AttachmentPreview({self.part!r}, {len(self.text)} chars, unreadable={self.unreadable!r})"


@dataclass(slots=True)
class ScanResult:
    """All findings of one message's scan. `findings` holds PersonalData, the BULK finding, and any
    UNSCANNABLE finding (time budget, worker failure) — the rules treat those as risky."""

    findings: list[Finding] = field(default_factory=list)
    records: int = 0
    stats: dict[str, float] = field(default_factory=dict)
    # masked first lines of every segment read from an attachment (segment index -> text), then
    # per attached file (gateway.scan.preview.attachment_previews, in the inspection worker)
    heads: dict[int, str] = field(default_factory=dict, repr=False)
    previews: list[AttachmentPreview] = field(default_factory=list, repr=False)

    @property
    def personal(self) -> list[PersonalData]:
        return [f for f in self.findings if isinstance(f, PersonalData) and f.entity != BULK]

    @property
    def bulk(self) -> PersonalData | None:
        return next((f for f in self.findings if isinstance(f, PersonalData) and f.entity == BULK), None)

    @property
    def unscannable(self) -> list[Finding]:
        return [f for f in self.findings if f.entity == "UNSCANNABLE"]

    def totals(self) -> dict[str, dict[str, int]]:
        """Per entity over the whole message: count, distinct (summed over places) and records."""
        out: dict[str, dict[str, int]] = {}
        for f in self.personal:
            t = out.setdefault(f.entity, {"count": 0, "distinct": 0, "records": 0})
            t["count"] += f.count
            t["distinct"] += f.distinct
            t["records"] += f.records
        return out

    def entities(self) -> set[str]:
        return {f.entity for f in self.personal}

    def to_json(self) -> dict[str, Any]:
        """For `gateway check --json`: {"findings": [...], "records": n, "bulk": bool}."""
        items: list[dict[str, Any]] = []
        for f in self.findings:
            if isinstance(f, PersonalData):
                items.append(f.to_json())
            else:
                items.append(
                    {"entity": f.entity, "count": f.count, "records": 0, "where": f.where, "reason": f.reason}
                    | ({"detail": f.detail} if f.detail else {})
                )
        return {"findings": items, "records": self.records, "bulk": self.bulk is not None}
