"""Rule files: shipped defaults in rules/*.yaml, the site's overlays in rules/local.d/*.yaml.

    rules:
      - name: bulk_pii_external
        description: {ja: ..., en: ...}
        when: {all: [{pii.bulk: true}, {recipients.any_external: true}]}
        action: hold_manager
        params: {min_records: 100}
        reason: {ja: "個人情報 ({pii.summary}) を…", en: "..."}

An overlay entry whose name is a shipped rule changes it (any field; `params` merge key by key;
`enabled: false` disables it); any other entry is a new rule and must be complete. Files are read
in name order; rules keep that order. Every problem in every file is reported with file and line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gateway.config.yamlfile import explain, line_at, read_yaml
from gateway.policy.conditions import ConditionError, Node, compile_condition
from gateway.policy.errors import PolicyError
from gateway.policy.facts import DISPLAY, spec_of
from gateway.policy.schema import RuleChange, RuleEntry, merge
from gateway.verdict import Action

PLACEHOLDER = re.compile(r"\{([A-Za-z][A-Za-z0-9_.]*)\}")


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    action: Action
    mode: str  # enforce | monitor
    condition: Node
    reason_ja: str
    reason_en: str
    description_ja: str
    description_en: str
    origin: str  # file:line of the rule as shipped or added
    minutes: int | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def monitor(self) -> bool:
        return self.mode == "monitor"

    def reads(self) -> frozenset[str]:
        """Every fact the condition tests or a text names."""
        texts = (self.reason_ja, self.reason_en, self.description_ja, self.description_en)
        return frozenset(self.condition.facts()).union(*(PLACEHOLDER.findall(t) for t in texts))


@dataclass
class RuleSource:
    """A rule as written, with the overlays applied to it so far."""

    name: str
    data: dict[str, Any]
    origin: str
    changed_by: list[str] = field(default_factory=list)
    field_files: dict[str, str] = field(default_factory=dict)  # field -> the overlay file that set it

    def file_of(self, key: Any) -> str:
        return self.field_files.get(str(key), self.origin.rsplit(":", 1)[0])


def _pydantic_problems(err: ValidationError, data: Any, where: str, src: RuleSource | None = None) -> list[str]:
    return explain(err, data, where, noun="field", file_of=src.file_of if src is not None else None)


def _rule_entries(path: Path, problems: list[str]) -> list[tuple[dict[str, Any], int]]:
    try:
        doc = read_yaml(path, PolicyError)
    except PolicyError as e:
        problems.extend(e.problems)
        return []
    if doc is None:
        return []
    if not isinstance(doc, dict) or set(doc) != {"rules"} or not isinstance(doc["rules"], list):
        problems.append(f"{path}:{getattr(doc, 'line', 1)}: a rule file is a mapping with one key, rules: [...]")
        return []
    entries = doc["rules"]
    out = []
    for i, entry in enumerate(entries):
        line = entries.line_of(i) if hasattr(entries, "line_of") else 0
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            problems.append(f"{path}:{line}: each rule is a mapping with a name")
            continue
        out.append((entry, line))
    return out


def _files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.yaml") if p.is_file()) if directory.is_dir() else []


def rule_files(rules_dir: Path, local_dir: Path) -> list[Path]:
    return _files(rules_dir) + _files(local_dir)


def load_sources(rules_dir: Path, local_dir: Path, problems: list[str] | None = None) -> list[RuleSource]:
    """Read and merge the rule files. Problems are appended to `problems` (the rules that could be
    read are still returned, so that all problems can be listed at once); without it, raises."""
    collect = problems is not None
    problems = problems if problems is not None else []
    if not rules_dir.is_dir():
        raise PolicyError(f"{rules_dir}: the rules directory does not exist")
    sources: dict[str, RuleSource] = {}
    for path in _files(rules_dir):
        for entry, line in _rule_entries(path, problems):
            name, origin = entry["name"], f"{path}:{line}"
            if name in sources:
                problems.append(f"{origin}: rule {name!r}: duplicate name (first at {sources[name].origin})")
                continue
            sources[name] = RuleSource(name, entry, origin)
    added: dict[str, str] = {}
    for path in _files(local_dir):
        for entry, line in _rule_entries(path, problems):
            name, origin = entry["name"], f"{path}:{line}"
            if name in added:
                problems.append(f"{origin}: rule {name!r}: duplicate name in local.d (first at {added[name]})")
                continue
            added[name] = origin
            if name in sources:
                try:
                    RuleChange.model_validate(entry)
                except ValidationError as e:
                    problems.extend(_pydantic_problems(e, entry, str(path)))
                    continue
                src = sources[name]
                src.data = merge(src.data, entry)
                src.changed_by.append(origin)
                src.field_files.update({key: str(path) for key in entry if key != "name"})
            else:
                sources[name] = RuleSource(name, entry, origin)
    if problems and not collect:
        raise PolicyError(problems)
    return list(sources.values())


def _check_template(text: str, where: str, problems: list[str]) -> None:
    for name in PLACEHOLDER.findall(text):
        if spec_of(name) is None and name not in DISPLAY:
            problems.append(f"{where}: unknown placeholder {{{name}}}")


def compile_source(src: RuleSource, problems: list[str], change: dict[str, Any] | None = None) -> Rule | None:
    """One rule, validated and compiled; None if it is disabled or broken (problems appended)."""
    data = merge(src.data, change) if change else src.data
    file = src.origin.rsplit(":", 1)[0]
    try:
        entry = RuleEntry.model_validate(data)
    except ValidationError as e:
        problems.extend(f"{p} (rule {src.name!r})" for p in _pydantic_problems(e, data, file, src))
        return None
    when = data["when"]
    base_line = int(src.origin.rsplit(":", 1)[1])
    try:
        condition = compile_condition(when, entry.params, line_at(data, ("when",)) or base_line)
    except ConditionError as e:
        problems.append(f"{src.file_of('when')}:{e.line}: rule {src.name!r}: when: {e}")
        return None
    reason = entry.reason or entry.description
    for text in (reason.ja, reason.en, entry.description.ja, entry.description.en):
        where = f"{src.file_of('reason')}:{line_at(data, ('reason',)) or base_line}: rule {src.name!r}"
        _check_template(text, where, problems)
    if not entry.enabled:
        return None
    return Rule(
        name=entry.name,
        action=entry.action,
        mode=entry.mode,
        condition=condition,
        reason_ja=reason.ja,
        reason_en=reason.en,
        description_ja=entry.description.ja,
        description_en=entry.description.en,
        origin=src.origin,
        minutes=entry.minutes,
        params=dict(entry.params),
    )


def compile_rules(sources: list[RuleSource], changes: dict[str, dict[str, Any]] | None = None) -> list[Rule]:
    """Compile all rules (with per-rule changes, e.g. of a sender group); raises PolicyError."""
    problems: list[str] = []
    rules = []
    for src in sources:
        rule = compile_source(src, problems, (changes or {}).get(src.name))
        if rule is not None:
            rules.append(rule)
    if problems:
        raise PolicyError(problems)
    return rules
