"""The fact namespace: every documented fact is collected; entity names follow the scanner."""

from __future__ import annotations

from gateway.config.policy import PolicySettings
from gateway.content import AttachmentInfo, Finding
from gateway.policy.entities import ENTITY_NAMES
from gateway.policy.facts import FACTS, FAMILIES, collect, spec_of
from gateway.policy.policy import Policy
from gateway.scan.model import BULK
from gateway.scan.recognizers import ENTITIES
from tests.unit.policy.factsbuilder import make_facts, pii, recipient


def test_every_scanner_entity_has_a_name_people_read() -> None:
    assert set(ENTITIES) | {BULK} == set(ENTITY_NAMES)


def test_collect_fills_every_fact_with_its_kind() -> None:
    envelope, facts = make_facts(
        [
            recipient("a@partner-bank.co.jp", partner="パートナー銀行", first_time_org=True, visibility="to"),
            recipient("b@examp1e.co.jp", lookalike_of="example.co.jp"),
            recipient("c@example.co.jp", "internal"),
        ],
        [pii("EMAIL_ADDRESS", 30, 30, "attachment a.xlsx", "a.xlsx"), pii("PERSON", 2, 2)],
        subject="【社外秘】一覧",
        body="添付をご確認ください",
        attachments=[AttachmentInfo("a.XLSX", "xlsx", 5000), AttachmentInfo("b.zip", "zip", 100, encrypted=True)],
        unscannable=[Finding("UNSCANNABLE", reason="encrypted-zip", attachment="b.zip")],
    )
    v = collect(envelope, facts).values
    kinds = {"bool": bool, "int": int, "str": str, "list": tuple}
    for name, spec in FACTS.items():
        assert isinstance(v[name], kinds[spec.kind]), name
    assert v["pii.records"] == 30 and v["pii.count.EMAIL_ADDRESS"] == 30 and v["pii.attachment_records"] == 30
    assert v["pii.entities"] == ("EMAIL_ADDRESS", "PERSON")
    assert v["attachment.extensions"] == ("xlsx", "zip") and v["attachment.encrypted"] is True
    assert v["unscannable.reasons"] == ("encrypted-zip",) and v["unscannable.in_attachment"] is True
    assert v["recipients.external_orgs"] == ("パートナー銀行", "examp1e.co.jp")
    assert v["recipients.first_time_orgs"] == ("partner-bank.co.jp",)
    assert v["recipients.lookalike_of"] == ("example.co.jp",)
    assert v["recipients.any.lookalike"] is True and v["recipients.external.any.first_time_org"] is True
    assert v["recipients.all_internal"] is False and v["recipients.internal_count"] == 1
    assert v["subject"] == "【社外秘】一覧" and v["sender.domain"] == "example.co.jp"


def test_families_are_checked() -> None:
    assert spec_of("pii.count.JP_MY_NUMBER") is not None
    assert spec_of("pii.count.MY_NUMBER") is None
    assert spec_of("recipients.any.first_time_org") is not None
    assert spec_of("recipients.any.whatever") is None
    assert set(FAMILIES) == {
        "pii.count.",
        "pii.distinct.",
        "pii.records.",
        "recipients.any.",
        "recipients.external.any.",
    }


def test_shipped_rules_only_use_documented_facts() -> None:
    for rule in Policy.load(PolicySettings()).rules:
        assert all(spec_of(f) for f in rule.condition.facts()), rule.name
