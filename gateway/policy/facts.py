"""The flat fact namespace the rules read: one documented name per fact, e.g. `pii.records`,
`recipients.external_count`, `recipients.any.first_time_org`, `attachment.types`, `sender.groups`.

`collect()` turns one message's Facts into a `FactSet` once; every rule then reads plain values from
a dict, so the cost of a rule is a dict lookup and a comparison (bench/policy.py).

Kinds: bool, int, str, list (of strings). String comparisons ignore case (see conditions.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gateway.inspection.facts import Facts
from gateway.message import Envelope
from gateway.policy.entities import ENTITY_NAMES, entity_name
from gateway.recipients.misaddressed import SIGNALS as MISADDRESSED_SIGNALS
from gateway.recipients.reasons import CODES as RECIPIENT_SIGNALS
from gateway.unscannable import AMBIGUOUS_MIME, describe

BOOL, INT, STR, LIST = "bool", "int", "str", "list"


@dataclass(frozen=True)
class FactSpec:
    name: str
    kind: str
    doc: str


def _specs(*items: tuple[str, str, str]) -> dict[str, FactSpec]:
    return {name: FactSpec(name, kind, doc) for name, kind, doc in items}


FACTS: dict[str, FactSpec] = _specs(
    ("message.size", INT, "size of the raw message in bytes"),
    ("message.mime_defects", INT, "MIME defects the parser found"),
    ("message.is_reply", BOOL, "the message has In-Reply-To or References"),
    ("subject", STR, "the Subject header (decoded)"),
    ("body", STR, "text of the message bodies (not attachments), quoted parts included"),
    ("pii.entities", LIST, "personal-data entities found anywhere (EMAIL_ADDRESS, JP_MY_NUMBER, ...)"),
    ("pii.count", INT, "occurrences of personal data in the whole message"),
    ("pii.records", INT, "records (table rows or listed people) holding personal data"),
    ("pii.bulk", BOOL, "the scanner reported bulk personal data (BULK_PERSONAL_DATA)"),
    ("pii.in_attachment", BOOL, "some personal data is in an attachment"),
    ("pii.attachment_records", INT, "records with personal data in attachments (largest place)"),
    ("unscannable", BOOL, "some content could not be read (encrypted, too large, broken, time limit)"),
    ("unscannable.reasons", LIST, "reason codes of the UNSCANNABLE findings (encrypted-zip, limit-time, ...)"),
    ("unscannable.in_attachment", BOOL, "an attachment (not the body) could not be read"),
    ("ambiguous_mime", BOOL, "the MIME structure can be read in more than one way"),
    ("attachment.count", INT, "attached files, archive members included"),
    ("attachment.names", LIST, "file names of attachments and archive members"),
    ("attachment.extensions", LIST, "file name extensions, lower case without the dot (xlsx, zip, ...)"),
    ("attachment.types", LIST, "detected types (xlsx, pdf, zip, image/png, unknown, ...)"),
    ("attachment.encrypted", BOOL, "some attachment is encrypted or password-protected"),
    ("attachment.max_size", INT, "size in bytes of the largest attachment"),
    ("attachment.total_size", INT, "total size in bytes of all attachments"),
    ("recipients.count", INT, "distinct envelope recipients"),
    ("recipients.external_count", INT, "external envelope recipients"),
    ("recipients.internal_count", INT, "internal envelope recipients"),
    ("recipients.affiliate_count", INT, "group-company envelope recipients"),
    ("recipients.invalid_count", INT, "envelope recipients that are not valid addresses"),
    ("recipients.all_internal", BOOL, "every recipient is internal (and valid)"),
    ("recipients.any_external", BOOL, "at least one recipient is external (or invalid)"),
    ("recipients.external_orgs", LIST, "external organisations (partner names or registrable domains)"),
    ("recipients.external_org_count", INT, "number of distinct external organisations"),
    ("recipients.visible_external", INT, "external addresses visible in To/Cc"),
    ("recipients.hidden_external", INT, "external recipients not shown in To/Cc (Bcc)"),
    ("recipients.visible_count", INT, "all addresses visible in To/Cc"),
    ("recipients.addresses", LIST, "envelope recipient addresses"),
    ("recipients.domains", LIST, "recipient domains"),
    ("recipients.external_domains", LIST, "external recipient domains"),
    ("recipients.partners", LIST, "names of listed partners among the recipients"),
    ("recipients.first_time_orgs", LIST, "organisations nobody here has mailed before (within the window)"),
    ("recipients.lookalike_domains", LIST, "recipient domains that look like a known domain"),
    ("recipients.lookalike_of", LIST, "the known domains they imitate"),
    ("recipients.signals", LIST, "every recipient and message signal (see docs/recipients.md)"),
    (
        "recipients.addressee_mismatch",
        BOOL,
        "a greeting, subject, attachment name or first line names someone known at another organisation",
    ),
    ("recipients.display_name_elsewhere", BOOL, "a recipient's display name is a known contact elsewhere"),
    ("recipients.thread_new_org", BOOL, "a reply in a thread that went to other organisations goes to a new one"),
    ("recipients.attachment_seen_elsewhere", BOOL, "an attachment identical to one sent to another organisation"),
    ("recipients.misaddressed", BOOL, "any of the four signals above (content addressed to someone else)"),
    ("recipients.misaddressed_signals", LIST, "which of them: addressee_mismatch, display_name_elsewhere, ..."),
    ("sender.address", STR, "envelope sender, normalised ('' for the null sender)"),
    ("sender.domain", STR, "domain of the envelope sender"),
    ("sender.class", STR, "internal | affiliate | external | null | invalid"),
    ("sender.department", STR, "the sender's department in the directory"),
    ("sender.groups", LIST, "directory department and groups, and recipients.sender_groups"),
    ("sender.in_directory", BOOL, "the sender is listed in the directory"),
)

# Families: a prefix plus a suffix from a known set (`pii.count.JP_MY_NUMBER`).
FAMILIES: dict[str, tuple[str, frozenset[str], str]] = {
    "pii.count.": (INT, frozenset(ENTITY_NAMES), "occurrences of one entity"),
    "pii.distinct.": (INT, frozenset(ENTITY_NAMES), "distinct values of one entity"),
    "pii.records.": (INT, frozenset(ENTITY_NAMES), "records holding one entity"),
    "recipients.any.": (BOOL, RECIPIENT_SIGNALS, "some recipient (or the message) has this signal"),
    "recipients.external.any.": (BOOL, RECIPIENT_SIGNALS, "some external recipient has this signal"),
}

DEFAULTS = {BOOL: False, INT: 0, STR: "", LIST: ()}

# Facts known without reading the content (from the envelope, the headers and the recipient lists).
# Every other fact, and any name not listed here, needs the content inspected: extraction and the
# personal-data scan in the inspection workers. A policy that reads none of them skips that work
# (see Policy.reads_content); a new fact is content until it is added here, so it fails closed.
WITHOUT_CONTENT = frozenset({"message.size", "message.mime_defects", "message.is_reply"})
WITHOUT_CONTENT_PREFIXES = ("recipients.", "sender.")
# Recipient facts that compare the message (greetings, attachments, display names, threads) with what
# the contact book learned: the pipeline looks them up only when the content is inspected.
RECIPIENT_CONTENT = frozenset(
    {
        "recipients.addressee_mismatch",
        "recipients.display_name_elsewhere",
        "recipients.thread_new_org",
        "recipients.attachment_seen_elsewhere",
        "recipients.misaddressed",
        "recipients.misaddressed_signals",
        "recipients.misaddressed_evidence",
    }
)


def needs_content(name: str) -> bool:
    if name in RECIPIENT_CONTENT:
        return True
    return name not in WITHOUT_CONTENT and not name.startswith(WITHOUT_CONTENT_PREFIXES)


def spec_of(name: str) -> FactSpec | None:
    """The spec of a fact name, or None if there is no such fact."""
    if name in FACTS:
        return FACTS[name]
    for prefix, (kind, suffixes, doc) in FAMILIES.items():
        if name.startswith(prefix) and name[len(prefix) :] in suffixes:
            return FactSpec(name, kind, doc)
    return None


@dataclass
class SenderInfo:
    """What the directory says about the sender."""

    department: str = ""
    groups: tuple[str, ...] = ()
    in_directory: bool = False


@dataclass
class FactSet:
    """One message's facts as flat values, plus what reasons need to describe them."""

    values: dict[str, Any]
    facts: Facts | None = None
    _folded: dict[str, Any] = field(default_factory=dict)

    def folded(self, name: str, default: Any) -> Any:
        """The value with strings case-folded, computed once per message and fact."""
        try:
            return self._folded[name]
        except KeyError:
            v = self.values.get(name, default)
            if isinstance(v, str):
                v = v.casefold()
            elif isinstance(v, tuple | list):
                v = frozenset(x.casefold() for x in v)
            self._folded[name] = v
            return v


