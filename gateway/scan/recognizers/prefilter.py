"""Where a pattern can match, read from its parse tree, so that a text is not searched where it cannot.

The scanner runs some thirty patterns over every chunk of text. Python's regex engine, for a pattern
that starts with a class, tests every character of the text against that class and tries the whole
pattern wherever it fits (a capital letter on a line of capitals, a digit in a base64 line). Three
readings of a pattern's parse tree (Python's own `re._parser`) let the caller skip that work with the
same matches as `finditer`:

- `requires`: a class of characters every match holds one of. A text without any is not searched
  (one search per text and class, shared by every pattern that needs the same).
- `first_chars`: the few characters a match can start with. A text holding none of them is not
  searched (`str.__contains__` per character, which skips through the text in C).
- `run_shape`: every match starts a fixed number of characters (which are no digits) before a run
  of ASCII digits starts, and takes at least so many of its digits. Such a pattern is tried with
  `match` at those offsets of long enough runs only (`matches_at`), unless the text is dense with
  such runs (base64, tables of figures), where one search is cheaper.

Case-insensitive patterns are not read (None): case folding could add characters to a class.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterator
from typing import Any

_sre_parse: Any = importlib.import_module("re._parser")
_sre: Any = importlib.import_module("re._constants")
_REPEATS = tuple(
    op for op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, getattr(_sre, "POSSESSIVE_REPEAT", None)) if op is not None
)
_ZERO_WIDTH = (_sre.ASSERT, _sre.ASSERT_NOT, _sre.AT)


def _parse(regex: str, flags: int) -> Any | None:
    """The parse tree, or None when it cannot be read safely (a bad pattern, case-insensitive)."""
    try:
        parsed = _sre_parse.parse(regex, flags)
    except (re.error, RecursionError):
        return None
    if (flags | parsed.state.flags) & re.IGNORECASE:
        return None
    return parsed


# -- runs of digits ------------------------------------------------------------------------------------

_DIGIT_RUN = re.compile(r"[0-9]+")
_last_runs: tuple[str, list[tuple[int, int]], dict[int, list[int]]] = ("", [], {})
# Above one place to try per this many characters, one search through the text costs less than a
# `match` call at each place (a call from Python costs about as much as the engine's test of 60-100
# characters).
DENSE_RUNS = 64
# Below this many characters a text is searched whole: looking for first characters and run places
# costs more than it saves (a subject, a display name, a table cell).
PREFILTER_CHARS = 256


def run_starts(text: str, least: int = 1) -> list[int]:
    """Offsets where a run of at least `least` ASCII digits starts. Remembered for the last text:
    every recognizer asks about the same chunk."""
    global _last_runs
    last = _last_runs
    if last[0] is not text:
        last = (text, [m.span() for m in _DIGIT_RUN.finditer(text)], {})
        _last_runs = last
    starts = last[2].get(least)
    if starts is None:
        starts = [a for a, b in last[1] if b - a >= least]
        last[2][least] = starts
    return starts


# Where a match can start: (k, n) pairs, each "k characters before a run of at least n digits".
RunShape = tuple[tuple[int, int], ...]


def run_shape(regex: str, flags: int = 0) -> RunShape | None:
    """The places where every match of `regex` starts, as (k, n) pairs: k characters before a run of
    ASCII digits starts, the match holding the run's first n digits; None when not known.

    k = 0: the match starts with a digit (`[0-9]`, a smaller class of digits, one digit), followed,
    before anything else is consumed, by a look-behind `(?<![...]d)` whose first class holds every
    digit and whose second item is that same first item: the character before the match is no digit.
    k > 0: the match starts with k characters of fixed classes that hold no digit (look-arounds may
    stand between them), then a digit: the character before that digit is one of the k, so no digit.
    Alternatives (and a first class of digits and other characters, such as `[(2-9]`) give a pair
    each. n: the digits the pattern takes one after the other from there (a shorter run is no start).
    """
    parsed = _parse(regex, flags)
    if parsed is None:
        return None
    shape = _shape(list(parsed), 0)
    return tuple(sorted(set(shape))) if shape is not None else None


def _shape(items: list[Any], k: int) -> list[tuple[int, int]] | None:
    """The run shape of a sequence that starts k non-digit characters into the match."""
    i = 0
    while i < len(items):
        op, av = items[i]
        if op in _ZERO_WIDTH:
            i += 1
            continue
        width = _nondigit_width(op, av)
        if width is None:
            break
        k += width
        i += 1
    if i == len(items):
        return None
    op, av = items[i]
    if op is _sre.SUBPATTERN:
        _group, add_flags, _del_flags, inner = av
        return None if add_flags & re.IGNORECASE else _shape(list(inner), k)
    if op is _sre.BRANCH:
        out: list[tuple[int, int]] = []
        for alt in av[1]:
            shape = _shape(list(alt), k)
            if shape is None:
                return None
            out += shape
        return out
    if k > 0:  # the character before is one of the prefix's: a digit here starts a run
        return [(k, _digits_from(items[i:]))] if _is_digit(op, av) or _digit_repeat(op, av) else None
    digit_part, other_part = _split_class(op, av)
    if not digit_part:
        return None
    behind_ok = False
    j = i + 1
    while j < len(items) and items[j][0] is _sre.ASSERT_NOT:  # nothing consumed before the look-behind
        direction, behind = items[j][1]
        behind_ok = behind_ok or (direction == -1 and _no_digit_before(list(behind), (op, av)))
        j += 1
    if not behind_ok:
        return None
    shape = [(0, 1 + _digits_from(items[i + 1 :]))]
    if other_part:  # started by one of the class's other characters: a digit run must follow
        after = _shape(items[i + 1 :], 1)
        if after is None:
            return None
        shape += after
    return shape


def _split_class(op: Any, av: Any) -> tuple[bool, bool]:
    """Whether a first item matches ASCII digits, and whether it matches other characters too (a
    class of fixed members only; anything else counts as neither, so it is not read)."""
    if op is _sre.LITERAL:
        return (True, False) if ord("0") <= av <= ord("9") else (False, True)
    if op is not _sre.IN or not av:
        return False, False
    digits = others = False
    for member_op, member in av:
        if member_op is _sre.LITERAL:
            lo = hi = member
        elif member_op is _sre.RANGE:
            lo, hi = member
        else:  # NEGATE, CATEGORY
            return False, False
        digits = digits or (lo <= ord("9") and hi >= ord("0"))
        others = others or lo < ord("0") or hi > ord("9")
    return digits, others


def _digits_from(items: list[Any]) -> int:
    """How many digits a sequence takes one after the other from its start (look-arounds between;
    through a group, and through alternatives: the fewest)."""
    n = 0
    for i, (op, av) in enumerate(items):
        if op in _ZERO_WIDTH:
            continue
        if _is_digit(op, av):
            n += 1
            continue
        if _digit_repeat(op, av):
            n += av[0]
            if av[0] == av[1]:
                continue
        elif op is _sre.SUBPATTERN and not av[1] & re.IGNORECASE:
            n += _digits_from(list(av[3]) + items[i + 1 :])
        elif op is _sre.BRANCH:
            n += min(_digits_from(list(alt) + items[i + 1 :]) for alt in av[1])
        break
    return n


def _is_digit(op: Any, av: Any) -> bool:
    """One ASCII digit: `[0-9]`, a smaller class of digits, or one digit."""
    return _split_class(op, av) == (True, False)


def _digit_repeat(op: Any, av: Any) -> bool:
    """At least one of a digit item (`[0-9]{2}`, `[0-9]+`)."""
    if op not in _REPEATS or av[0] < 1:
        return False
    inner = list(av[2])
    return len(inner) == 1 and _is_digit(*inner[0])


def _nondigit_width(op: Any, av: Any) -> int | None:
    """The width of an item that consumes a fixed number of characters, none of them a digit."""
    if _split_class(op, av) == (False, True):
        return 1
    if op in _REPEATS:
        low, high, item = av
        inner = list(item)
        if low == high and low >= 1 and len(inner) == 1:
            one = _nondigit_width(*inner[0])
            return None if one != 1 else low
    return None


def _no_digit_before(items: list[Any], lead: tuple[Any, Any]) -> bool:
    """A look-behind body `[...]d` whose first class holds every digit and whose second item is `lead`."""
    if len(items) != 2 or items[0][0] is not _sre.IN or items[1] != lead:
        return False
    return all(_in_class(d, items[0][1]) for d in range(ord("0"), ord("9") + 1))


def _in_class(code: int, items: Any) -> bool:
    """Whether the class `items` holds the code point `code` (a negated class: False, to be safe)."""
    return any((op is _sre.LITERAL and av == code) or (op is _sre.RANGE and av[0] <= code <= av[1]) for op, av in items)


def run_places(text: str, shape: RunShape) -> list[int]:
    """The offsets where a match of a pattern of this run shape can start in `text`, in order."""
    if len(shape) == 1:
        k, n = shape[0]
        starts = run_starts(text, n)
        return starts if k == 0 else [p - k for p in starts if p >= k]
    return sorted({p - k for k, n in shape for p in run_starts(text, n) if p >= k})


def matches_at(rx: re.Pattern[str], text: str, places: list[int]) -> Iterator[re.Match[str]]:
    """`rx.finditer(text)` for a pattern whose matches can only start at `places` (sorted): the
    leftmost match is the one `match` finds at the first place that has one; the next is looked for
    from its end on. (`match` at an offset sees the text before it: look-behinds read as in a search.)"""
    end = 0
    for p in places:
        if p < end:
            continue
        m = rx.match(text, p)
        if m is not None:
            yield m
            end = m.end()


# -- first characters --------------------------------------------------------------------------------

# Up to this many: each is looked for with `in` (a few hundred nanoseconds on a 5 KB chunk).
FIRST_CHARS_MAX = 12


def first_chars(regex: str, flags: int = 0) -> frozenset[str] | None:
    """The characters a match of `regex` can start with, when they are at most FIRST_CHARS_MAX; else
    None. Look-arounds and anchors before the first character are passed over (they consume nothing)."""
    parsed = _parse(regex, flags)
    if parsed is None:
        return None
    found = _first(parsed)
    return frozenset(found) if found is not None and 0 < len(found) <= FIRST_CHARS_MAX else None


def _first(seq: Any) -> set[str] | None:
    for op, av in seq:
        if op in _ZERO_WIDTH:
            continue
        if op is _sre.LITERAL:
            return {chr(av)}
        if op is _sre.IN:
            return _class_chars(av)
        if op is _sre.SUBPATTERN:
            _group, add_flags, _del_flags, inner = av
            if add_flags & re.IGNORECASE or inner.getwidth()[0] == 0:
                return None
            return _first(inner)
        if op is _sre.BRANCH:
            out: set[str] = set()
            for alt in av[1]:
                part = _first(alt) if alt.getwidth()[0] > 0 else None
                if part is None:
                    return None
                out |= part
            return out
        if op in _REPEATS:
            low, _high, item = av
            return _first(item) if low >= 1 else None
        return None  # any character, a back-reference, a conditional ...
    return None


def _class_chars(items: Any) -> set[str] | None:
    out: set[str] = set()
    for op, av in items:
        if op is _sre.LITERAL:
            out.add(chr(av))
        elif op is _sre.RANGE and av[1] - av[0] < FIRST_CHARS_MAX:
            out.update(map(chr, range(av[0], av[1] + 1)))
        else:  # a wide range, a negated class, a category
            return None
    return out


def holds_any(text: str, chars: frozenset[str]) -> bool:
    """Whether `text` holds one of `chars`."""
    for c in chars:  # noqa: SIM110 (a loop: any() over a generator costs more than the look itself)
        if c in text:
            return True
    return False


# -- what every match holds ----------------------------------------------------------------------------

# A class of characters every match holds one of. A text without any (a body of Latin letters has no
# digit, no katakana, no 市区町村郡) is not searched with the pattern.
_NEEDS: tuple[tuple[str, Callable[[str], bool]], ...] = (
    (r"\d", str.isdecimal),  # what \d matches in str patterns: Unicode category Nd
    ("@", "@".__eq__),
    ("[\u30a1-\u30fa\u30fc]", lambda c: "\u30a1" <= c <= "\u30fa" or c == "\u30fc"),
    ("[市区町村郡]", "市区町村郡".__contains__),
    ("[a-z]", lambda c: "a" <= c <= "z"),
)
_NEED_RX = {cls: re.compile(cls) for cls, _ in _NEEDS}
_last_needs: dict[str, tuple[str, bool]] = {}


def requires(regex: str, flags: int = 0) -> str | None:
    """A character class (of _NEEDS) that every match of `regex` holds a character of, or None.
    Case-insensitive patterns (a flag anywhere) are not read: None."""
    parsed = _parse(regex, flags)
    if parsed is None:
        return None
    for cls, pred in _NEEDS:
        if _must(parsed, pred):
            return cls
    return None


def _must(items: Any, pred: Callable[[str], bool]) -> bool:
    """Whether every match of the parsed sequence `items` holds a character for which `pred` is true."""
    return any(_node_must(op, av, pred) for op, av in items)


def _node_must(op: Any, av: Any, pred: Callable[[str], bool]) -> bool:
    if op is _sre.LITERAL:
        return pred(chr(av))
    if op is _sre.IN:
        return _class_within(av, pred)
    if op is _sre.SUBPATTERN:
        _group, add_flags, _del_flags, p = av
        return not add_flags & re.IGNORECASE and _must(p, pred)
    if op is _sre.BRANCH:
        return all(_must(alt, pred) for alt in av[1])
    if op in _REPEATS:
        low, _high, item = av
        return bool(low >= 1 and _must(item, pred))
    if op is getattr(_sre, "ATOMIC_GROUP", None):
        return _must(av, pred)
    return False  # look-arounds, anchors, back-references, any character, a negated literal


def _class_within(items: Any, pred: Callable[[str], bool]) -> bool:
    """Whether every character the class `items` matches satisfies `pred`."""
    for op, av in items:
        if op is _sre.LITERAL:
            ok = pred(chr(av))
        elif op is _sre.RANGE:
            ok = all(pred(chr(c)) for c in range(av[0], av[1] + 1))
        elif op is _sre.CATEGORY and av in (_sre.CATEGORY_DIGIT, _sre.CATEGORY_UNI_DIGIT):
            ok = pred is str.isdecimal  # \d: the decimal digits (no other class of _NEEDS holds one)
        else:  # a negated class, other categories
            ok = False
        if not ok:
            return False
    return bool(items)


def has_needed(cls: str, text: str) -> bool:
    """Whether `text` holds a character of the class `cls` (of _NEEDS). Remembered for the last text
    of each class: every recognizer asks about the same chunk."""
    last = _last_needs.get(cls)
    if last is not None and last[0] is text:
        return last[1]
    found = _NEED_RX[cls].search(text) is not None
    _last_needs[cls] = (text, found)
    return found
