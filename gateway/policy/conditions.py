"""The condition language of `when:`, compiled once at load time into small test objects.

    when:
      all:
        - pii.records: {gte: $min_records}        # a fact, an operator, an operand
        - recipients.any_external: true            # shorthand for eq
        - not: {recipients.all_internal: true}
        - any:
            - attachment.types: [xlsx, csv]        # list fact + list operand: contains_any
            - subject: {matches: "(?i)confidential|社外秘"}

A mapping with several keys means all of them. Operators by the kind of fact:
    bool  eq ne
    int   eq ne gt gte lt lte in not_in
    str   eq ne in not_in contains contains_any startswith endswith matches empty
    list  contains contains_any all_in matches empty
String comparisons ignore case (casefold); `matches` is a regular expression searched as written
(add (?i) for case-insensitive). `$name` takes the operand from the rule's `params`.
Every fact name, operator, operand type and regex is checked here, so errors name file and line.
"""

from __future__ import annotations

import abc
import re
from collections.abc import Callable
from difflib import get_close_matches
from typing import Any

from gateway.config.yamlfile import Located, LocatedList
from gateway.policy.facts import BOOL, DEFAULTS, FACTS, FAMILIES, INT, LIST, STR, FactSet, render_value, spec_of

OPERATORS: dict[str, tuple[str, ...]] = {
    BOOL: ("eq", "ne"),
    INT: ("eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in"),
    STR: ("eq", "ne", "in", "not_in", "contains", "contains_any", "startswith", "endswith", "matches", "empty"),
    LIST: ("contains", "contains_any", "all_in", "matches", "empty"),
}


class ConditionError(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list | frozenset):
        return "[" + ", ".join(str(x) for x in value) + "]"
    return render_value(value, "en") if not isinstance(value, str) else repr(render_value(value, "en"))


class Node(abc.ABC):
    __slots__ = ()

    @abc.abstractmethod
    def test(self, fs: FactSet) -> bool: ...

    @abc.abstractmethod
    def explain(self, fs: FactSet) -> tuple[bool, str]:
        """The outcome and the test that decided it (for misses in `gateway check`)."""

    @abc.abstractmethod
    def facts(self) -> list[str]: ...


class Leaf(Node):
    __slots__ = ("check", "default", "fact", "fold", "op", "operand")

    def __init__(
        self, fact: str, op: str, operand: Any, check: Callable[[Any], bool], default: Any, fold: bool
    ) -> None:
        self.fact, self.op, self.operand, self.check, self.default, self.fold = fact, op, operand, check, default, fold

    def test(self, fs: FactSet) -> bool:
        value = fs.folded(self.fact, self.default) if self.fold else fs.values.get(self.fact, self.default)
        return self.check(value)

    def explain(self, fs: FactSet) -> tuple[bool, str]:
        ok = self.test(fs)
        shown = _show(fs.values.get(self.fact, self.default))
        return ok, f"{self.fact} {self.op} {_show(self.operand)} (is {shown})"

    def facts(self) -> list[str]:
        return [self.fact]


class All(Node):
    __slots__ = ("items",)

    def __init__(self, items: list[Node]) -> None:
        self.items = tuple(items)

    def test(self, fs: FactSet) -> bool:
        return all(n.test(fs) for n in self.items)

    def explain(self, fs: FactSet) -> tuple[bool, str]:
        last = ""
        for n in self.items:
            ok, last = n.explain(fs)
            if not ok:
                return False, last
        return True, last

    def facts(self) -> list[str]:
        return [f for n in self.items for f in n.facts()]


class AnyOf(All):
    __slots__ = ()

    def test(self, fs: FactSet) -> bool:
        return any(n.test(fs) for n in self.items)

    def explain(self, fs: FactSet) -> tuple[bool, str]:
        whys = []
        for n in self.items:
            ok, why = n.explain(fs)
            if ok:
                return True, why
            whys.append(why)
        return False, "none of: " + "; ".join(whys)


class Not(Node):
    __slots__ = ("item",)

    def __init__(self, item: Node) -> None:
        self.item = item

    def test(self, fs: FactSet) -> bool:
        return not self.item.test(fs)

    def explain(self, fs: FactSet) -> tuple[bool, str]:
        ok, why = self.item.explain(fs)
        return not ok, f"not ({why})"

    def facts(self) -> list[str]:
        return self.item.facts()


def _line(data: Any, key: str | int | None = None) -> int:
    if isinstance(data, Located) and isinstance(key, str):
        return data.line_of(key)
    if isinstance(data, LocatedList) and isinstance(key, int):
        return data.line_of(key)
    return getattr(data, "line", 0)


def compile_condition(data: Any, params: dict[str, Any], line: int = 0) -> Node:
    """Compile `when:`; raises ConditionError(line, message)."""
    if not isinstance(data, dict) or not data:
        raise ConditionError(
            _line(data) or line, "a condition must be a non-empty mapping (fact: test, all:, any:, not:)"
        )
    nodes = [_compile_key(data, key, params) for key in data]
    return nodes[0] if len(nodes) == 1 else All(nodes)


