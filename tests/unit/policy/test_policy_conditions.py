"""The condition language: every operator on every kind of fact, and load errors with file:line."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.config.yamlfile import load_yaml
from gateway.policy.conditions import ConditionError, compile_condition
from gateway.policy.facts import FactSet

VALUES: dict[str, Any] = {
    "pii.records": 5572,
    "pii.bulk": True,
    "pii.entities": ("EMAIL_ADDRESS", "PERSON"),
    "pii.count.EMAIL_ADDRESS": 5572,
    "subject": "【社外秘】申込者一覧",
    "sender.address": "taro.yamada@example.co.jp",
    "attachment.types": ("xlsx",),
    "attachment.names": ("申込者一覧.xlsx", "memo.TXT"),
    "recipients.external_orgs": ("partner-bank.co.jp",),
    "recipients.any.first_time_org": True,
}


def holds(yaml_text: str, params: dict[str, Any] | None = None, values: dict[str, Any] | None = None) -> bool:
    node = compile_condition(load_yaml(yaml_text, "t.yaml"), params or {})
    return node.test(FactSet(dict(VALUES if values is None else values)))


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("pii.records: {gte: 5572}", True),
        ("pii.records: {gt: 5572}", False),
        ("pii.records: {lt: 10}", False),
        ("pii.records: {lte: 5572, gte: 100}", True),
        ("pii.records: 5572", True),
        ("pii.records: [1, 2, 5572]", True),
        ("pii.records: {not_in: [1, 2]}", True),
        ("pii.records: {ne: 5572}", False),
        ("pii.bulk: true", True),
        ("pii.bulk: {ne: true}", False),
        ("pii.count.EMAIL_ADDRESS: {gte: 100}", True),
        ("pii.count.JP_MY_NUMBER: {gte: 1}", False),  # absent entity reads as 0
        ("recipients.any.lookalike: true", False),  # absent signal reads as false
        ("recipients.any.first_time_org: true", True),
        ("pii.entities: EMAIL_ADDRESS", True),
        ("pii.entities: email_address", True),  # case-insensitive
        ("pii.entities: [JP_MY_NUMBER, CREDIT_CARD]", False),
        ("pii.entities: {contains_any: [JP_MY_NUMBER, PERSON]}", True),
        ("attachment.types: {all_in: [xlsx, csv]}", True),
        ("attachment.names: {matches: '\\.xlsx$'}", True),
        ("attachment.names: {matches: '\\.txt$'}", False),  # regex as written: case matters
        ("attachment.names: {matches: '(?i)\\.txt$'}", True),
        ("attachment.types: {empty: false}", True),
        ("subject: {contains: 社外秘}", True),
        ("subject: {contains_any: [confidential, 極秘]}", False),
        ("subject: {matches: '^【社外秘】'}", True),
        ("sender.address: {endswith: '@EXAMPLE.co.jp'}", True),
        ("sender.address: {startswith: hanako}", False),
        ("sender.address: [taro.yamada@example.co.jp, x@y.jp]", True),
        ("sender.address: {not_in: [taro.yamada@example.co.jp]}", False),
        ("recipients.external_orgs: partner-bank.co.jp", True),
        ("{all: [{pii.bulk: true}, {pii.records: {gte: 10}}]}", True),
        ("{any: [{pii.bulk: false}, {pii.records: {gte: 10}}]}", True),
        ("{not: {pii.bulk: true}}", False),
        ("{pii.bulk: true, recipients.any.lookalike: true}", False),  # several keys: all
    ],
)
def test_operators(when: str, expected: bool) -> None:
    assert holds(when) is expected


def test_params_fill_operands() -> None:
    assert holds("pii.records: {gte: $min}", {"min": 100})
    assert not holds("pii.records: {gte: $min}", {"min": 10000})
    assert holds("pii.entities: {contains_any: $ids}", {"ids": ["PERSON"]})


def test_explain_names_the_failing_test() -> None:
    node = compile_condition(load_yaml("{all: [{pii.bulk: true}, {pii.records: {gte: 10000}}]}", "t"), {})
    ok, why = node.explain(FactSet(dict(VALUES)))
    assert not ok
    assert why == "pii.records gte 10,000 (is 5,572)"


@pytest.mark.parametrize(
    ("when", "line", "message"),
    [
        (
            "all:\n  - pii.bulk: true\n  - pii.recrods: {gte: 1}\n",
            3,
            "unknown fact 'pii.recrods' (did you mean 'pii.records'?)",
        ),
        ("pii.count.JP_MYNUMBER: {gte: 1}\n", 1, "unknown fact 'pii.count.JP_MYNUMBER'"),
        ("recipients.any.nonsense: true\n", 1, "unknown fact"),
        ("pii.records:\n  between: [1, 2]\n", 2, "operator 'between' does not apply to a int fact"),
        ("pii.bulk: {gte: 1}\n", 1, "operator 'gte' does not apply to a bool fact"),
        ("pii.records: {gte: many}\n", 1, "expects an integer, got 'many'"),
        ("pii.records: {gte: true}\n", 1, "expects an integer"),
        ("pii.bulk: yes please\n", 1, "expects true or false"),
        ("subject:\n  matches: '(unclosed'\n", 2, "bad regular expression '(unclosed'"),
        ("pii.records: {gte: $nope}\n", 1, "$nope: no such parameter"),
        ("all: []\n", 1, "all: expects a non-empty list"),
        ("all:\n  - pii.bulk: true\n  - 42\n", 3, "a condition must be a non-empty mapping"),
        ("pii.records: {}\n", 1, "no operator given"),
        ("pii.entities: {contains_any: []}\n", 1, "a non-empty list of strings"),
    ],
)
def test_errors_carry_the_line(when: str, line: int, message: str) -> None:
    with pytest.raises(ConditionError) as e:
        compile_condition(load_yaml(when, "t.yaml"), {})
    assert e.value.line == line
    assert message in str(e.value)
