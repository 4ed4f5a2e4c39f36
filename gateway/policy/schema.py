"""The shape of a rule in a rule file (pydantic, at the edge). `when:` is compiled by conditions.py."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gateway.config.yamlfile import Located
from gateway.verdict import Action

Param = Any  # a scalar or a list of scalars, checked by _check_param


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

    _params = field_validator("params")(lambda cls, v: _check_params(v))

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

    _params = field_validator("params")(lambda cls, v: _check_params(v))


def _check_params(params: dict[str, Any] | None) -> dict[str, Any] | None:
    scalar = (int, float, str, bool)
    for name, value in (params or {}).items():
        ok = isinstance(value, scalar) or (
            isinstance(value, list) and all(isinstance(x, scalar) and type(x) is type(value[0]) for x in value)
        )
        if not ok:
            raise ValueError(f"{name}: a parameter is a number, a string, true/false or a list of one kind of them")
    return params


def merge(base: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """A rule's fields with a change applied (params merged); lines are kept for error messages."""
    out = Located(base)
    out.line = getattr(base, "line", 0)
    out.lines = dict(getattr(base, "lines", {}))
    for key, value in change.items():
        if key == "name":
            continue
        if key == "params":
            params = Located({**base.get("params", {}), **value})
            params.lines = {**getattr(base.get("params"), "lines", {}), **getattr(value, "lines", {})}
            value = params
        out[key] = value
        change_lines: dict[str, int] = getattr(change, "lines", {})
        if key in change_lines:
            out.lines[key] = change_lines[key]
    if "action" in change and change["action"] != "delay" and "minutes" not in change:
        out.pop("minutes", None)
    return out
