"""Text as the scanner should see it: NFKC (full-width digits and letters, half-width katakana), the
dash look-alikes between digits (ー − – — ‐ － …) unified to "-", and the characters that hide what
they split removed: every format character (Unicode category Cf: zero-width space, joiners, word
joiner, BOM, soft hyphen, bidi controls, tags) and combining marks (Mn, Me) inside runs of digits,
so that 0\u200b9\u200b0-1234-5678 or 1\u03012\u0301... read as the numbers a mail client shows.
A map leads back to the offsets of the decoded text. Unchanged text (the common case) costs one or
two C-level checks and carries no map."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable

# Between two digits these all stand for a hyphen in phone, postal and account numbers.
_DASHES = "\u30fc\uff70\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d\u2043\u02d7"
# (the dash first, the digit before it as a look-behind: the engine skips in C to the next dash
# instead of trying a look-behind at every position)
_DASH_BETWEEN_DIGITS = re.compile("[" + _DASHES + r"](?<=\d[" + _DASHES + r"])(?=\d)")
_HAS_DASH = re.compile("[" + _DASHES + "]")
# A starter and what NFKC may compose onto it (combining marks, half-width (semi-)voiced marks).
_CLUSTER_MARKS = "\u0300-\u036f\u3099\u309a\uff9e\uff9f\u20d0-\u20ff"
_CLUSTER = re.compile(rf".[{_CLUSTER_MARKS}]*", re.S)


def _bmp_ranges(wanted: Callable[[str], bool]) -> str:
    """A regex character class body of the BMP code points for which `wanted` is true, as ranges."""
    out: list[str] = []
    start = prev = -2
    for cp in range(0x10000):
        if not wanted(chr(cp)):
            continue
        if cp != prev + 1:
            if start >= 0:
                out.append(_span(start, prev))
            start = cp
        prev = cp
    if start >= 0:
        out.append(_span(start, prev))
    return "".join(out)


def _bmp_class(categories: tuple[str, ...]) -> str:
    """A regex character class body of the BMP code points in `categories`. (Astral code points are
    checked one by one: a class holding astral ranges makes every regex search several times slower.)"""
    return _bmp_ranges(lambda c: unicodedata.category(c) in categories)


def _span(a: int, b: int) -> str:
    return re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"


_CF = _bmp_class(("Cf",))
_MARKS = _bmp_class(("Mn", "Me"))
_DIGITISH = r"\d" + _DASHES + "-"
# Marks (and format characters) between two digits or dashes, then any format character anywhere.
_HIDING = re.compile(rf"(?<=[{_DIGITISH}])[{_MARKS}{_CF}]+(?=[{_DIGITISH}])|[{_CF}]+")
_SUSPECT = re.compile(f"[{_CF}{_MARKS}\U00010000-\U0010ffff]")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_DIGITISH_CHARS = re.compile(f"[{_DIGITISH}]{{2}}")


@functools.cache
def _changing_clusters() -> re.Pattern[str]:
    """The clusters (as _CLUSTER cuts them) whose NFKC form is not themselves can only be these: a
    starter followed by marks, or a character of the BMP that NFKC changes on its own. Every other
    cluster is one character that stays as it is. (Built on first use: 65,536 normalisations.)"""
    changing = _bmp_ranges(lambda c: unicodedata.normalize("NFKC", c) != c)
    return re.compile(rf".[{_CLUSTER_MARKS}]+|[{changing}]", re.S)


def _dashes(text: str) -> str:
    if _HAS_DASH.search(text) is None:
        return text
    return _DASH_BETWEEN_DIGITS.sub("-", text)


def normalise(text: str) -> tuple[str, list[tuple[int, int]]]:
    """Return the scanning form of `text` and the breaks (norm_offset, source_offset) after which
    offsets map linearly (see Segment.source_offset). Breaks are empty when lengths are preserved."""
    if text.isascii():
        return text, []
    suspect = _SUSPECT.search(text) is not None
    if not suspect and unicodedata.is_normalized("NFKC", text):
        return _dashes(text), []
    out: list[str] = []
    breaks: list[tuple[int, int]] = []
    n = s = 0
    pieces = _visible(text) if suspect else [(text, 0)]
    for piece, skipped in pieces:
        if skipped:
            s += skipped
            breaks.append((n, s))
        for line in piece.splitlines(keepends=True):
            if unicodedata.is_normalized("NFKC", line):
                out.append(line)
                n += len(line)
                s += len(line)
                continue
            # Only the clusters that can change are normalised one by one; the runs between them
            # are characters NFKC keeps, taken as they are (a line with an astral character: every
            # cluster, as the class holds the BMP only).
            astral = _ASTRAL.search(line) is not None
            at = 0
            for m in (_CLUSTER if astral else _changing_clusters()).finditer(line):
                if m.start() > at:
                    run = m.start() - at
                    out.append(line[at : m.start()])
                    n += run
                    s += run
                at = m.end()
                cluster = m.group()
                norm = unicodedata.normalize("NFKC", cluster)
                out.append(norm)
                if len(norm) != len(cluster):
                    # Every char of an expansion (㈱ -> (株)) maps to the start of its source cluster.
                    breaks.extend((n + k, s) for k in range(1, len(norm)))
                    breaks.append((n + len(norm), s + len(cluster)))
                n += len(norm)
                s += len(cluster)
            if at < len(line):
                out.append(line[at:])
                n += len(line) - at
                s += len(line) - at
    return _dashes("".join(out)), breaks


def _drops(text: str) -> list[tuple[int, int]]:
    spans = [m.span() for m in _HIDING.finditer(text)]
    if _ASTRAL.search(text) is None:
        return spans
    for m in _ASTRAL.finditer(text):  # tags (U+E0020...) are Cf; astral marks count inside digit runs
        i = m.start()
        cat = unicodedata.category(m.group())
        if cat == "Cf" or (cat in ("Mn", "Me") and _in_digits(text, i)):
            spans.append((i, i + 1))
    spans.sort()
    return spans


def _in_digits(text: str, i: int) -> bool:
    """Whether the nearest characters around `i` that are not themselves hiding are digits or dashes."""
    before = i - 1
    while before >= 0 and unicodedata.category(text[before]) in _HIDDEN_CATEGORIES:
        before -= 1
    after = i + 1
    while after < len(text) and unicodedata.category(text[after]) in _HIDDEN_CATEGORIES:
        after += 1
    return before >= 0 and after < len(text) and bool(_DIGITISH_CHARS.match(text[before] + text[after]))


_HIDDEN_CATEGORIES = frozenset({"Cf", "Mn", "Me"})


def _visible(text: str) -> list[tuple[str, int]]:
    """`text` cut where hiding characters are removed: (piece, characters removed before it)."""
    pieces: list[tuple[str, int]] = []
    pos = 0
    skipped = 0
    for a, b in _drops(text):
        if a < pos:
            a = pos
        if b <= a:
            continue
        if a > pos:
            pieces.append((text[pos:a], skipped))
            skipped = 0
        skipped += b - a
        pos = b
    pieces.append((text[pos:], skipped))
    return pieces


class TextBuilder:
    """Joins pieces (cells, lines) into one normalised text, keeping the source and the offset map."""

    __slots__ = ("_breaks", "_changed", "_n", "_norm", "_s", "_src")

    def __init__(self) -> None:
        self._norm: list[str] = []
        self._src: list[str] = []
        self._breaks: list[tuple[int, int]] = []
        self._n = 0
        self._s = 0
        self._changed = False

    @property
    def length(self) -> int:
        return self._n

    def add(self, piece: str) -> None:
        norm, local = normalise(piece)
        if norm != piece:
            self._changed = True
        if local:
            last_delta = self._breaks[-1][0] - self._breaks[-1][1] if self._breaks else 0
            if last_delta != self._n - self._s:
                self._breaks.append((self._n, self._s))
            for ln, ls in local:
                self._breaks.append((self._n + ln, self._s + ls))
        self._norm.append(norm)
        self._src.append(piece)
        self._n += len(norm)
        self._s += len(piece)

    def add_raw(self, piece: str) -> None:
        """Separators that normalisation never changes (tabs, newlines)."""
        self._norm.append(piece)
        self._src.append(piece)
        self._n += len(piece)
        self._s += len(piece)

    def build(self) -> tuple[str, str, tuple[tuple[int, int], ...]]:
        """(text, source or "" if unchanged, breaks)."""
        text = "".join(self._norm)
        if not self._changed:
            return text, "", ()
        return text, "".join(self._src), tuple(self._breaks)
