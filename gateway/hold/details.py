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

from gateway.verdict import Verdict

PREVIEW_LINES = 8
PREVIEW_CHARS = 600


def details_of(verdict: Verdict, raw: bytes) -> dict[str, Any]:
    facts = verdict.facts
    recipients = []
    for r in (facts.get("recipients") or {}).get("recipients", []):
        klass = str(r.get("class", ""))
        recipients.append(
            {
                "address": r.get("address", ""),
                "class": klass,
                "external": klass not in ("internal", "affiliate"),
                "organisation": r.get("organisation") or r.get("domain") or "",
                "partner": r.get("partner") or "",
                "signals": list(r.get("signals", [])),
            }
        )
    findings = []
    for f in (facts.get("personal_data") or {}).get("findings", []):
        findings.append(
            {
                "entity": f.get("entity", ""),
                "count": f.get("count", 0),
                "where": f.get("where", ""),
                "samples": list(f.get("samples", []))[:3],
            }
        )
    for f in facts.get("findings", []):  # extraction: unscannable, encrypted ...
        findings.append(
            {"entity": f.get("entity", ""), "count": f.get("count", 1), "where": f.get("where", ""), "samples": []}
        )
    attachments = []
    for a in facts.get("attachments", []):
        name = str(a.get("name") or "")
        attachments.append(
            {
                "name": name,
                "type": a.get("type", ""),
                "size": a.get("size", 0),
                "encrypted": bool(a.get("encrypted")),
                "findings": [f for f in findings if name and name in str(f["where"])],
            }
        )
    evidence = [
        {
            "signal": str(e.get("signal", "")),
            "seen": str(e.get("seen", ""))[:200],
            "where": str(e.get("where", "")),
            "attachment": str(e.get("attachment", ""))[:200],
            "known_at": [str(x) for x in e.get("known_at", [])][:5],
            "goes_to": [str(x) for x in e.get("goes_to", [])][:5],
            "ja": str(e.get("ja", "")),
            "en": str(e.get("en", "")),
        }
        for e in (facts.get("misaddressed") or {}).get("evidence", [])
    ]
    # Headers only: the subject is all we need, and a body nested too deeply to parse must not stop a hold.
    message = email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(raw)
    return {
        "subject": str(message.get("Subject", "") or "")[:300],
        "reasons": [r.to_json() for r in verdict.reasons],
        "recipients": recipients,
        "attachments": attachments,
        "findings": findings,
        "evidence": evidence,  # content addressed to someone else: what it says / where it goes
        # False when no rule in force read the content: no findings were looked for, not none found.
        "content_inspected": bool(facts.get("content_inspected", True)),
        "approver_source": verdict.approver_source,
    }


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
