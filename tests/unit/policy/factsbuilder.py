"""Real Facts for policy tests, built from the inspection dataclasses (no inspection run)."""

from __future__ import annotations

from gateway.content import AttachmentInfo, Extraction, Finding, Segment
from gateway.inspection.facts import Facts
from gateway.message import Envelope
from gateway.recipients.domains import RecipientClass
from gateway.recipients.model import RecipientAssessment, RecipientRisk
from gateway.scan.model import BULK, PersonalData, ScanResult

SENDER = "taro.yamada@example.co.jp"


def recipient(address: str, cls: str = "external", **kw: object) -> RecipientRisk:
    domain = address.rpartition("@")[2]
    r = RecipientRisk(address, RecipientClass(cls), domain=domain, domain_unicode=domain, organisation=domain)
    r.signals.append(cls)
    for key, value in kw.items():
        setattr(r, key, value)
        if value is True:
            r.signals.append(key)
    if r.lookalike_of:
        r.signals.append("lookalike")
    return r


def pii(entity: str, count: int, records: int = 0, where: str = "", attachment: str = "") -> PersonalData:
    return PersonalData(
        entity, count=count, distinct=count, records=records, location=where, attachment=attachment, samples=("t***",)
    )


def make_facts(
    recipients: list[RecipientRisk] | None = None,
    findings: list[PersonalData] | None = None,
    *,
    sender: str = SENDER,
    subject: str = "",
    body: str = "",
    attachments: list[AttachmentInfo] | None = None,
    unscannable: list[Finding] | None = None,
    visible_external: int = 0,
    bulk: bool = False,
    sender_groups: list[str] | None = None,
) -> tuple[Envelope, Facts]:
    recipients = recipients if recipients is not None else [recipient("a@example.co.jp", "internal")]
    segments = [Segment(subject, "subject", field="Subject"), Segment(body, "body", part="1")]
    found: list[Finding] = list(findings or [])
    records = max((f.records for f in findings or []), default=0)
    if bulk:
        found.append(PersonalData(BULK, count=records, records=records))
    assessment = RecipientAssessment(
        sender,
        "internal",
        sender_groups=list(sender_groups or []),
        recipients=recipients,
        external_organisations=list(dict.fromkeys(r.partner or r.organisation for r in recipients if r.is_external)),
        visible_external=visible_external,
        headers_seen=True,
    )
    facts = Facts(
        size=1000,
        mime_defects=0,
        extraction=Extraction(segments=segments, findings=list(unscannable or []), attachments=list(attachments or [])),
        recipients=assessment,
        scan=ScanResult(findings=found, records=records),
    )
    return Envelope(sender, tuple(r.address for r in recipients)), facts
