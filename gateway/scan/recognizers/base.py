"""The shape of a pattern recognizer: mostly data (patterns, context words, a validator).

Recognizers are presidio `LocalRecognizer`s (usable in a presidio RecognizerRegistry / AnalyzerEngine),
but the scanner calls their fast `find()` directly: compiled patterns, a validator, and context
looked up in a character window and the table column's header. Japanese has no spaces, so
presidio's token/lemma context enhancer cannot see 「マイナンバー：」 before a number; and presidio's
`\\b` fails next to kana and kanji, so boundaries here are explicit look-arounds on digits and letters.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import ClassVar

from presidio_analyzer import LocalRecognizer, Pattern, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from gateway.scan.model import Hit

# Look-arounds used instead of \b: a number is not part of a longer number (digits, or digits joined
# by hyphens), whatever script surrounds it.
NUM_L = r"(?<![0-9])(?<![0-9]-)"
NUM_R = r"(?![0-9])(?!-[0-9])"

# Extra context for a match at an offset: the header of its table column ("" outside tables).
ContextFn = Callable[[int], str]


def words_regex(words: Iterable[str]) -> re.Pattern[str] | None:
    """One regex for context words: ASCII words match case-insensitively and not inside a longer word."""
    alts = []
    for w in sorted(set(words), key=len, reverse=True):
        if w.isascii() and w[:1].isalnum():
            alts.append(r"(?<![A-Za-z])" + re.escape(w) + r"(?![a-z])")
        else:
            alts.append(re.escape(w))
    return re.compile("|".join(alts), re.IGNORECASE) if alts else None


def digits(value: str) -> str:
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
    CONTEXT_BOOST: ClassVar[float] = 0.35
    ANTI_PENALTY: ClassVar[float] = 0.4
    WINDOW_BEFORE: ClassVar[int] = 24
    WINDOW_AFTER: ClassVar[int] = 6
    FLAGS: ClassVar[int] = 0

    def __init__(self) -> None:
        super().__init__(
            supported_entities=[self.ENTITY],
            name=type(self).__name__,
            supported_language="ja",
            context=list(self.CONTEXT),
        )
        self._compiled = [(p, re.compile(p.regex, self.FLAGS)) for p in self.PATTERNS]
        self._context = words_regex(self.CONTEXT)
        self._anti = words_regex(self.ANTI_CONTEXT)

    def load(self) -> None:  # patterns compile in __init__; nothing to load
        pass

    def validate(self, value: str) -> bool | None:
        """False drops the match (bad check digit, impossible date); True/None keep it."""
        return None

    def adjust(self, text: str, start: int, end: int, value: str, score: float) -> float:
        """Hook for recognizer-specific evidence beyond context words."""
        return score

    def window(self, text: str, start: int, end: int) -> str:
        """The text around a match on the same line (the default context when no table header applies)."""
        line_start = text.rfind("\n", 0, start) + 1
        line_end = text.find("\n", end)
        line_end = len(text) if line_end < 0 else line_end
        return (
            text[max(line_start, start - self.WINDOW_BEFORE) : start]
            + " "
            + text[end : min(line_end, end + self.WINDOW_AFTER)]
        )

    def score_context(self, context: str, score: float) -> float:
        if self._context is not None and self._context.search(context):
            score += self.CONTEXT_BOOST
        if self._anti is not None and self._anti.search(context):
            score -= self.ANTI_PENALTY
        return score

    def find(self, text: str, context: ContextFn | None = None) -> list[Hit]:
        """All matches in `text` (NFKC-normalised), scored; the caller applies the threshold.

        `context(offset)` adds context beyond the text window: the table column's header.
        """
        hits: list[Hit] = []
        for pattern, rx in self._compiled:
            for m in rx.finditer(text):
                if "v" in rx.groupindex and m.group("v") is not None:
                    start, end = m.span("v")
                else:
                    start, end = m.span()
                value = text[start:end]
                if self.validate(value) is False:
                    continue
                ctx = self.window(text, start, end)
                if context is not None:
                    ctx += " " + context(start)
                score = self.adjust(text, start, end, value, self.score_context(ctx, pattern.score))
                hits.append(Hit(self.ENTITY, start, end, max(0.0, min(1.0, score)), value))
        return hits

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