def _compile_key(data: dict[str, Any], key: str, params: dict[str, Any]) -> Node:
    line = _line(data, key)
    value = data[key]
    if key in ("all", "any"):
        if not isinstance(value, list) or not value:
            raise ConditionError(line, f"{key}: expects a non-empty list of conditions")
        items = [compile_condition(item, params, _line(value, i) or line) for i, item in enumerate(value)]
        return All(items) if key == "all" else AnyOf(items)
    if key == "not":
        return Not(compile_condition(value, params, line))
    spec = spec_of(key)
    if spec is None:
        raise ConditionError(line, f"unknown fact {key!r}{_suggest(key)}")
    if isinstance(value, dict):
        if not value:
            raise ConditionError(line, f"{key}: no operator given")
        leaves: list[Node] = [_leaf(key, spec.kind, op, value[op], params, _line(value, op) or line) for op in value]
        return leaves[0] if len(leaves) == 1 else All(leaves)
    if spec.kind == LIST:
        op = "contains_any" if isinstance(value, list) else "contains"
    else:
        op = "in" if isinstance(value, list) else "eq"
    return _leaf(key, spec.kind, op, value, params, line)


def _suggest(name: str) -> str:
    close = get_close_matches(name, [*FACTS, *FAMILIES], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _operand(value: Any, params: dict[str, Any], line: int) -> Any:
    if isinstance(value, str) and value.startswith("$"):
        name = value[1:]
        if name not in params:
            raise ConditionError(line, f"{value}: no such parameter in params")
        return params[name]
    return value


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _leaf(fact: str, kind: str, op: str, raw: Any, params: dict[str, Any], line: int) -> Leaf:
    if op not in OPERATORS[kind]:
        raise ConditionError(
            line, f"{fact}: operator {op!r} does not apply to a {kind} fact ({', '.join(OPERATORS[kind])})"
        )
    value = _operand(raw, params, line)
    where = f"{fact}: {op}"
    default = DEFAULTS[kind]

    def need(ok: bool, what: str) -> None:
        if not ok:
            raise ConditionError(line, f"{where}: expects {what}, got {value!r}")

    def strings(v: Any) -> frozenset[str]:
        need(isinstance(v, list) and bool(v) and all(isinstance(x, str) for x in v), "a non-empty list of strings")
        return frozenset(x.casefold() for x in v)

    check: Callable[[Any], bool]
    fold = kind in (STR, LIST) and op != "matches"
    if op == "empty":
        need(isinstance(value, bool), "true or false")
        want = value
        check = lambda v: (len(v) == 0) == want  # noqa: E731
    elif op == "matches":
        need(isinstance(value, str), "a regular expression")
        try:
            rx = re.compile(value)
        except re.error as e:
            raise ConditionError(line, f"{where}: bad regular expression {value!r}: {e}") from None
        search = rx.search
        check = (lambda v: any(search(x) for x in v)) if kind == LIST else (lambda v: search(v) is not None)
    elif kind == BOOL:
        need(isinstance(value, bool), "true or false")
        b = value
        check = (lambda v: v is b) if op == "eq" else (lambda v: v is not b)
    elif kind == INT:
        if op in ("in", "not_in"):
            need(isinstance(value, list) and bool(value) and all(_is_int(x) for x in value), "a list of integers")
            ints = frozenset(value)
            check = ints.__contains__ if op == "in" else (lambda v: v not in ints)
        else:
            need(_is_int(value), "an integer")
            n = value
            check = {
                "eq": lambda v: v == n,
                "ne": lambda v: v != n,
                "gt": lambda v: v > n,
                "gte": lambda v: v >= n,
                "lt": lambda v: v < n,
                "lte": lambda v: v <= n,
            }[op]
    elif kind == STR:
        if op in ("in", "not_in", "contains_any"):
            options = strings(value)
            if op == "in":
                check = options.__contains__
            elif op == "not_in":
                check = lambda v: v not in options  # noqa: E731
            else:
                words = tuple(options)
                check = lambda v: any(w in v for w in words)  # noqa: E731
        else:
            need(isinstance(value, str), "a string")
            s = value.casefold()
            check = {
                "eq": lambda v: v == s,
                "ne": lambda v: v != s,
                "contains": lambda v: s in v,
                "startswith": lambda v: v.startswith(s),
                "endswith": lambda v: v.endswith(s),
            }[op]
    else:  # LIST, folded to a frozenset
        if op == "contains":
            need(isinstance(value, str), "a string")
            s = value.casefold()
            check = lambda v: s in v  # noqa: E731
        else:
            options = strings(value)
            if op == "contains_any":
                check = lambda v: not options.isdisjoint(v)  # noqa: E731
            else:  # all_in: every element is one of the options (and there is at least one)
                check = lambda v: bool(v) and v <= options  # noqa: E731
    return Leaf(fact, op, value, check, default, fold)
