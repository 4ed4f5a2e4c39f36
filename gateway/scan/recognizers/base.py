"""The shape of a pattern recognizer: mostly data (patterns, context words, a validator).

Recognizers are presidio `LocalRecognizer`s (usable in a presidio RecognizerRegistry / AnalyzerEngine),
but the scanner calls their fast `find()` directly: compiled patterns, a validator, and context
looked up in a character window and the table column's header. Japanese has no spaces, so
presidio's token/lemma context enhancer cannot see 「マイナンバー：」 before a number; and presidio's
`\\b` fails next to kana and kanji, so boundaries here are explicit look-arounds on digits and letters.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from typing import ClassVar

from presidio_analyzer import LocalRecognizer, Pattern, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from gateway.scan.model import Hit
from gateway.scan.recognizers.prefilter import (
    DENSE_RUNS,
    PREFILTER_CHARS,
    first_chars,
    has_needed,
    holds_any,
    matches_at,
    requires,
    run_places,
    run_shape,
)

# Look-arounds used instead of \b: a number is not part of a longer number (digits, or digits joined
# by hyphens), whatever script surrounds it.
NUM_L = r"(?<![0-9])(?<![0-9]-)"
NUM_R = r"(?![0-9])(?!-[0-9])"


def lead(first: str, *not_after: str) -> str:
    """`first` (one character or one class) not preceded by any of `not_after`: the look-behinds of
    `(?<!a)(?<!b)first` written after the character. A pattern that starts with a character or a
    class (not with a look-behind) lets the regex engine skip in C to the next place where that
    character is, instead of trying the whole pattern at every position of the text (2-4 times
    faster on Japanese text, where digits and Latin letters are few)."""
    return first + "".join(f"(?<!{a}{first})" for a in not_after)


# NUM_L + \d as a start: a digit that does not continue a number.
NUM_LEAD = lead(r"\d", "[0-9]", "[0-9]-")


def ascii_digit_pattern(regex: str) -> str:
    """`regex` with every \\d as [0-9]: the same matches on a text whose decimal digits are all ASCII,
    found faster (a class of ten characters is a bitmap test; \\d asks the Unicode database)."""
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(regex):
        c = regex[i]
        if c == "\\" and i + 1 < len(regex):
            nxt = regex[i + 1]
            out.append(("0-9" if in_class else "[0-9]") if nxt == "d" else c + nxt)
            i += 2
            continue
        if c == "[" and not in_class:
            in_class = True
            out.append(c)
            i += 1
            if regex[i : i + 1] == "^":
                out.append("^")
                i += 1
            if regex[i : i + 1] == "]":  # a ']' first in a class is a literal
                out.append("]")
                i += 1
            continue
        if c == "]" and in_class:
            in_class = False
        out.append(c)
        i += 1
    return "".join(out)


def _decimal_digits() -> tuple[re.Pattern[str], re.Pattern[str] | None]:
    """Classes of the decimal digits (what \\d matches) outside ASCII, in the Basic Multilingual Plane
    and above it, from this Python's Unicode database."""
    # a plane at a time: the whole range at once is a list of 1.1 million strings (100 MB at start-up)
    found = [
        ord(c)
        for lo in range(0x80, sys.maxunicode + 1, 0x10000)
        for c in re.findall(r"\d", "".join(map(chr, range(lo, min(lo + 0x10000, sys.maxunicode + 1)))))
    ]
    runs: list[list[int]] = []
    for c in found:
        if runs and runs[-1][1] == c - 1:
            runs[-1][1] = c
        else:
            runs.append([c, c])

    def cls(rs: list[list[int]]) -> str:
        return "[" + "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in rs) + "]"

    bmp = [r for r in runs if r[1] <= 0xFFFF]
    astral = [r for r in runs if r[0] > 0xFFFF]
    return re.compile(cls(bmp)), (re.compile(cls(astral)) if astral else None)


_ND_BMP, _ND_ASTRAL = _decimal_digits()
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_last_checked: tuple[str, bool] = ("", True)


def ascii_digits_only(text: str) -> bool:
    """Whether every decimal digit in `text` is ASCII (NFKC has made full-width digits ASCII; Arabic,
    Devanagari, Thai ... digits stay). Remembered for the last text: every recognizer asks about the
    same chunk."""
    global _last_checked
    last = _last_checked
    if last[0] is text:
        return last[1]
    ok = text.isascii() or (
        _ND_BMP.search(text) is None
        and (_ND_ASTRAL is None or _ASTRAL.search(text) is None or _ND_ASTRAL.search(text) is None)
    )
    _last_checked = (text, ok)
    return ok


# Letters of any script: a line holding one before a value is a label line of its own.
_LETTER = re.compile(r"[^\W\d_]")

