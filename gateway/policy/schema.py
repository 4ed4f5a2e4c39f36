"""The shape of a rule in a rule file (pydantic, at the edge). `when:` is compiled by conditions.py."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gateway.verdict import Action

Param = int | float | str | bool | list[str] | list[int]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Strict):
    ja: str = Field(min_length=1)
    en: str = Field(min_length=1)


class RuleEntry(_Strict):
    """A complete rule (a shipped rule, or a new rule in local.d)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)
    description: Text
    when: dict[str, Any]
    action: Action
    minutes: int | None = Field(default=None, gt=0, le=7 * 24 * 60)
    mode: Literal["enforce", "monitor"] = "enforce"
    enabled: bool = True
    params: dict[str, Param] = Field(default_factory=dict)
    reason: Text | None = None  # templates with {fact} placeholders; default: the description

    @model_validator(mode="after")
    def _minutes(self) -> RuleEntry:
        if self.action is Action.DELAY and self.minutes is None:
            raise ValueError("action delay needs minutes")
        if self.action is not Action.DELAY and self.minutes is not None:
            raise ValueError("minutes applies only to action delay")
        return self


class RuleChange(_Strict):
    """What an overlay (local.d, or a directory group) may change in an existing rule, by name.
    `params` are merged key by key; every other field given replaces the rule's own."""

    name: str = ""
    description: Text | None = None
    when: dict[str, Any] | None = None
    action: Action | None = None
    minutes: int | None = Field(default=None, gt=0, le=7 * 24 * 60)
    mode: Literal["enforce", "monitor"] | None = None
    enabled: bool | None = None
    params: dict[str, Param] | None = None
    reason: Text | None = None


def merge(base: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """A rule's fields with a change applied (params merged)."""
    out = dict(base)
    for key, value in change.items():
        if key == "params":
            out["params"] = {**base.get("params", {}), **value}
        elif key != "name":
            out[key] = value
    if "action" in change and change["action"] != "delay" and "minutes" not in change:
        out.pop("minutes", None)
    return out