def _ext(name: str) -> str:
    return os.path.splitext(name)[1].lstrip(".").lower()


def collect(envelope: Envelope, facts: Facts, sender: SenderInfo | None = None) -> FactSet:
    sender = sender or SenderInfo()
    ex, rec, scan = facts.extraction, facts.recipients, facts.scan
    v: dict[str, Any] = {
        "message.size": facts.size,
        "message.mime_defects": facts.mime_defects,
        "message.is_reply": rec.is_reply,
        "subject": " ".join(s.text for s in ex.segments if s.kind == "subject" and not s.attachment),
        "body": "\n".join(s.text for s in ex.segments if s.kind == "body" and not s.attachment),
    }

    personal = scan.personal
    totals = scan.totals()
    for entity, t in totals.items():
        v[f"pii.count.{entity}"] = t["count"]
        v[f"pii.distinct.{entity}"] = t["distinct"]
        v[f"pii.records.{entity}"] = t["records"]
    attached = [f for f in personal if f.attachment or f.location.startswith("attachment ")]
    v["pii.entities"] = tuple(sorted(totals))
    v["pii.count"] = sum(t["count"] for t in totals.values())
    v["pii.records"] = scan.records or max((t["records"] for t in totals.values()), default=0)
    v["pii.bulk"] = scan.bulk is not None
    v["pii.in_attachment"] = bool(attached)
    v["pii.attachment_records"] = max((f.records for f in attached), default=0)

    unreadable = [*ex.unscannable, *scan.unscannable]
    v["unscannable"] = bool(unreadable)
    v["unscannable.reasons"] = tuple(dict.fromkeys(f.reason for f in unreadable))
    v["unscannable.in_attachment"] = any(f.attachment for f in unreadable)
    v["ambiguous_mime"] = any(f.entity == AMBIGUOUS_MIME for f in ex.findings)

    atts = ex.attachments
    v["attachment.count"] = len(atts)
    v["attachment.names"] = tuple(a.name for a in atts)
    v["attachment.extensions"] = tuple(dict.fromkeys(_ext(a.name) for a in atts if _ext(a.name)))
    v["attachment.types"] = tuple(dict.fromkeys(a.detected_type for a in atts))
    v["attachment.encrypted"] = any(a.encrypted for a in atts)
    v["attachment.max_size"] = max((a.size for a in atts), default=0)
    v["attachment.total_size"] = sum(a.size for a in atts)

    risks = rec.recipients
    valid = [r for r in risks if r.valid]
    external = [r for r in valid if r.is_external]
    by_class = {"internal": 0, "affiliate": 0, "external": 0}
    for r in valid:
        by_class[r.recipient_class.value] += 1
    invalid = len(risks) - len(valid)
    v["recipients.count"] = len(risks)
    v["recipients.external_count"] = by_class["external"]
    v["recipients.internal_count"] = by_class["internal"]
    v["recipients.affiliate_count"] = by_class["affiliate"]
    v["recipients.invalid_count"] = invalid
    v["recipients.all_internal"] = bool(risks) and by_class["internal"] == len(risks)
    v["recipients.any_external"] = bool(external) or invalid > 0
    v["recipients.external_orgs"] = tuple(rec.external_organisations)
    v["recipients.external_org_count"] = rec.external_org_count
    v["recipients.visible_external"] = rec.visible_external
    v["recipients.hidden_external"] = rec.hidden_external
    v["recipients.visible_count"] = rec.visible_recipients
    v["recipients.addresses"] = tuple(r.address for r in risks)
    v["recipients.domains"] = tuple(dict.fromkeys(r.domain for r in valid))
    v["recipients.external_domains"] = tuple(dict.fromkeys(r.domain for r in external))
    v["recipients.partners"] = tuple(dict.fromkeys(r.partner for r in valid if r.partner))
    v["recipients.first_time_orgs"] = tuple(dict.fromkeys(r.organisation for r in valid if r.first_time_org))
    v["recipients.lookalike_domains"] = tuple(dict.fromkeys(r.domain for r in valid if r.lookalike_of))
    v["recipients.lookalike_of"] = tuple(dict.fromkeys(r.lookalike_of for r in valid if r.lookalike_of))
    signals = rec.all_signals()
    v["recipients.signals"] = tuple(sorted(signals))
    for s in signals:
        v[f"recipients.any.{s}"] = True
    for r in external:
        for s in r.signals:
            v[f"recipients.external.any.{s}"] = True

    addressing = facts.addressing
    for signal in MISADDRESSED_SIGNALS:
        v[f"recipients.{signal}"] = addressing.has(signal)
    v["recipients.misaddressed"] = bool(addressing.evidence)
    v["recipients.misaddressed_signals"] = tuple(addressing.signals)

    v["sender.address"] = rec.sender if rec.sender else envelope.mail_from.lower()
    v["sender.domain"] = v["sender.address"].rpartition("@")[2]
    v["sender.class"] = rec.sender_class
    v["sender.department"] = sender.department
    v["sender.groups"] = tuple(dict.fromkeys((*sender.groups, *rec.sender_groups)))
    v["sender.in_directory"] = sender.in_directory
    return FactSet(v, facts)