# Extra context for a match at an offset: the header of its table column ("" outside tables).
ContextFn = Callable[[int], str]


# What an ASCII letter matches under re.IGNORECASE besides its two cases (Python's re docs; checked
# against every code point in tests/unit/scan/test_speedups.py).
CASE_EXTRA = {"i": "\u0130\u0131", "k": "\u212a", "s": "\u017f"}


def first_char_alternation(items: Iterable[tuple[str, str]]) -> str | None:
    """The case-insensitive alternation `f1 r1|f2 r2|...` of items (first character, rest as a regex),
    written as `[every first character](?i:(?<=f1)(?:r1|...)|...)`: a pattern that starts with a
    class lets the regex engine skip in C to the next character that can start an item, where
    re.IGNORECASE over a plain alternation tries every item at every position (4-5 times slower on
    Japanese text). Matches and spans are those of the plain alternation (items with the same first
    character keep their order; only one group can start at a position). None when a first character
    is a cased letter outside ASCII (whose case partners are not listed here)."""
    groups: dict[str, list[str]] = {}
    starts: set[str] = set()
    for first, rest in items:
        if first.isascii() and first.isalpha():
            key = first.lower()
            starts.update(key + key.upper() + CASE_EXTRA.get(key, ""))
        elif first.lower() != first or first.upper() != first:
            return None
        else:
            key = first
            starts.add(first)
        groups.setdefault(key, []).append(rest)
    if not groups:
        return None
    alts = [f"(?<={re.escape(key)})(?:{'|'.join(rests)})" for key, rests in groups.items()]
    return "[" + "".join(re.escape(c) for c in sorted(starts)) + "](?i:" + "|".join(alts) + ")"


def words_regex(words: Iterable[str]) -> re.Pattern[str] | None:
    """One regex for context words: ASCII words match case-insensitively and not inside a longer word.
    Matches and spans are those of `w1|w2|...` (longest first) under re.IGNORECASE, written to start
    with a class (first_char_alternation)."""
    ordered = sorted(set(words), key=len, reverse=True)
    if not ordered:
        return None
    items = []
    for w in ordered:
        rest = re.escape(w[1:])
        if w.isascii() and w[:1].isalnum():
            # the left boundary as a look-behind after the word
            rest += r"(?<![A-Za-z]" + re.escape(w) + r")(?![a-z])"
        items.append((w[0], rest))
    fast = first_char_alternation(items)
    return re.compile(fast) if fast is not None else _plain_words_regex(ordered)


def _plain_words_regex(ordered: list[str]) -> re.Pattern[str]:
    alts = []
    for w in ordered:
        if w.isascii() and w[:1].isalnum():
            alts.append(re.escape(w) + r"(?<![A-Za-z]" + re.escape(w) + r")(?![a-z])")
        else:
            alts.append(re.escape(w))
    return re.compile("|".join(alts), re.IGNORECASE)


_NOT_ASCII_DIGIT = re.compile(r"[^0-9]")


def digits(value: str) -> str:
    if value.isascii():
        return _NOT_ASCII_DIGIT.sub("", value)
    return "".join(c for c in value if c.isdigit())


