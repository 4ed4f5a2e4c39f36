"""Rule tests in the rspamd style: a sample message beside what the rules must make of it.

    tests/rules/bulk_attachment_to_partner.eml
    tests/rules/bulk_attachment_to_partner.expect.yaml
        action: hold_manager                  # the final action
        hits: [bulk_pii_external]             # exactly these rules hit (enforced and monitor)
        mail_from: taro.yamada@example.co.jp  # optional envelope; default: From and To/Cc/Bcc
        rcpt: [a@partner-bank.co.jp]
        approvers: [hanako.sato@example.co.jp]   # optional
        reason_contains: {ja: "5,572件"}         # optional: text of the strongest reason

`gateway rules test MESSAGE.eml ...` checks a message against its .expect.yaml when there is one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.config.yamlfile import explain, read_yaml
from gateway.policy.errors import PolicyError
from gateway.verdict import Action, Verdict


class Expectation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Action
    hits: list[str] = Field(default_factory=list)
    mail_from: str | None = None
    rcpt: list[str] = Field(default_factory=list)
    approvers: list[str] | None = None
    bcc: list[str] | None = None
    delay_minutes: int | None = None
    reason_contains: dict[str, str] = Field(default_factory=dict)
    note: str = ""


def expectation_path(message: Path) -> Path:
    return message.with_suffix(".expect.yaml")


def load_expectation(message: Path) -> Expectation | None:
    path = expectation_path(message)
    if not path.exists():
        return None
    data = read_yaml(path, PolicyError)
    try:
        return Expectation.model_validate(data)
    except ValidationError as e:
        raise PolicyError(explain(e, data, str(path), noun="field")) from None


def compare(expect: Expectation, verdict: Verdict) -> list[str]:
    """What differs between the expectation and the verdict (empty: the test passes)."""
    problems = []
    if verdict.action is not expect.action:
        problems.append(f"action: expected {expect.action.value}, got {verdict.action.value}")
    got = sorted(h.rule for h in verdict.hits)
    if got != sorted(expect.hits):
        problems.append(f"hits: expected {sorted(expect.hits)}, got {got}")
    if expect.approvers is not None and verdict.approvers != expect.approvers:
        problems.append(f"approvers: expected {expect.approvers}, got {verdict.approvers}")
    if expect.bcc is not None and sorted(verdict.bcc) != sorted(expect.bcc):
        problems.append(f"bcc: expected {sorted(expect.bcc)}, got {sorted(verdict.bcc)}")
    if expect.delay_minutes is not None and verdict.delay_minutes != expect.delay_minutes:
        problems.append(f"delay_minutes: expected {expect.delay_minutes}, got {verdict.delay_minutes}")
    for lang, text in expect.reason_contains.items():
        first: Any = verdict.reasons[0] if verdict.reasons else None
        said = getattr(first, lang, "") if first is not None else ""
        if text not in said:
            problems.append(f"reason ({lang}): {text!r} not in {said!r}")
    return problems
