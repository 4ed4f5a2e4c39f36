"""PERSON in Japanese text, fast: Sudachi's part-of-speech tags 名詞-固有名詞-人名-姓/名 (~110k chars/s).

A surname followed by a given name (山田太郎, 山田 太郎) is a name; a surname alone (山田さん, 鈴木部長)
is how colleagues are mentioned in every business mail and scores below the threshold unless a
context word (氏名, お名前, 患者, ...) or a 氏名 column says the text is about people.

Sudachi reads a text in pieces cut at line ends, and a piece read before (a greeting, a closing, a
signature, a line quoted again) is not read again: its names' places come from a cache. Both give
the names one reading of the whole text gives, because of where the cuts are. A line end (LF, or CR
LF as mail bodies have them) is cut only where it stands alone between two characters that are not
white space (also after Sudachi's own normalisation: lower case, NFKC). There Sudachi has one node
only, the line end as a 空白 morpheme (CR and LF are both of the SPACE class in char.def, whose run is
one unknown word with the same ids and cost whatever its length: white space is grouped by itself,
no dictionary word holds a line end, no input rewrite (prolonged sound marks, readings in brackets,
rewrite.def) and no path rewrite (numbers, katakana) reaches across it): every path of the lattice
goes through that node, so the best path is the best path to it followed by the best path from it,
each decided alone (costs are integers; a constant added to every path of one side changes no
choice, tie-breaks included). Each piece is read with its neighbouring line ends around it
("\nline\n"), so its first and last morphemes connect to that node as they do in the whole text. A
name never reaches across a line end (the morpheme after a surname must be a space or a given name),
the honorific after a name is inside its line or is the line end, and the context window stops at
the line start: a piece's names, with their base scores, are its own. Cache keys are BLAKE2 digests
of the pieces, never the text; values are offsets and scores. Bounded (`CACHE_ENTRIES`, least
recently used out first), per process.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import OrderedDict
from functools import lru_cache
from typing import Any, ClassVar

from presidio_analyzer import LocalRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from gateway.scan.model import Hit
from gateway.scan.recognizers.base import ContextFn, words_regex

HONORIFICS = ("様", "さん", "殿", "氏", "君", "先生", "ちゃん")
CACHE_ENTRIES = 8192
# a line end (LF or CR LF) between two characters that are not white space (checked again after
# normalisation); `(?<=\S)\r?\n(?=\S)` written to start with the line end itself, so that the search
# skips in C to the next CR or LF instead of trying the look-behind at every character
_LONE_LF = re.compile(r"\r(?<=\S\r)\n(?=\S)|\n(?<=\S\n)(?=\S)")
_Piece = tuple[tuple[int, int, float], ...]  # (start, end, base score) of each name, in the piece


@lru_cache(maxsize=4096)
def _cuts_beside(c: str) -> bool:
    """Whether a line end next to `c` is still a lone line end after Sudachi's input normalisation
    (lower case, NFKC: U+00A8 becomes a space and a combining mark, U+3000 a space)."""
    if c.isascii():
        return not c.isspace()
    return not any(x.isspace() for x in c + unicodedata.normalize("NFKC", c) + unicodedata.normalize("NFKC", c.lower()))


def pieces(text: str) -> list[tuple[int, int]]:
    """(start, end) of the pieces of `text` Sudachi reads alone: cut at the line ends that stand alone
    (the line end itself belongs to no piece; it is read with both of its neighbours)."""
    out: list[tuple[int, int]] = []
    start = 0
    for m in _LONE_LF.finditer(text):
        p, q = m.span()
        if _cuts_beside(text[p - 1]) and _cuts_beside(text[q]):
            out.append((start, p))
            start = q
    out.append((start, len(text)))
    return out


class JapaneseNameRecognizer(LocalRecognizer):
    ENTITY: ClassVar[str] = "PERSON"
    CONTEXT: ClassVar[tuple[str, ...]] = (
        "氏名", "名前", "お名前", "患者", "顧客", "会員", "申込者", "契約者", "被保険者", "従業員", "社員名",
        "受講者", "応募者", "入居者", "利用者", "保護者", "生徒", "name",
    )  # fmt: skip
    FULL_NAME_SCORE: ClassVar[float] = 0.7
    PART_SCORE: ClassVar[float] = 0.3
    HONORIFIC_BONUS: ClassVar[float] = 0.1
    CONTEXT_BOOST: ClassVar[float] = 0.35
    WINDOW_BEFORE: ClassVar[int] = 12

    def __init__(self) -> None:
        self._tokenizer = None
        self._cache: OrderedDict[bytes, _Piece] = OrderedDict()
        self._morphemes: Any = None
        self._pos_id: Any = None
        super().__init__(supported_entities=["PERSON"], name="JapaneseNameRecognizer", supported_language="ja")
        self._context = words_regex(self.CONTEXT)

    def load(self) -> None:
        from sudachipy import Dictionary, Morpheme, SplitMode

        dictionary = Dictionary(dict="core")
        # (fields={"pos"} tokenizes 15 % faster but joins numbers differently: 09.4444 is cut in three)
        self._tokenizer = tokenizer = dictionary.create(SplitMode.C)
        self._morphemes = tokenizer.tokenize("")
        self._pos_id = Morpheme.part_of_speech_id
        surname = set(dictionary.pos_matcher([("名詞", "固有名詞", "人名", "姓")]))
        given = set(dictionary.pos_matcher([("名詞", "固有名詞", "人名", "名")]))
        # part-of-speech ids: a set lookup per morpheme instead of two matcher calls
        tags: list[tuple[str, ...]] = []
        while (tag := dictionary.pos_of(len(tags))) is not None:
            tags.append(tag)
        self._surname = frozenset(i for i, t in enumerate(tags) if t in surname)
        self._given = frozenset(i for i, t in enumerate(tags) if t in given)
        self._names = self._surname | self._given

    @property
    def tokenizer(self) -> object | None:
        """The Sudachi tokenizer (SplitMode.C) once loaded: GiNZA shares it (gateway.scan.ner)."""
        return self._tokenizer

    def _score_context(self, ctx: str, score: float) -> float:
        if self._context is not None and self._context.search(ctx):
            score += self.CONTEXT_BOOST
        return score

    def find(self, text: str, context: ContextFn | None = None) -> list[Hit]:
        """Names in `text` (at most ~49 KB of UTF-8: the caller chunks)."""
        hits: list[Hit] = []
        cache = self._cache
        cuts = pieces(text)
        last = len(cuts) - 1
        for i in range(len(cuts)):
            # with the line ends around it: from the end of the piece before to the start of the next
            a = cuts[i - 1][1] if i else 0
            piece = text[a : cuts[i + 1][0] if i < last else len(text)]
            key = hashlib.blake2b(piece.encode(), digest_size=16).digest()
            found = cache.get(key)
            if found is None:
                found = self._names_in(piece)
                if len(cache) >= CACHE_ENTRIES:
                    cache.popitem(last=False)
                cache[key] = found
            else:
                cache.move_to_end(key)
            hits.extend(self._hit(text, a + rs, a + re_, score, context) for rs, re_, score in found)
        return hits

    def find_whole(self, text: str, context: ContextFn | None = None) -> list[Hit]:
        """`find` with one reading of the whole text and no cache: what `find` must equal (tests)."""
        return [self._hit(text, start, end, score, context) for start, end, score in self._names_in(text)]

    def _hit(self, text: str, start: int, end: int, score: float, context: ContextFn | None) -> Hit:
        """A name found at text[start:end], scored with the words before it on its line (and `context`)."""
        line_start = text.rfind("\n", 0, start) + 1
        ctx = text[max(line_start, start - self.WINDOW_BEFORE) : start]
        if context is not None:
            ctx += " " + context(start)
        return Hit("PERSON", start, end, min(1.0, self._score_context(ctx, score)), text[start:end], "sudachi")

    def _names_in(self, text: str) -> _Piece:
        """(start, end, score before context) of each name Sudachi finds in `text`."""
        assert self._tokenizer is not None
        # one MorphemeList refilled each time; part-of-speech ids without a Morpheme kept per morpheme
        morphemes = self._tokenizer.tokenize(text, out=self._morphemes)
        pos = list(map(self._pos_id, morphemes))
        names, surname, given = self._names, self._surname, self._given
        out: list[tuple[int, int, float]] = []
        n = len(morphemes)
        j = 0
        for i in [i for i, p in enumerate(pos) if p in names]:
            if i < j:
                continue  # the given name of the full name before
            m = morphemes[i]
            start, end, j = m.begin(), m.end(), i + 1
            score = self.PART_SCORE
            if pos[i] in surname:
                k = j + 1 if j < n and morphemes[j].surface() in (" ", "\u3000") else j
                if k < n and pos[k] in given:
                    end, j, score = morphemes[k].end(), k + 1, self.FULL_NAME_SCORE
            if j < n and morphemes[j].surface() in HONORIFICS:
                score += self.HONORIFIC_BONUS
            out.append((start, end, score))
        return tuple(out)

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if self._tokenizer is None:
            self.load()
        return [RecognizerResult(h.entity, h.start, h.end, h.score) for h in self.find(text)]