class Recognizer(LocalRecognizer):
    """A pattern recognizer. Subclasses set the class attributes and may override `validate`/`adjust`.

    A pattern may have a named group `v`: then only that group is the value (e.g. the 7 digits after
    普通). Score = pattern score (+ CONTEXT_BOOST when a context word is near) (- ANTI_PENALTY when an
    anti-context word is near, e.g. 注文番号 before a would-be postal code).
    """

    ENTITY: ClassVar[str]
    PATTERNS: ClassVar[tuple[Pattern, ...]]
    CONTEXT: ClassVar[tuple[str, ...]] = ()
    ANTI_CONTEXT: ClassVar[tuple[str, ...]] = ()
    CONTEXT_PATTERN: ClassVar[re.Pattern[str] | None] = None  # context that is a shape, not a word
    # Patterns that never count without a context word: the context is looked at before the (costly)
    # validator, and a match without it is dropped.
    NEEDS_CONTEXT: ClassVar[tuple[str, ...]] = ()
    # When set, a text holding none of these strings has no match at all (checked before any regex).
    LITERALS: ClassVar[tuple[str, ...]] = ()
    CONTEXT_BOOST: ClassVar[float] = 0.35
    ANTI_PENALTY: ClassVar[float] = 0.4
    WINDOW_BEFORE: ClassVar[int] = 24
    WINDOW_AFTER: ClassVar[int] = 6
    # Context words are looked for on the whole line (this many characters either side) and on the
    # line above when the value starts its line (a label above a value); anti-context words only in
    # the near window, so 注文番号 at the far end of a line does not cancel 電話 next to the number.
    LINE_CHARS: ClassVar[int] = 80
    ABOVE_CHARS: ClassVar[int] = 40
    LINE_BELOW: ClassVar[bool] = False  # also the line below (a card's expiry date on the next line)
    FLAGS: ClassVar[int] = 0
    # A recognizer whose shape claims its span even when the value is invalid: other entities' hits
    # inside it are dropped (the digits of an IBAN-shaped string are not a phone or a card number).
    CLAIMS_SHAPE: ClassVar[bool] = False

    def __init__(self) -> None:
        super().__init__(
            supported_entities=[self.ENTITY],
            name=type(self).__name__,
            supported_language="ja",
            context=list(self.CONTEXT),
        )
        # each pattern as written, and with [0-9] for \d for texts whose digits are all ASCII
        self._exact = [(p, re.compile(p.regex, self.FLAGS)) for p in self.PATTERNS]
        self._ascii = [(p, re.compile(ascii_digit_pattern(p.regex), self.FLAGS)) for p in self.PATTERNS]
        # where each form can match (gateway.scan.recognizers.prefilter): the [0-9] forms whose matches
        # start a fixed offset before a run of digits (found with matches_at), what each form needs in
        # a text to match at all, and the few characters a match can start with (None: nothing known)
        self._run_led = {
            id(rx): shape for _, rx in self._ascii if (shape := run_shape(rx.pattern, rx.flags)) is not None
        }
        self._needs = {id(rx): requires(rx.pattern, rx.flags) for _, rx in self._exact + self._ascii}
        # (a form tried at digit runs only needs no look for its first characters: run_places finds
        # its places, and looking for ten digits one by one in a text that has few costs more)
        self._first = {
            id(rx): None if id(rx) in self._run_led else first_chars(rx.pattern, rx.flags)
            for _, rx in self._exact + self._ascii
        }
        self._context = words_regex(self.CONTEXT)
        self._anti = words_regex(self.ANTI_CONTEXT)
        # one pass for all of LITERALS (an alternation of literals skips ahead in C), not one per word
        self._literals = re.compile("|".join(map(re.escape, self.LITERALS))) if self.LITERALS else None

    def load(self) -> None:  # patterns compile in __init__; nothing to load
        pass

    def validate(self, value: str) -> bool | None:
        """False drops the match (bad check digit, impossible date); True/None keep it."""
        return None

    def rejects(self, value: str) -> bool:
        """A cheap look at a match before its context is searched: True only where `validate` is
        False and `shorter` offers nothing (IntlPhoneRecognizer: a Japanese number)."""
        return False

    def shorter(self, value: str) -> Iterator[str]:
        """Prefixes of an invalid match to try, longest first (an IBAN followed by a word in capitals)."""
        return iter(())

    def adjust(self, text: str, start: int, end: int, value: str, score: float) -> float:
        """Hook for recognizer-specific evidence beyond context words."""
        return score

    def window(self, text: str, start: int, end: int) -> str:
        """The text right around a match on the same line (where anti-context words are looked for)."""
        line_start = text.rfind("\n", 0, start) + 1
        line_end = text.find("\n", end)
        line_end = len(text) if line_end < 0 else line_end
        return (
            text[max(line_start, start - self.WINDOW_BEFORE) : start]
            + " "
            + text[end : min(line_end, end + self.WINDOW_AFTER)]
        )

    def wide(self, text: str, start: int, end: int) -> str:
        """Where context words are looked for: the line, and the line above when the value starts its
        line (「マイナンバー」 on one line, the number on the next), and with LINE_BELOW the line below."""
        line_start = text.rfind("\n", 0, start) + 1
        line_end = text.find("\n", end)
        line_end = len(text) if line_end < 0 else line_end
        before = text[max(line_start, start - self.LINE_CHARS) : start]
        parts = [before, text[end : min(line_end, end + self.LINE_CHARS)]]
        if line_start > 0 and not _LETTER.search(before):
            above_start = text.rfind("\n", 0, line_start - 1) + 1
            parts.append(text[max(above_start, line_start - 1 - self.ABOVE_CHARS) : line_start - 1])
        if self.LINE_BELOW and line_end < len(text):
            below_end = text.find("\n", line_end + 1)
            below_end = len(text) if below_end < 0 else below_end
            parts.append(text[line_end + 1 : min(below_end, line_end + 1 + self.LINE_CHARS)])
        return " ".join(parts)

    def _words_in(self, text: str) -> bool:
        return bool(
            (self._context is not None and self._context.search(text))
            or (self.CONTEXT_PATTERN is not None and self.CONTEXT_PATTERN.search(text))
        )

    def find(
        self,
        text: str,
        context: ContextFn | None = None,
        *,
        table: bool = False,
        covered: Callable[[int, int, float], bool] | None = None,
    ) -> list[Hit]:
        """All matches in `text` (NFKC-normalised), scored; the caller applies the threshold.

        Score = pattern score, + CONTEXT_BOOST with a context word on the line (`wide`) or in the
        table column's header (`context(offset)`), - ANTI_PENALTY with an anti word right next to the
        value or in the header. In a table (`table=True`) a row is not a line of prose: context is the
        near window and the header only. Whether the text holds a context or anti word at all is
        looked up once per call, so windows are only searched where a word can be found.

        `covered(start, end, pattern score)` True skips a match before it is scored: for a caller
        that knows the match can change nothing (JpAddressRecognizer: inside addresses already found
        with at least the best score the match could reach).
        """
        hits: list[Hit] = []
        if self._literals is not None and self._literals.search(text) is None:
            return hits
        words_here: bool | None = None
        anti_here = False
        rejects = self.rejects if type(self).rejects is not Recognizer.rejects else None
        headers: dict[str, tuple[bool, bool]] = {}
        for pattern, rx in self._patterns(text):
            found = self._matches(rx, text)
            if found is None:
                continue
            needs_context = pattern.name in self.NEEDS_CONTEXT
            has_v = "v" in rx.groupindex
            if needs_context and context is None:
                if words_here is None:
                    words_here = self._words_in(text)
                    anti_here = self._anti is not None and self._anti.search(text) is not None
                if not words_here:
                    continue  # no context word anywhere: this pattern cannot count
            for m in found:
                if has_v and m.group("v") is not None:
                    start, end = m.span("v")
                else:
                    start, end = m.span()
                if (covered is not None and covered(start, end, pattern.score)) or (
                    rejects is not None and rejects(text[start:end])
                ):
                    continue
                if words_here is None:
                    words_here = self._words_in(text)
                    anti_here = self._anti is not None and self._anti.search(text) is not None
                header_words = header_anti = False
                if context is not None:
                    header = context(start)
                    if header not in headers:
                        anti = self._anti is not None and self._anti.search(header) is not None
                        headers[header] = (self._words_in(header), anti)
                    header_words, header_anti = headers[header]
                has_context = header_words or (
                    words_here
                    and self._words_in(self.window(text, start, end) if table else self.wide(text, start, end))
                )
                if needs_context and not has_context:
                    continue
                value = text[start:end]
                if self.validate(value) is False:
                    value = next((v for v in self.shorter(value) if self.validate(v) is not False), "")
                    if not value:
                        continue
                    end = start + len(value)
                score = pattern.score + (self.CONTEXT_BOOST if has_context else 0.0)
                if header_anti or (
                    anti_here and self._anti is not None and self._anti.search(self.window(text, start, end))
                ):
                    score -= self.ANTI_PENALTY
                score = self.adjust(text, start, end, value, score)
                hits.append(Hit(self.ENTITY, start, end, max(0.0, min(1.0, score)), value))
        return hits

    def _patterns(self, text: str) -> list[tuple[Pattern, re.Pattern[str]]]:
        return self._ascii if ascii_digits_only(text) else self._exact

    def _matches(self, rx: re.Pattern[str], text: str) -> Iterator[re.Match[str]] | None:
        """`rx.finditer(text)` (lazy: nothing is searched before it is iterated), None when `text`
        lacks what every match needs or starts with (gateway.scan.recognizers.prefilter); tried only
        where long enough digit runs start when the matches can start nowhere else and such runs are
        few. A short text is searched whole: the look for first characters and places costs more."""
        key = id(rx)
        need = self._needs[key]
        if need is not None and not has_needed(need, text):
            return None
        if len(text) < PREFILTER_CHARS:
            return rx.finditer(text)
        first = self._first[key]
        if first is not None and not holds_any(text, first):
            return None
        shape = self._run_led.get(key)
        if shape is None:
            return rx.finditer(text)
        places = run_places(text, shape)
        return rx.finditer(text) if len(places) * DENSE_RUNS > len(text) else matches_at(rx, text, places)

    def shape_spans(self, text: str) -> list[tuple[int, int]]:
        """Spans of every match of the patterns, valid or not."""
        return [m.span() for _, rx in self._patterns(text) for m in self._matches(rx, text) or ()]

    def shapes(self, text: str) -> list[int]:
        """Start offsets of every match of the patterns, valid or not (gateway.scan.evidence)."""
        return sorted({m.start() for _, rx in self._patterns(text) for m in self._matches(rx, text) or ()})

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """presidio's interface (for registries and the bench baseline): NFKC, then `find`."""
        if entities and self.ENTITY not in entities:
            return []
        norm = unicodedata.normalize("NFKC", text)
        if len(norm) != len(text):  # offsets would not map back; report on the original text
            norm = text
        return [RecognizerResult(h.entity, h.start, h.end, h.score) for h in self.find(norm)]
