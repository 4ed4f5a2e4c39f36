"""YAML with line numbers, so every error in config.yaml, the rules and the directory can name the
file and line it comes from; and pydantic's errors phrased the same way (`explain`).

Mappings load as `Located` dicts that remember the line of each key; sequences as `LocatedList`
with the line of each item. Duplicate keys are an error (YAML would silently keep the last one).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError


class FileProblems(Exception):
    """Problems in a file, phrased for the admin: 'rules/10-pii.yaml:12: ...'.

    `problems` holds one line per problem, so that all of them can be listed at once."""

    def __init__(self, problems: str | list[str]) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class Located(dict[str, Any]):
    """A mapping from a YAML file: `line` of the mapping, `lines[key]` of each key."""

    line: int = 0
    lines: dict[str, int]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines = {}

    def line_of(self, key: str) -> int:
        return self.lines.get(key, self.line)


class LocatedList(list[Any]):
    line: int = 0
    lines: list[int]

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.lines = []

    def line_of(self, index: int) -> int:
        return self.lines[index] if 0 <= index < len(self.lines) else self.line


class _Loader(yaml.SafeLoader):
    pass


class _DuplicateKey(Exception):
    def __init__(self, key: str, line: int) -> None:
        self.key, self.line = key, line


def _mapping(loader: _Loader, node: yaml.MappingNode) -> Located:
    loader.flatten_mapping(node)
    out = Located()
    out.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        key = str(key) if not isinstance(key, str) else key
        line = key_node.start_mark.line + 1
        if key in out:
            raise _DuplicateKey(key, line)
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = line
    return out


def _sequence(loader: _Loader, node: yaml.SequenceNode) -> LocatedList:
    out = LocatedList(loader.construct_object(item, deep=True) for item in node.value)
    out.line = node.start_mark.line + 1
    out.lines = [item.start_mark.line + 1 for item in node.value]
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)


def _key_path(text: str, line: int, key: str) -> str:
    """The dotted path of the key written at `line` ('smtp.timeout', 'rules.0.params')."""

    def walk(node: yaml.Node, path: tuple[str, ...]) -> tuple[str, ...] | None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                here = (*path, str(key_node.value))
                if key_node.start_mark.line + 1 == line and str(key_node.value) == key:
                    return here
                found = walk(value_node, here)
                if found:
                    return found
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                found = walk(item, (*path, str(i)))
                if found:
                    return found
        return None

    root = yaml.compose(text, Loader=yaml.SafeLoader)
    return ".".join(walk(root, ()) or (key,)) if root is not None else key


def load_yaml(text: str, filename: str, error: type[FileProblems] = FileProblems) -> Any:
    """Parse one YAML document; errors become `error('file:line: ...')`."""
    try:
        return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
    except _DuplicateKey as e:
        raise error(f"{filename}:{e.line}: {_key_path(text, e.line, e.key)}: duplicate key") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise error(f"{filename}{line}: not valid YAML: {getattr(e, 'problem', e)}") from None


def read_text(path: Path, error: type[FileProblems] = FileProblems, what: str = "") -> str:
    """A UTF-8 text file (a BOM is dropped); problems become `error('path: cannot read ...')`."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise error(f"{path}: cannot read{what and ' ' + what}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text") from None


def read_yaml(path: Path, error: type[FileProblems] = FileProblems) -> Any:
    return load_yaml(read_text(path, error), str(path), error)


def line_at(data: Any, loc: tuple[Any, ...]) -> int:
    """The line of the deepest node on a path (a pydantic error location) that has one."""
    line = getattr(data, "line", 0)
    node = data
    for key in loc:
        in_map = isinstance(node, Located) and isinstance(key, str) and key in node
        in_list = isinstance(node, LocatedList) and isinstance(key, int) and 0 <= key < len(node)
        if not (in_map or in_list):
            break
        line = node.line_of(key)
        node = node[key]
    return line


def explain(
    err: ValidationError,
    data: Any,
    where: str,
    *,
    noun: str = "key",
    file_of: Callable[[Any], str] | None = None,
) -> list[str]:
    """pydantic's errors as 'file:line: key.path: message' lines (the line from the Located data).

    `file_of(first key)` names the file a key came from when the data was merged from several."""
    out = []
    for e in err.errors():
        loc = tuple(e["loc"])
        filename = file_of(loc[0]) if file_of is not None and loc else where
        key = ".".join(str(p) for p in loc) or "(top level)"
        msg = f"unknown {noun}" if e["type"] == "extra_forbidden" else e["msg"]
        if e["type"] == "missing":
            msg = f"required {'value' if noun == 'key' else noun} is missing"
        out.append(f"{filename}:{line_at(data, loc)}: {key}: {msg}")
    return out