# What reasons can say beyond plain facts: language-dependent summaries, computed only for hits.
def _join(items: list[str], lang: str, limit: int = 5) -> str:
    more = ["…"] if len(items) > limit else []
    return ("、" if lang == "ja" else ", ").join(items[:limit] + more)


def _pii_summary(fs: FactSet, lang: str) -> str:
    if fs.facts is None:
        return ""
    parts = []
    for entity, t in sorted(fs.facts.scan.totals().items(), key=lambda kv: -max(kv[1]["records"], 1)):
        n = t["records"] or t["count"]
        name = entity_name(entity, lang)
        parts.append(f"{name} {n:,}件" if lang == "ja" else f"{n:,} {name}")
    return _join(parts, lang, 4)


def _pii_where(fs: FactSet, lang: str) -> str:
    if fs.facts is None:
        return ""
    return _join(list(dict.fromkeys(f.where for f in fs.facts.scan.personal if f.where)), lang, 3)


def _unscannable_summary(fs: FactSet, lang: str) -> str:
    if fs.facts is None:
        return ""
    items = []
    for f in [*fs.facts.extraction.unscannable, *fs.facts.scan.unscannable]:
        text = describe(f.reason, lang)
        items.append(f"{text} ({f.where})" if f.where else text)
    return _join(list(dict.fromkeys(items)), lang, 3)


