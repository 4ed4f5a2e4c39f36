"""The directory: who a sender is (department, manager, deputies, groups), who approves for them,
and per-group rule changes.

YAML:
    people:
      - {address: taro.yamada@example.co.jp, name: 山田 太郎, department: sales,
         manager: hanako.sato@example.co.jp, deputies: [jiro.suzuki@example.co.jp], groups: [pii-handlers]}
    groups:
      sales:
        approvers: [sales-managers@example.co.jp]      # when a sender has no manager or deputy
        rules:                                         # changes to rules for senders in this group
          pii_first_time_external: {action: hold_manager}
CSV (people only; header row required; lists separated by ';'):
    address,name,department,manager,deputies,groups

Approvers for hold_manager: the sender's manager and deputies; else the approvers of the sender's
groups (department first); else those of the fallback group (policy.fallback_group). Never the sender.

Extension point: anything with `person(address) -> Person | None` (e.g. an LDAP lookup) can stand
in for the people part; groups and their rule changes always come from the file.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gateway.config.yamlfile import explain, line_at, load_yaml, read_text
from gateway.mail.addresses import AddressError, parse_address
from gateway.policy.errors import PolicyError
from gateway.policy.schema import RuleChange


@dataclass(frozen=True)
class Person:
    address: str
    name: str = ""
    department: str = ""
    manager: str = ""
    deputies: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()

    @property
    def all_groups(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(g for g in (self.department, *self.groups) if g))


@dataclass(frozen=True)
class Group:
    name: str
    approvers: tuple[str, ...] = ()
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    origin: str = ""


class PeopleSource(Protocol):
    """Where people come from: the directory file, or an LDAP lookup (extension point)."""

    def person(self, address: str) -> Person | None: ...


@dataclass
class Directory:
    people: dict[str, Person] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    source: str = ""
    lookup: PeopleSource | None = None  # consulted for addresses the file does not list

    def person(self, address: str) -> Person | None:
        found = self.people.get(address.lower())
        if found is None and self.lookup is not None:
            found = self.lookup.person(address.lower())
        return found

    def approvers(self, sender: str, groups: tuple[str, ...], fallback: str) -> tuple[list[str], str]:
        """(approver addresses, where they came from: manager | group:NAME | fallback:NAME | none)."""
        sender = sender.lower()

        def usable(addresses: tuple[str, ...] | list[str]) -> list[str]:
            return [a for a in dict.fromkeys(addresses) if a and a != sender]

        p = self.person(sender)
        if p is not None:
            direct = usable([p.manager, *p.deputies])
            if direct:
                return direct, "manager"
        for name in groups:
            g = self.groups.get(name)
            if g is not None and usable(g.approvers):
                return usable(g.approvers), f"group:{name}"
        g = self.groups.get(fallback) if fallback else None
        if g is not None and usable(g.approvers):
            return usable(g.approvers), f"fallback:{fallback}"
        return [], "none"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _address(value: str) -> str:
    try:
        return parse_address(value.strip()).normalised
    except AddressError as e:
        raise ValueError(f"not an address: {value!r} ({e})") from None


class PersonEntry(_Strict):
    address: str
    name: str = ""
    department: str = ""
    manager: str = ""
    deputies: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)

    @field_validator("address")
    @classmethod
    def _addr(cls, v: str) -> str:
        return _address(v)

    @field_validator("manager")
    @classmethod
    def _manager(cls, v: str) -> str:
        return _address(v) if v.strip() else ""

    @field_validator("deputies")
    @classmethod
    def _deputies(cls, v: list[str]) -> list[str]:
        return [_address(a) for a in v if a.strip()]


class GroupEntry(_Strict):
    approvers: list[str] = Field(default_factory=list)
    rules: dict[str, RuleChange] = Field(default_factory=dict)

    @field_validator("approvers")
    @classmethod
    def _approvers(cls, v: list[str]) -> list[str]:
        return [_address(a) for a in v]


class DirectoryFile(_Strict):
    people: list[PersonEntry] = Field(default_factory=list)
    groups: dict[str, GroupEntry] = Field(default_factory=dict)


def _person(entry: PersonEntry) -> Person:
    return Person(
        entry.address, entry.name, entry.department, entry.manager, tuple(entry.deputies), tuple(entry.groups)
    )


def parse_yaml_directory(text: str, filename: str) -> Directory:
    data = load_yaml(text, filename, PolicyError) or {}
    try:
        model = DirectoryFile.model_validate(data)
    except ValidationError as e:
        raise PolicyError(explain(e, data, filename, noun="field")) from None
    people: dict[str, Person] = {}
    problems = []
    for i, entry in enumerate(model.people):
        if entry.address in people:
            problems.append(f"{filename}:{line_at(data, ('people', i))}: people.{i}: duplicate address")
        people[entry.address] = _person(entry)
    if problems:
        raise PolicyError(problems)
    groups = {
        name: Group(
            name,
            tuple(g.approvers),
            {rule: change.model_dump(exclude_unset=True) for rule, change in g.rules.items()},
            f"{filename}:{line_at(data, ('groups', name))}",
        )
        for name, g in model.groups.items()
    }
    return Directory(people, groups, filename)


def parse_csv_directory(text: str, filename: str) -> Directory:
    reader = csv.DictReader(io.StringIO(text))
    columns = {"address", "name", "department", "manager", "deputies", "groups"}
    header = set(reader.fieldnames or ())
    if "address" not in header or not header <= columns:
        raise PolicyError(f"{filename}:1: the header must name address and any of {', '.join(sorted(columns))}")
    people: dict[str, Person] = {}
    problems: list[str] = []
    for row in reader:
        line = reader.line_num

        def split(key: str, row: dict[str, Any] = row) -> list[str]:
            return [x.strip() for x in (row.get(key) or "").replace(",", ";").split(";") if x.strip()]

        try:
            entry = PersonEntry(
                address=row.get("address") or "",
                name=(row.get("name") or "").strip(),
                department=(row.get("department") or "").strip(),
                manager=row.get("manager") or "",
                deputies=split("deputies"),
                groups=split("groups"),
            )
        except ValidationError as e:
            problems.extend(f"{filename}:{line}: {err['loc'][0]}: {err['msg']}" for err in e.errors())
            continue
        if entry.address in people:
            problems.append(f"{filename}:{line}: duplicate address {entry.address}")
        people[entry.address] = _person(entry)
    if problems:
        raise PolicyError(problems)
    return Directory(people, {}, filename)


def load_directory(path: Path | None) -> Directory:
    if path is None:
        return Directory()
    text = read_text(path, PolicyError, "the directory")
    if path.suffix.lower() == ".csv":
        return parse_csv_directory(text, str(path))
    return parse_yaml_directory(text, str(path))
