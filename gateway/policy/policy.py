"""A loaded policy: the rules (and their per-group variants) plus the directory, and `decide`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.config.policy import PolicySettings
from gateway.inspection.facts import Facts
from gateway.message import Envelope
from gateway.policy.directory import Directory, load_directory
from gateway.policy.engine import evaluate
from gateway.policy.errors import PolicyError
from gateway.policy.facts import FactSet, SenderInfo, collect, needs_content
from gateway.policy.rules import Rule, RuleSource, compile_rules, load_sources, rule_files
from gateway.verdict import Action, Verdict


class ContentNotInspected(Exception):
    """A rule that reads the content met a message decided without it (fail closed: try again)."""


def reads_content(rules: list[Rule]) -> bool:
    return any(needs_content(name) for rule in rules for name in rule.reads())


@dataclass
class Policy:
    sources: list[RuleSource]
    rules: list[Rule]
    directory: Directory = field(default_factory=Directory)
    fallback_group: str = ""
    files: list[Path] = field(default_factory=list)
    _variants: dict[tuple[str, ...], list[Rule]] = field(default_factory=dict)
    # Whether some rule (of any sender group) reads a content fact: if none does, the pipeline
    # skips extraction and the personal-data scan, since no decision could depend on them.
    reads_content: bool = True

    @classmethod
    def load(cls, settings: PolicySettings) -> Policy:
        """Read and check everything; raises PolicyError listing every problem found."""
        problems: list[str] = []
        sources: list[RuleSource] = []
        rules: list[Rule] = []
        try:
            sources = load_sources(settings.rules_path, settings.local_path, problems)
            rules = compile_rules(sources)
        except PolicyError as e:
            problems.extend(e.problems)
        try:
            directory = load_directory(settings.directory)
        except PolicyError as e:
            problems.extend(e.problems)
            directory = Directory()
        policy = cls(sources, rules, directory, settings.fallback_group)
        policy.files = rule_files(settings.rules_path, settings.local_path)
        if settings.directory is not None:
            policy.files.append(settings.directory)
        if settings.fallback_group and settings.fallback_group not in directory.groups:
            problems.append(f"policy.fallback_group: no group {settings.fallback_group!r} in the directory")
        if not problems:
            problems.extend(policy._check_groups())
        if problems:
            raise PolicyError(problems)
        policy.reads_content = any(reads_content(rules) for rules in (policy.rules, *policy._variants.values()))
        return policy

    def _check_groups(self) -> list[str]:
        names = {s.name for s in self.sources}
        problems: list[str] = []
        for group in self.directory.groups.values():
            unknown = [r for r in group.rules if r not in names]
            problems.extend(f"{group.origin}: group {group.name!r}: no rule named {r!r}" for r in unknown)
            if group.rules and not unknown:
                try:
                    self._variants[(group.name,)] = compile_rules(self.sources, group.rules)
                except PolicyError as e:
                    problems.extend(f"{p} (as changed by group {group.name!r} at {group.origin})" for p in e.problems)
        return problems

    def rules_for(self, groups: tuple[str, ...]) -> list[Rule]:
        """The rules as changed by the sender's groups (in order: later groups change last)."""
        key = tuple(g for g in groups if g in self.directory.groups and self.directory.groups[g].rules)
        if not key:
            return self.rules
        if key not in self._variants:
            changes: dict[str, dict[str, Any]] = {}
            for g in key:
                for rule, change in self.directory.groups[g].rules.items():
                    merged = {**changes.get(rule, {}), **change}
                    if "params" in change and "params" in changes.get(rule, {}):
                        merged["params"] = {**changes[rule]["params"], **change["params"]}
                    changes[rule] = merged
            self._variants[key] = compile_rules(self.sources, changes)
            self.reads_content = self.reads_content or reads_content(self._variants[key])
        return self._variants[key]

    def sender_info(self, address: str) -> SenderInfo:
        person = self.directory.person(address) if address else None
        if person is None:
            return SenderInfo()
        return SenderInfo(person.department, person.all_groups, True)

    def names_of(self, addresses: list[str]) -> dict[str, str]:
        """Directory names of those addresses that have one (pages and notices show people by name)."""
        names: dict[str, str] = {}
        for address in dict.fromkeys(a.lower() for a in addresses if a):
            person = self.directory.person(address)
            if person is not None and person.name:
                names[address] = person.name
        return names

    def facts_of(self, envelope: Envelope, facts: Facts) -> FactSet:
        return collect(envelope, facts, self.sender_info(facts.recipients.sender or envelope.mail_from))

    def decide(self, envelope: Envelope, facts: Facts, explain: bool = True) -> Verdict:
        fs = self.facts_of(envelope, facts)
        rules = self.rules_for(fs.values["sender.groups"])
        if not facts.content_inspected and reads_content(rules):
            raise ContentNotInspected("the rules for this sender read the content; inspect it again")
        outcome = evaluate(rules, fs, explain)
        verdict = Verdict(
            action=outcome.action,
            reasons=outcome.reasons,
            hits=outcome.hits,
            misses=outcome.misses,
            delay_minutes=outcome.minutes,
        )
        if outcome.action is Action.HOLD_MANAGER:
            verdict.approvers, verdict.approver_source = self.directory.approvers(
                fs.values["sender.address"], fs.values["sender.groups"], self.fallback_group
            )
        if outcome.action in (Action.HOLD_SENDER, Action.HOLD_MANAGER, Action.DELAY, Action.REJECT):
            verdict.names = self.names_of(
                [fs.values["sender.address"], *verdict.approvers, *(r.address for r in facts.recipients.recipients)]
            )
        if any(h.action is Action.REWRITE_BCC for h in outcome.enforced):
            verdict.bcc = [
                r.address
                for r in facts.recipients.recipients
                if r.valid and r.is_external and r.visibility in ("to", "cc")
            ]
        return verdict
