"""The directory: YAML and CSV, approver routing for hold_manager, per-group rule changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config.policy import PolicySettings
from gateway.policy.directory import load_directory, parse_csv_directory, parse_yaml_directory
from gateway.policy.errors import PolicyError
from gateway.policy.policy import Policy
from gateway.verdict import Action
from tests.unit.policy.factsbuilder import make_facts, pii, recipient

EXAMPLE = Path(__file__).parents[3] / "examples" / "directory.yaml"


def policy(directory: Path = EXAMPLE, fallback: str = "compliance") -> Policy:
    return Policy.load(PolicySettings(directory=directory, fallback_group=fallback))


def first_time_pii(sender: str):  # type: ignore[no-untyped-def]
    return make_facts(
        [recipient("new@customer.example", first_time_sender=True)], [pii("JP_PHONE_NUMBER", 5, 5)], sender=sender
    )


def bulk(sender: str, records: int):  # type: ignore[no-untyped-def]
    return make_facts([recipient("payroll@outsourcer.example")], [pii("PERSON", records, records)], sender=sender)


def test_example_loads() -> None:
    d = load_directory(EXAMPLE)
    taro = d.person("Taro.Yamada@example.co.jp")
    assert taro is not None and taro.manager == "hanako.sato@example.co.jp"
    assert taro.all_groups == ("sales",)
    assert set(d.groups) == {"sales", "hr", "compliance"}


@pytest.mark.parametrize(
    ("sender", "approvers", "source"),
    [
        ("taro.yamada@example.co.jp", ["hanako.sato@example.co.jp", "jiro.suzuki@example.co.jp"], "manager"),
        ("keiko.ito@example.co.jp", ["hr-lead@example.co.jp"], "group:hr"),
        ("new.hire@example.co.jp", ["compliance@example.co.jp"], "fallback:compliance"),
        ("stranger@example.co.jp", ["compliance@example.co.jp"], "fallback:compliance"),
    ],
)
def test_approvers_for_hold_manager(sender: str, approvers: list[str], source: str) -> None:
    verdict = policy().decide(*bulk(sender, 600))
    assert verdict.action is Action.HOLD_MANAGER
    assert (verdict.approvers, verdict.approver_source) == (approvers, source)


def test_a_sender_never_approves_their_own_mail() -> None:
    d = parse_yaml_directory(
        "people:\n  - {address: boss@example.co.jp, manager: boss@example.co.jp}\n"
        "groups:\n  all: {approvers: [boss@example.co.jp, deputy@example.co.jp]}\n",
        "d.yaml",
    )
    assert d.approvers("boss@example.co.jp", ("all",), "") == (["deputy@example.co.jp"], "group:all")
    assert d.approvers("boss@example.co.jp", (), "") == ([], "none")


def test_group_changes_apply_to_members_only() -> None:
    p = policy()
    sales = p.decide(*first_time_pii("taro.yamada@example.co.jp"))
    other = p.decide(*first_time_pii("new.hire@example.co.jp"))
    assert (sales.action, other.action) == (Action.HOLD_MANAGER, Action.HOLD_SENDER)
    assert p.decide(*bulk("keiko.ito@example.co.jp", 100)).action is Action.RELAY  # hr: min_records 500
    assert p.decide(*bulk("keiko.ito@example.co.jp", 600)).action is Action.HOLD_MANAGER
    assert p.decide(*bulk("new.hire@example.co.jp", 100)).action is Action.HOLD_MANAGER


def test_sender_groups_are_facts(tmp_path: Path) -> None:
    local = tmp_path / "local.d"
    local.mkdir()
    (local / "g.yaml").write_text(
        "rules:\n  - name: hr_outside\n    description: {ja: 人事, en: HR}\n"
        "    when: {sender.groups: pii-handlers, sender.department: hr, recipients.any_external: true}\n"
        "    action: hold_sender\n",
        encoding="utf-8",
    )
    p = Policy.load(PolicySettings(local_dir=local, directory=EXAMPLE))
    verdict = p.decide(*make_facts([recipient("x@y.example")], sender="keiko.ito@example.co.jp"))
    assert [h.rule for h in verdict.hits] == ["hr_outside"]


def test_csv_directory(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text(
        "address,name,department,manager,deputies,groups\n"
        "taro@example.co.jp,山田 太郎,sales,boss@example.co.jp,d1@example.co.jp;d2@example.co.jp,a;b\n",
        encoding="utf-8",
    )
    d = load_directory(path)
    taro = d.person("taro@example.co.jp")
    assert taro is not None
    assert taro.deputies == ("d1@example.co.jp", "d2@example.co.jp")
    assert taro.all_groups == ("sales", "a", "b")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("people:\n  - {address: not-an-address}\n", "d.yaml:2: people.0.address: Value error, not an address"),
        ("people:\n  - address: a@example.co.jp\n    boss: x\n", "d.yaml:3: people.0.boss: unknown field"),
        (
            "people:\n  - {address: a@example.co.jp}\n  - {address: A@example.co.jp}\n",
            "d.yaml:3: people.1: duplicate address",
        ),
        ("groups:\n  g:\n    approvers: [nobody]\n", "d.yaml:3: groups.g.approvers: Value error, not an address"),
        ("groups:\n  g:\n    rules:\n      x: {action: explode}\n", "d.yaml:4: groups.g.rules.x.action"),
    ],
)
def test_yaml_errors(text: str, expected: str) -> None:
    with pytest.raises(PolicyError) as e:
        parse_yaml_directory(text, "d.yaml")
    assert any(expected in p for p in e.value.problems), e.value.problems


def test_csv_errors() -> None:
    with pytest.raises(PolicyError) as e:
        parse_csv_directory("address,boss\n", "p.csv")
    assert "p.csv:1: the header must name address" in str(e.value)
    with pytest.raises(PolicyError) as e:
        parse_csv_directory("address,manager\na@example.co.jp,not an address\n", "p.csv")
    assert "p.csv:2: manager: Value error, not an address" in str(e.value)


def test_group_changes_are_checked_against_the_rules(tmp_path: Path) -> None:
    path = tmp_path / "d.yaml"
    path.write_text(
        "groups:\n  sales:\n    rules:\n      no_such_rule: {enabled: false}\n"
        "  hr:\n    rules:\n      bulk_pii_external: {params: {min_records: lots}}\n",
        encoding="utf-8",
    )
    with pytest.raises(PolicyError) as e:
        policy(path, fallback="")
    text = str(e.value)
    assert f"{path}:2: group 'sales': no rule named 'no_such_rule'" in text
    assert "pii.records: gte: expects an integer, got 'lots'" in text and "group 'hr'" in text


def test_fallback_group_must_exist(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as e:
        policy(EXAMPLE, fallback="auditors")
    assert "policy.fallback_group: no group 'auditors' in the directory" in str(e.value)