def _pii_carrier(fs: FactSet, lang: str) -> str:
    attached = bool(fs.values.get("pii.in_attachment"))
    if lang == "ja":
        return "添付ファイル" if attached else "メール"
    return "an attachment" if attached else "a message"


def _misaddressed_evidence(fs: FactSet, lang: str) -> str:
    if fs.facts is None:
        return ""
    sentences = list(dict.fromkeys(e.reason.ja if lang == "ja" else e.reason.en for e in fs.facts.addressing.evidence))
    return ("。" if lang == "ja" else ". ").join(sentences[:3]) + ("…" if len(sentences) > 3 else "")


DISPLAY: dict[str, tuple[Callable[[FactSet, str], str], str]] = {
    "pii.carrier": (
        _pii_carrier,
        "'添付ファイル' / 'an attachment' when the data is attached, else 'メール' / 'a message'",
    ),
    "pii.summary": (_pii_summary, "personal data by kind with counts: 'メールアドレス 5,572件'"),
    "pii.where": (_pii_where, "where the personal data is (attachment › sheet › rows)"),
    "unscannable.summary": (_unscannable_summary, "what could not be read, and where"),
    "recipients.misaddressed_evidence": (
        _misaddressed_evidence,
        "what the mail says against where it goes: 「本文の宛名「…」は example.com の方ですが、宛先は … です」",
    ),
}


def render_value(value: Any, lang: str) -> str:
    if isinstance(value, bool):
        return ("はい" if value else "いいえ") if lang == "ja" else ("yes" if value else "no")
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, tuple | list):
        return _join([str(x) for x in value], lang)
    text = str(value)
    return text if len(text) <= 80 else text[:79] + "…"
