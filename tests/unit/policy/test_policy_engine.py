"""Deciding: the strongest enforced hit wins, monitor hits are only recorded, reasons carry the facts."""

from __future__ import annotations

from pathlib import Path

from gateway.config.policy import PolicySettings
from gateway.content import AttachmentInfo, Finding
from gateway.policy.policy import Policy
from gateway.verdict import Action
from tests.unit.policy.factsbuilder import make_facts, pii, recipient

SHIPPED = Policy.load(PolicySettings())


def bank_leak():  # type: ignore[no-untyped-def]
    """The June 2025 case: 5,572 applicants' e-mail addresses in an attachment to a trusted partner."""
    return make_facts(
        [recipient("tanaka@partner-bank.co.jp", list_verdict="allow")],
        [pii("EMAIL_ADDRESS", 5572, 5572, "attachment 申込者一覧.xlsx › sheet 明細 › rows 2-5573", "申込者一覧.xlsx")],
        bulk=True,
    )


def test_bulk_personal_data_to_a_trusted_partner_needs_a_manager() -> None:
    verdict = SHIPPED.decide(*bank_leak())
    assert verdict.action is Action.HOLD_MANAGER
    assert [h.rule for h in verdict.hits] == ["bulk_pii_external"]
    reason = verdict.reasons[0]
    assert reason.ja.startswith(
        "個人情報 (メールアドレス 5,572件) を含む添付ファイルを社外 (partner-bank.co.jp) に送信しようとしています"
    )
    assert reason.en.startswith(
        "Personal data (5,572 e-mail addresses) in an attachment is about to be sent outside the company "
        "(partner-bank.co.jp)"
    )
    assert verdict.hits[0].facts == {"recipients.any_external": True, "pii.bulk": True, "pii.records": 5572}
    assert len(verdict.misses) == len(SHIPPED.rules) - 1


def test_internal_mail_is_relayed_by_the_internal_rule() -> None:
    verdict = SHIPPED.decide(*make_facts([recipient("a@example.co.jp", "internal")]))
    assert verdict.action is Action.RELAY
    assert [h.rule for h in verdict.hits] == ["internal_only"]


def test_normal_external_mail_with_a_signature_is_relayed() -> None:
    envelope, facts = make_facts([recipient("tanaka@sakura-shoji.co.jp")], [pii("PERSON", 1, 1)])
    verdict = SHIPPED.decide(envelope, facts)
    assert verdict.action is Action.RELAY
    assert verdict.hits == []
    assert verdict.reasons[0].rule == "default_relay"


def test_strongest_wins_and_all_hits_are_kept_in_order() -> None:
    envelope, facts = make_facts(
        [
            recipient("a@partner-bank.co.jp", first_time_sender=True),
            recipient("b@examp1e.co.jp", lookalike_of="example.co.jp"),
        ],
        [pii("JP_MY_NUMBER", 3, 3)],
        visible_external=12,
    )
    verdict = SHIPPED.decide(envelope, facts)
    assert verdict.action is Action.HOLD_MANAGER
    assert [h.rule for h in verdict.hits] == [
        "sensitive_id_external",
        "pii_first_time_external",
        "pii_multiple_orgs",
        "lookalike_domain",
        "many_visible_external",
    ]
    assert [r.rule for r in verdict.reasons] == [h.rule for h in verdict.hits]
    assert "マイナンバー 3件" in verdict.reasons[0].ja


def test_unscannable_attachment_to_outside() -> None:
    envelope, facts = make_facts(
        [recipient("a@partner-bank.co.jp")],
        attachments=[AttachmentInfo("list.zip", "zip", 2000, encrypted=True)],
        unscannable=[Finding("UNSCANNABLE", reason="encrypted-zip", attachment="list.zip")],
    )
    verdict = SHIPPED.decide(envelope, facts)
    assert verdict.action is Action.HOLD_SENDER
    assert "暗号化された ZIP ファイル (attachment list.zip)" in verdict.reasons[0].ja


def test_rewrite_bcc_lists_the_visible_external_addresses() -> None:
    recipients = [recipient(f"p{i}@c{i}.example", visibility="to") for i in range(10)]
    recipients.append(recipient("boss@example.co.jp", "internal", visibility="cc"))
    recipients.append(recipient("hidden@c1.example", visibility="bcc"))
    verdict = SHIPPED.decide(*make_facts(recipients, visible_external=10))
    assert verdict.action is Action.REWRITE_BCC
    assert sorted(verdict.bcc) == sorted(f"p{i}@c{i}.example" for i in range(10))


def site(tmp_path: Path, text: str) -> Policy:
    local = tmp_path / "local.d"
    local.mkdir(exist_ok=True)
    (local / "site.yaml").write_text(text, encoding="utf-8")
    return Policy.load(PolicySettings(local_dir=local))


def test_monitor_hits_are_recorded_but_do_not_act(tmp_path: Path) -> None:
    policy = site(tmp_path, "rules:\n  - name: bulk_pii_external\n    mode: monitor\n")
    verdict = policy.decide(*bank_leak())
    assert verdict.action is Action.RELAY
    assert [(h.rule, h.mode) for h in verdict.hits] == [("bulk_pii_external", "monitor")]
    assert verdict.monitor_hits == verdict.hits
    assert verdict.reasons[0].rule == "default_relay"
    assert verdict.to_json()["rules"]["hits"][0]["mode"] == "monitor"


def test_delay_takes_the_longest_minutes(tmp_path: Path) -> None:
    policy = site(
        tmp_path,
        """\
rules:
  - name: external_delay
    description: {ja: 社外宛ては5分保留, en: External mail waits 5 minutes}
    when: {recipients.any_external: true}
    action: delay
    minutes: 5
  - name: attachment_delay
    description: {ja: 添付は10分保留, en: Attachments wait 10 minutes}
    when: {attachment.count: {gte: 1}}
    action: delay
    minutes: 10
""",
    )
    envelope, facts = make_facts([recipient("a@sakura-shoji.co.jp")], attachments=[AttachmentInfo("a.pdf", "pdf", 10)])
    verdict = policy.decide(envelope, facts)
    assert (verdict.action, verdict.delay_minutes) == (Action.DELAY, 10)
    assert verdict.to_json()["delay_minutes"] == 10


def test_disabled_rule_is_neither_hit_nor_miss(tmp_path: Path) -> None:
    policy = site(tmp_path, "rules:\n  - name: bulk_pii_external\n    enabled: false\n")
    verdict = policy.decide(*bank_leak())
    assert "bulk_pii_external" not in [h.rule for h in verdict.hits] + [m.rule for m in verdict.misses]


def test_json_shows_hits_misses_action_and_reasons() -> None:
    out = SHIPPED.decide(*bank_leak()).to_json()
    assert out["action"] == "hold_manager"
    assert {"rule", "ja", "en"} <= set(out["reasons"][0])
    assert out["rules"]["hits"][0]["rule"] == "bulk_pii_external"
    assert {m["rule"] for m in out["rules"]["misses"]} == {r.name for r in SHIPPED.rules} - {"bulk_pii_external"}
    assert all(m["why"] for m in out["rules"]["misses"])
    assert out["approvers"] == [] and out["approver_source"] == "none"
