"""The rules decide what is inspected: which facts need the content (extraction and the personal-data
scan), which facts a rule reads, whether a policy reads content at all (every sender-group variant
included), and the fail-closed refusal to decide content rules on facts gathered without content."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gateway.config.policy import SHIPPED_RULES, PolicySettings
from gateway.inspection.facts import Facts
from gateway.message import Envelope
from gateway.policy.facts import DISPLAY, FACTS, FAMILIES, needs_content
from gateway.policy.policy import ContentNotInspected, Policy, reads_content
from gateway.verdict import Action
from tests.unit.policy.factsbuilder import make_facts, pii, recipient

# Every fact of FACTS, classified by hand: a new fact must be added to one of these two lists.
WITHOUT = [
    "message.size",
    "message.mime_defects",
    "message.is_reply",
    "recipients.count",
    "recipients.external_count",
    "recipients.internal_count",
    "recipients.affiliate_count",
    "recipients.invalid_count",
    "recipients.all_internal",
    "recipients.any_external",
    "recipients.external_orgs",
    "recipients.external_org_count",
    "recipients.visible_external",
    "recipients.hidden_external",
    "recipients.visible_count",
    "recipients.addresses",
    "recipients.domains",
    "recipients.external_domains",
    "recipients.partners",
    "recipients.first_time_orgs",
    "recipients.lookalike_domains",
    "recipients.lookalike_of",
    "recipients.signals",
    "sender.address",
    "sender.domain",
    "sender.class",
    "sender.department",
    "sender.groups",
    "sender.in_directory",
]
CONTENT = [
    "subject",
    "body",
    "pii.entities",
    "pii.count",
    "pii.records",
    "pii.bulk",
    "pii.in_attachment",
    "pii.attachment_records",
    "unscannable",
    "unscannable.reasons",
    "unscannable.in_attachment",
    "ambiguous_mime",
    "attachment.count",
    "attachment.names",
    "attachment.extensions",
    "attachment.types",
    "attachment.encrypted",
    "attachment.max_size",
    "attachment.total_size",
    "recipients.addressee_mismatch",  # greetings and attachments compared with the recipients
    "recipients.display_name_elsewhere",  # compared with the contact book along with the content
    "recipients.thread_new_org",
    "recipients.attachment_seen_elsewhere",
    "recipients.misaddressed",
    "recipients.misaddressed_signals",
]
FAMILY_NEEDS = {
    "pii.count.": True,
    "pii.distinct.": True,
    "pii.records.": True,
    "recipients.any.": False,
    "recipients.external.any.": False,
}
FAMILY_NAMES = [
    (prefix + suffix, FAMILY_NEEDS[prefix])
    for prefix, (_, suffixes, _) in FAMILIES.items()
    for suffix in sorted(suffixes)
]

RECIPIENT_RULES = """\
rules:
  - name: lookalike
    description: {ja: 類似ドメイン, en: Lookalike domain}
    when: {recipients.any.lookalike: true}
    action: hold_sender
    reason: {ja: "類似ドメイン ({recipients.lookalike_domains})", en: "Lookalike ({recipients.lookalike_domains})"}
  - name: big_outside
    description: {ja: 大きいメール, en: Big mail}
    when:
      all:
        - message.size: {gte: 10000000}
        - not: {sender.class: internal}
        - any: [{recipients.any_external: true}, {message.is_reply: false}]
    action: hold_sender
"""
SUMMARY_ONLY = """\
rules:
  - name: outside
    description: {ja: 社外宛て, en: To outside}
    when: {recipients.any_external: true}
    action: delay
    minutes: 5
    reason: {ja: "社外宛て", en: "Outside: {pii.summary}"}
"""
PII_OUTSIDE = """\
rules:
  - name: pii_outside
    description: {ja: 個人情報を社外へ, en: Personal data to outside}
    mode: monitor
    when: {recipients.any_external: true, pii.count: {gte: 1}}
    action: hold_sender
