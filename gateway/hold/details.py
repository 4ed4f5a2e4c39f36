"""What a person needs to decide on a held message, taken from the verdict once when it is held:
reasons, recipients (organisation, external or not, signals), attachments with their findings, and
the personal data found (masked samples only). The body preview is read from the held raw message
when a page shows it, and never stored or logged."""

from __future__ import annotations

import email
import email.parser
import email.policy
from email.message import EmailMessage
from typing import Any

from gateway.mail.mimeparse import parse_header_block
from gateway.mail.safe_text import one_line
from gateway.verdict import Verdict

PREVIEW_LINES = 8
PREVIEW_CHARS = 600
NAME_CHARS = 200  # a file name, organisation, where path, address
REASON_CHARS = 500
FIELDS = {"to": "to", "cc": "cc", "bcc": "bcc", "hidden": "bcc"}  # recipients.model visibility → header
NOT_PERSONAL = frozenset({"BULK_PERSONAL_DATA", "UNSCANNABLE", "AMBIGUOUS_MIME"})


def details_of(verdict: Verdict, raw: bytes) -> dict[str, Any]:
    """Everything here that came from the message is stored as one safe line (gateway.mail.safe_text)."""
    facts = verdict.facts
    recipients = []
    for r in (facts.get("recipients") or {}).get("recipients", []):
        klass = str(r.get("class", ""))
        recipients.append(
            {
                "address": one_line(r.get("address", ""), NAME_CHARS),
                "class": klass,
                "external": klass not in ("internal", "affiliate"),
                "organisation": one_line(r.get("organisation") or r.get("domain") or "", NAME_CHARS),
                "partner": one_line(r.get("partner") or "", NAME_CHARS),
                "signals": [one_line(s, 60) for s in r.get("signals", [])],
                "field": FIELDS.get(str(r.get("visibility", "")), ""),
            }
        )
    findings = []
    for f in (facts.get("personal_data") or {}).get("findings", []):
        findings.append(
            {
                "entity": f.get("entity", ""),
                # records when the data is a table (one person a row), else occurrences: as the reasons count
                "count": int(f.get("records") or f.get("count") or 0),
                "occurrences": int(f.get("count") or 0),
                "records": int(f.get("records") or 0),
                "where": str(f.get("where", "")),
                "samples": [one_line(x, 80) for x in list(f.get("samples", []))[:3]],
            }
        )
    for f in facts.get("findings", []):  # extraction: unscannable, encrypted ...
        findings.append(
            {
                "entity": f.get("entity", ""),
                "count": int(f.get("count") or 1),
                "where": str(f.get("where", "")),
                "reason": one_line(f.get("reason", ""), 60),
                "samples": [],
            }
        )
    attachments = []
    for a in facts.get("attachments", []):
        name = str(a.get("name") or "")
        attachments.append(
            {
                "name": one_line(name, NAME_CHARS),
                "type": one_line(a.get("type", ""), 40),
                "size": a.get("size", 0),
                "encrypted": bool(a.get("encrypted")),
                "findings": [
                    dict(f, where=one_line(f["where"], NAME_CHARS)) for f in findings if name and name in f["where"]
                ],
            }
        )
    for f in findings:  # matched on the full text above; kept as one line
        f["where"] = one_line(f["where"], NAME_CHARS)
    evidence = [  # message text, so one safe line each (gateway.mail.safe_text)
        {
            "signal": one_line(e.get("signal", ""), 60),
            "seen": one_line(e.get("seen", ""), 200),
            "where": one_line(e.get("where", ""), NAME_CHARS),
            "attachment": one_line(e.get("attachment", ""), 200),
            "known_at": [one_line(x, NAME_CHARS) for x in e.get("known_at", [])][:5],
            "goes_to": [one_line(x, NAME_CHARS) for x in e.get("goes_to", [])][:5],
            "ja": one_line(e.get("ja", ""), REASON_CHARS),
            "en": one_line(e.get("en", ""), REASON_CHARS),
        }
        for e in (facts.get("misaddressed") or {}).get("evidence", [])
    ]
    field = verdict.subject
    if field is None:  # a verdict the pipeline did not make: read the header block (never the body)
        field = subject_field(parse_header_block(raw))
    return {
        "subject": one_line(decode_subject(field), 300),
        "reasons": [
            {"rule": r.rule, "ja": one_line(r.ja, REASON_CHARS), "en": one_line(r.en, REASON_CHARS)}
            for r in verdict.reasons
        ],
        "recipients": recipients,
        "attachments": attachments,
        "findings": findings,
        "evidence": evidence,  # content addressed to someone else: what it says / where it goes
        "totals": totals(findings),
        # False when no rule in force read the content: no findings were looked for, not none found.
        "content_inspected": bool(facts.get("content_inspected", True)),
        "approver_source": verdict.approver_source,
        "names": {one_line(a, NAME_CHARS): one_line(n, 80) for a, n in (verdict.names or {}).items()},
    }


def complete(details: dict[str, Any]) -> dict[str, Any]:
    """A stored `details` with every key the templates read (records held before a key existed)."""
    d = {"subject": "", "reasons": [], "recipients": [], "attachments": [], "findings": [], **details}
    d["findings"] = [{"where": "", "samples": [], "reason": "", "count": 0, **f} for f in d["findings"]]
    d["attachments"] = [{"name": "", "type": "", "size": 0, "findings": [], **a} for a in d["attachments"]]
    d["recipients"] = [
        {"address": "", "external": False, "organisation": "", "partner": "", "signals": [], "field": "", **r}
        for r in d["recipients"]
    ]
    d.setdefault("totals", totals(d["findings"]))
    d.setdefault("content_inspected", True)
    d.setdefault("names", {})
    return d


def totals(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per entity over the message, counted as the rules' reasons count them (records, else count)."""
    sums: dict[str, list[int]] = {}
    for f in findings:
        if "occurrences" in f and f["entity"] not in NOT_PERSONAL:
            s = sums.setdefault(f["entity"], [0, 0])
            s[0] += f["occurrences"]
            s[1] += f["records"]
    out = [{"entity": e, "count": records or count} for e, (count, records) in sums.items()]
    return sorted(out, key=lambda t: -t["count"])


def subject_field(headers: email.message.Message) -> str:
    """The first Subject field as it travels (encoded words not decoded: cheap, for every message)."""
    for name, value in headers.raw_items():
        if name.lower() == "subject":
            return str(value)
    return ""


def decode_subject(field: str) -> str:
    """A Subject field decoded as the default policy decodes it (encoded words), whatever policy parsed it."""
    try:
        return str(email.policy.default.header_fetch_parse("Subject", field) or "") if field else ""
    except (ValueError, LookupError, TypeError):  # a header the parser cannot decode: no subject
        return ""


def preview(raw: bytes) -> str:
    """The first lines of the message's first text part (shown on the page only)."""
    try:
        message = email.message_from_bytes(raw, policy=email.policy.default)
    except RecursionError:  # nested too deeply to parse: no preview
        return ""
    assert isinstance(message, EmailMessage)
    try:
        part = message.get_body(preferencelist=("plain", "html"))
        text = part.get_content() if part is not None else ""
    except (LookupError, KeyError, ValueError, AssertionError):
        return ""
    if not isinstance(text, str):
        return ""
    if part is not None and part.get_content_type() == "text/html":
        import re

        text = re.sub(r"<[^>]+>", " ", text)
    lines = [line.rstrip() for line in text.splitlines() if line.strip()][:PREVIEW_LINES]
    return "\n".join(lines)[:PREVIEW_CHARS]
