"""Rule files and local.d overlays: merging, disabling, adding; every mistake named with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config.policy import SHIPPED_RULES, PolicySettings
from gateway.policy.errors import PolicyError
from gateway.policy.policy import Policy

BASE = """\
rules:
  - name: bulk
    description: {ja: 大量の個人情報, en: Bulk personal data}
    when:
      pii.records: {gte: $min}
    params: {min: 10}
    action: hold_manager
  - name: lookalike
    description: {ja: 類似ドメイン, en: Lookalike domain}
    when: {recipients.any.lookalike: true}
    action: hold_sender
"""


def setup(tmp_path: Path, base: str = BASE, **local: str) -> PolicySettings:
    rules = tmp_path / "rules"
    (rules / "local.d").mkdir(parents=True)
    (rules / "10-base.yaml").write_text(base, encoding="utf-8")
    for name, text in local.items():
        (rules / "local.d" / f"{name}.yaml").write_text(text, encoding="utf-8")
    return PolicySettings(rules_dir=rules)


def problems(settings: PolicySettings) -> list[str]:
    with pytest.raises(PolicyError) as e:
        Policy.load(settings)
    return e.value.problems


def test_shipped_rules_load() -> None:
    policy = Policy.load(PolicySettings())
    names = [r.name for r in policy.rules]
    assert "bulk_pii_external" in names and "internal_only" in names
    assert all(r.origin.startswith(str(SHIPPED_RULES)) for r in policy.rules)


def test_overlay_changes_a_threshold_and_keeps_the_rest(tmp_path: Path) -> None:
    settings = setup(tmp_path, site="rules:\n  - name: bulk\n    params: {min: 500}\n")
    policy = Policy.load(settings)
    bulk = next(r for r in policy.rules if r.name == "bulk")
    assert bulk.params == {"min": 500}
    assert bulk.action.value == "hold_manager"
    assert policy.sources[0].changed_by == [f"{tmp_path}/rules/local.d/site.yaml:2"]


def test_overlay_disables_changes_action_mode_and_adds(tmp_path: Path) -> None:
    site = """\
rules:
  - name: lookalike
    enabled: false
  - name: bulk
    action: delay
    minutes: 15
    mode: monitor
  - name: zip_to_outside
    description: {ja: ZIP 添付, en: ZIP attachment}
    when: {attachment.types: zip, recipients.any_external: true}
    action: hold_sender
"""
    policy = Policy.load(setup(tmp_path, site=site))
    by_name = {r.name: r for r in policy.rules}
    assert set(by_name) == {"bulk", "zip_to_outside"}
    assert (by_name["bulk"].action.value, by_name["bulk"].minutes, by_name["bulk"].mode) == ("delay", 15, "monitor")


@pytest.mark.parametrize(
    ("site", "expected"),
    [
        ("rules:\n  - name: bulk\n    colour: red\n", "local.d/site.yaml:3: colour: unknown field"),
        ("rules:\n  - name: bulk\n    action: shred\n", "local.d/site.yaml:3: action: Input should be 'relay'"),
        ("rules:\n  - name: bulk\n    action: delay\n", "action delay needs minutes"),
        (
            "rules:\n  - name: bulk\n    when:\n      pii.recrods: {gte: 1}\n",
            "local.d/site.yaml:4: rule 'bulk': when: unknown fact 'pii.recrods'",
        ),
        (
            "rules:\n  - name: new_rule\n    when: {pii.bulk: true}\n    action: reject\n",
            "local.d/site.yaml:2: description: required field is missing",
        ),
        (
            "rules:\n  - name: bulk\n    params: {min: 5}\n  - name: bulk\n    enabled: false\n",
            "local.d/site.yaml:4: rule 'bulk': duplicate name in local.d",
        ),
        (
            "rules:\n  - name: bulk\n    params: {min: [1, x]}\n",
            "site.yaml:3: params: Value error, min: a parameter is",
        ),
        ("rules: [\n", "local.d/site.yaml:2: not valid YAML"),
        ("rules:\n  - name: bulk\n    mode: quiet\n", "mode: Input should be 'enforce' or 'monitor'"),
        (
            "rules:\n  - name: bulk\n    reason: {ja: '{pii.nothing} です', en: x}\n",
            "local.d/site.yaml:3: rule 'bulk': unknown placeholder {pii.nothing}",
        ),
        (
            "rules:\n  - name: bulk\n    params: {min: 1}\n    params: {min: 2}\n",
            "site.yaml:4: rules.0.params: duplicate key",
        ),
    ],
)
def test_overlay_mistakes_name_file_and_line(tmp_path: Path, site: str, expected: str) -> None:
    found = problems(setup(tmp_path, site=site))
    assert any(expected in p for p in found), found


def test_duplicate_names_across_shipped_files(tmp_path: Path) -> None:
    settings = setup(tmp_path)
    (tmp_path / "rules" / "20-more.yaml").write_text(BASE, encoding="utf-8")
    found = problems(settings)
    assert (
        f"{tmp_path}/rules/20-more.yaml:2: rule 'bulk': duplicate name (first at {tmp_path}/rules/10-base.yaml:2)"
        in found
    )


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    base = BASE.replace("pii.records", "pii.recrods").replace("hold_sender", "hold_everything")
    found = problems(setup(tmp_path, base=base))
    assert len(found) == 2
    assert any("10-base.yaml:5: rule 'bulk': when: unknown fact" in p for p in found)
    assert any("10-base.yaml:11: action:" in p for p in found)


def test_missing_rules_directory(tmp_path: Path) -> None:
    found = problems(PolicySettings(rules_dir=tmp_path / "nowhere"))
    assert found == [f"{tmp_path}/nowhere: the rules directory does not exist"]


def test_a_rule_file_must_have_rules(tmp_path: Path) -> None:
    found = problems(setup(tmp_path, base="- name: x\n"))
    assert found == [f"{tmp_path}/rules/10-base.yaml:1: a rule file is a mapping with one key, rules: [...]"]
