"""Text as the scanner should see it: NFKC (full-width digits and letters, half-width katakana) and
the dash look-alikes between digits (ー − – — ‐ － …) unified to "-", with a map back to the offsets of
the decoded text. Unchanged text (the common case) costs one C-level check and carries no map."""

from __future__ import annotations

import re
import unicodedata

# Between two digits these all stand for a hyphen in phone, postal and account numbers.
_DASHES = "\u30fc\uff70\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d\u2043\u02d7"
_DASH_BETWEEN_DIGITS = re.compile(r"(?<=\d)[" + _DASHES + r"](?=\d)")
_HAS_DASH = re.compile("[" + _DASHES + "]")
# A starter and what NFKC may compose onto it (combining marks, half-width (semi-)voiced marks).
_CLUSTER = re.compile(r".[\u0300-\u036f\u3099\u309a\uff9e\uff9f\u20d0-\u20ff]*", re.S)


def _dashes(text: str) -> str:
    if _HAS_DASH.search(text) is None:
        return text
    return _DASH_BETWEEN_DIGITS.sub("-", text)


def normalise(text: str) -> tuple[str, list[tuple[int, int]]]:
    """Return the scanning form of `text` and the breaks (norm_offset, source_offset) after which
    offsets map linearly (see Segment.source_offset). Breaks are empty when lengths are preserved."""
    if text.isascii():
        return text, []
    if unicodedata.is_normalized("NFKC", text):
        return _dashes(text), []
    out: list[str] = []
    breaks: list[tuple[int, int]] = []
    n = s = 0
    for line in text.splitlines(keepends=True):
        if unicodedata.is_normalized("NFKC", line):
            out.append(line)
            n += len(line)
            s += len(line)
            continue
        for m in _CLUSTER.finditer(line):
            cluster = m.group()
            norm = unicodedata.normalize("NFKC", cluster)
            out.append(norm)
            if len(norm) != len(cluster):
                # Every char of an expansion (㈱ -> (株)) maps to the start of its source cluster.
                breaks.extend((n + k, s) for k in range(1, len(norm)))
                breaks.append((n + len(norm), s + len(cluster)))
            n += len(norm)
            s += len(cluster)
    return _dashes("".join(out)), breaks


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