"""


def rules_dir(tmp_path: Path, *texts: str, local: str = "") -> Path:
    rules = tmp_path / "rules"
    (rules / "local.d").mkdir(parents=True)
    for i, text in enumerate(texts):
        (rules / f"{i:02d}.yaml").write_text(text, encoding="utf-8")
    if local:
        (rules / "local.d" / "site.yaml").write_text(local, encoding="utf-8")
    return rules


def load(rules: Path | None = None, directory: Path | None = None) -> Policy:
    return Policy.load(PolicySettings(rules_dir=rules, directory=directory))


def directory(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "directory.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def without_content(envelope_facts: tuple[Envelope, Facts]) -> tuple[Envelope, Facts]:
    envelope, facts = envelope_facts
    facts.content_inspected = False
    return envelope, facts


# -- which facts need the content ----------------------------------------------------------------


def test_every_fact_is_classified() -> None:
    assert sorted(FACTS) == sorted(WITHOUT + CONTENT)
    assert not set(WITHOUT) & set(CONTENT)
    assert set(FAMILIES) == set(FAMILY_NEEDS)


@pytest.mark.parametrize(
    ("name", "needed"),
    [*((n, False) for n in WITHOUT), *((n, True) for n in CONTENT), *FAMILY_NAMES, *((n, True) for n in DISPLAY)],
)
def test_needs_content(name: str, needed: bool) -> None:
    assert needs_content(name) is needed


@pytest.mark.parametrize(
    "name", ["message.new_fact", "message", "recipients", "sender", "future.fact", "pii", "attachment", ""]
)
def test_unknown_names_count_as_content(name: str) -> None:
    assert needs_content(name)  # fail closed: a fact not listed as content-free needs the content


# -- what a rule reads ---------------------------------------------------------------------------


def test_rule_reads_its_condition_and_its_placeholders(tmp_path: Path) -> None:
    policy = load(rules_dir(tmp_path, RECIPIENT_RULES, SUMMARY_ONLY))
    lookalike, big, outside = policy.rules
    assert lookalike.reads() == {"recipients.any.lookalike", "recipients.lookalike_domains"}
    assert big.reads() == {"message.size", "sender.class", "recipients.any_external", "message.is_reply"}
    assert outside.reads() == {"recipients.any_external", "pii.summary"}


def test_reads_content_of_rule_lists(tmp_path: Path) -> None:
    policy = load(rules_dir(tmp_path, RECIPIENT_RULES, SUMMARY_ONLY))
    lookalike, big, outside = policy.rules
    assert reads_content([]) is False
    assert reads_content([lookalike, big]) is False
    assert reads_content([outside]) is True
    assert reads_content([lookalike, outside]) is True


def test_shipped_rules_read_what_the_table_says() -> None:
    reading = {r.name for r in load().rules if reads_content([r])}
    assert reading == {
        "bulk_pii_external",
        "sensitive_id_external",
        "pii_first_time_external",
        "pii_multiple_orgs",
        "unscannable_external",
        "misaddressed_external",  # greetings and attachments against the recipients
    }


# -- whether a policy reads content --------------------------------------------------------------


def test_an_empty_rules_directory_reads_nothing(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    policy = load(tmp_path / "rules")
    assert policy.rules == [] and policy.reads_content is False


def test_recipient_only_rules_read_no_content(tmp_path: Path) -> None:
    assert load(rules_dir(tmp_path, RECIPIENT_RULES)).reads_content is False


def test_the_shipped_recipient_rules_alone_read_no_content(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    shutil.copy(SHIPPED_RULES / "20-recipients.yaml", rules)
    assert load(rules).reads_content is False


def test_the_shipped_misaddressed_rule_reads_content(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    shutil.copy(SHIPPED_RULES / "25-misaddressed.yaml", rules)
    assert load(rules).reads_content is True


def test_shipped_rules_read_content() -> None:
    assert load().reads_content is True


def test_a_reason_placeholder_alone_reads_content(tmp_path: Path) -> None:
    assert load(rules_dir(tmp_path, RECIPIENT_RULES, SUMMARY_ONLY)).reads_content is True


def test_a_monitored_rule_reads_content(tmp_path: Path) -> None:
    assert load(rules_dir(tmp_path, RECIPIENT_RULES, PII_OUTSIDE)).reads_content is True


def test_disabled_content_rules_read_nothing(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(SHIPPED_RULES, rules, ignore=shutil.ignore_patterns("local.d"))
    (rules / "local.d").mkdir()
    off = [
        "bulk_pii_external",
        "sensitive_id_external",
        "pii_first_time_external",
        "pii_multiple_orgs",
        "unscannable_external",
        "misaddressed_external",
    ]
    text = "rules:\n" + "".join(f"  - {{name: {n}, enabled: false}}\n" for n in off)
    (rules / "local.d" / "off.yaml").write_text(text, encoding="utf-8")
    assert load(rules).reads_content is False
    (rules / "local.d" / "off.yaml").write_text(text.replace("pii_multiple_orgs", "lookalike_domain"), "utf-8")
    assert load(rules).reads_content is True


GROUP_READS = """\
people:
  - {address: keiko.ito@example.co.jp, department: hr}
  - {address: taro.yamada@example.co.jp, department: sales}
groups:
  hr:
    rules:
      %s
  sales:
    rules:
      lookalike: {action: reject}
"""


@pytest.mark.parametrize(
    "change",
    [
        "big_outside: {when: {all: [{recipients.any_external: true}, {pii.count: {gte: 1}}]}}",
        'lookalike: {reason: {ja: "{pii.summary}", en: "{pii.summary}"}}',
        'big_outside: {description: {ja: "大きい", en: "Big mail with {attachment.names}"}}',
    ],
    ids=["when", "reason", "description"],
)
def test_a_group_change_that_reads_content_makes_the_policy_read_it(tmp_path: Path, change: str) -> None:
    rules = rules_dir(tmp_path, RECIPIENT_RULES)
    assert load(rules, directory(tmp_path, GROUP_READS % "lookalike: {action: reject}")).reads_content is False
    policy = load(rules, directory(tmp_path, GROUP_READS % change))
    assert policy.reads_content is True
    # only the group's own variant reads it: the rules of everyone else still do not
    assert reads_content(policy.rules) is False
    assert reads_content(policy.rules_for(("hr",))) is True
    assert reads_content(policy.rules_for(("sales",))) is False


BOTH_GROUPS = """\
people:
  - {address: both@example.co.jp, groups: [a, b]}
  - {address: only.a@example.co.jp, groups: [a]}
  - {address: only.b@example.co.jp, groups: [b]}
groups:
  a:
    rules:
      dormant: {when: {pii.count: {gte: 1}}}
  b:
    rules:
      dormant: {enabled: true}
"""
DORMANT = """\
rules:
  - name: dormant
    description: {ja: 休止中, en: Dormant}
    enabled: false
    when: {recipients.any_external: true}
    action: hold_sender
"""


def test_a_group_combination_that_reads_content_is_found_when_first_met(tmp_path: Path) -> None:
    # Group a gives the disabled rule a content condition, group b enables it: each alone reads no
    # content, a member of both does. The load cannot list every combination; the first message of
    # such a sender decided without content raises, and from then on the policy reads content.
    policy = load(rules_dir(tmp_path, RECIPIENT_RULES, DORMANT), directory(tmp_path, BOTH_GROUPS))
    assert policy.reads_content is False
    for sender, action in (("only.a@example.co.jp", Action.RELAY), ("only.b@example.co.jp", Action.HOLD_SENDER)):
        verdict = policy.decide(*without_content(make_facts([recipient("x@customer.example")], sender=sender)))
        assert verdict.action is action
    assert policy.reads_content is False
    with pytest.raises(ContentNotInspected):
        policy.decide(*without_content(make_facts([recipient("x@customer.example")], sender="both@example.co.jp")))
    assert policy.reads_content is True
    found = make_facts([recipient("x@customer.example")], [pii("PERSON", 1)], sender="both@example.co.jp")
    assert [h.rule for h in policy.decide(*found).hits] == ["dormant"]


# -- deciding without the content ----------------------------------------------------------------


def test_content_rules_refuse_facts_without_content() -> None:
    facts = make_facts([recipient("x@customer.example")], [pii("JP_MY_NUMBER", 1)])
    assert facts[1].content_inspected is True
    assert load().decide(*facts).action is Action.HOLD_MANAGER
    with pytest.raises(ContentNotInspected):
        load().decide(*without_content(facts))


def test_recipient_rules_decide_without_content(tmp_path: Path) -> None:
    policy = load(rules_dir(tmp_path, RECIPIENT_RULES))
    plain = policy.decide(*without_content(make_facts([recipient("x@customer.example")])))
    assert plain.action is Action.RELAY and plain.hits == []
    lookalike = make_facts([recipient("x@examp1e.co.jp", lookalike_of="example.co.jp")])
    assert policy.decide(*without_content(lookalike)).action is Action.HOLD_SENDER


def test_only_the_senders_own_rules_count(tmp_path: Path) -> None:
    rules = rules_dir(tmp_path, RECIPIENT_RULES)
    policy = load(rules, directory(tmp_path, GROUP_READS % 'lookalike: {reason: {ja: "{pii.summary}", en: "x"}}'))
    outside = [recipient("x@customer.example")]
    assert policy.decide(*without_content(make_facts(outside, sender="taro.yamada@example.co.jp"))).hits == []
    with pytest.raises(ContentNotInspected):
        policy.decide(*without_content(make_facts(outside, sender="keiko.ito@example.co.jp")))


def test_facts_json_says_whether_the_content_was_inspected() -> None:
    _, facts = make_facts()
    assert facts.to_json()["content_inspected"] is True
    facts.content_inspected = False
    assert facts.to_json()["content_inspected"] is False
