"""What a pattern needs in a text to match at all, read from its parse tree (gateway/scan/recognizers/
prefilter.py `requires`): a text without it has no match, and every recognizer finds the same with the
check as without it (the form before), on generated text: Latin lines (smtp-source's X lines),
Japanese prose, digits of other scripts, katakana, addresses, e-mail addresses, tables."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.scan.recognizers import pattern_recognizers
from gateway.scan.recognizers.prefilter import _NEED_RX, has_needed, requires


def test_requires_reads_the_parse_tree() -> None:
    assert requires(r"[0-9]{3}-\d{4}") == r"\d"
    assert requires(r"(?:ABC|X\d)") is None  # one alternative has no digit
    assert requires(r"(?:abc|x\d)") == "[a-z]"  # both have a small letter
    assert requires(r"(?:a1|b2)c") == r"\d"
    assert requires(r"A[0-9]?B") is None  # optional
    assert requires(r"A[0-9]{0,3}B") is None
    assert requires(r"A(?=[0-9])") is None  # look-arounds are not read
    assert requires(r"[0-9A]") is None  # a class with a letter in it
    assert requires(r"[^a-z]") is None
    assert requires(r"x@y") == "@"
    assert requires(r"東京[市区]") == "[市区町村郡]"
    assert requires(r"[A-Z][a-z]+") == "[a-z]"
    assert requires(r"[A-Z][a-z]+", re.IGNORECASE) is None  # [a-z] would match capitals too
    assert requires(r"(?i:[a-z])X") is None
    assert requires(r"(?i:[a-z])x") == "[a-z]"  # the x outside is small
    assert requires(r"(?i)[a-z]") is None
    assert requires(r"\d", re.ASCII) == r"\d"
    assert requires(r"(?P<v>[ァ-ヺ]{1,3})") == "[\u30a1-\u30fa\u30fc]"
    assert requires(r"(A)\1") is None


PIECES = (
    "X" * 78 + "\r\n", "x" * 40, "Hello World", "Dear Mr. Smith", "Taro Yamada", "Mar 3, 1985", "DE89 3704 0044",
    "GB82WEST12345698765432", "AB1234567", "+1 650-253-0000", "123-45-6789", "1985/03/04", "令和2年", "S60.1.2",
    "〒105-0011", "東京都港区芝公園1-2-3", "大阪市北区梅田2-2-2", "港区", "市", "ヤマダ タロウ", "(ヤマダ タロウ)",
    "フリガナ", "氏名", "お名前(フリガナ)", "taro@example.co.jp", "@", "普通 1234567", "4111 1111 1111 1111",
    "０９０", "١٢٣", "\u0966\u0967", "𝟘𝟙", "いつもお世話になっております。", "\n", "\t", " ", "-", ".",
)  # fmt: skip


def _texts(seed: int, n: int) -> list[str]:
    g = random.Random(seed)
    return ["".join(g.choice(PIECES) for _ in range(g.randint(0, 25))) for _ in range(n)]


_RECS = pattern_recognizers()


def test_no_match_without_what_a_pattern_needs() -> None:
    checked = 0
    for text in _texts(5, 4000):
        for r in _RECS:
            for _, rx in r._exact + r._ascii:
                need = r._needs[id(rx)]
                if need is not None and not _NEED_RX[need].search(text):
                    assert rx.search(text) is None, (rx.pattern, text)
                    checked += 1
    assert checked > 10000


@pytest.mark.parametrize("seed", [3, 11])
def test_recognizers_find_as_without_the_check(seed: int) -> None:
    plain = pattern_recognizers()
    for r in plain:
        r._needs = dict.fromkeys(r._needs)
    for text in _texts(seed, 3000):
        for a, b in zip(_RECS, plain, strict=True):
            assert a.find(text) == b.find(text), (type(a).__name__, text)
            assert a.find(text, table=True) == b.find(text, table=True), (type(a).__name__, text)


def test_has_needed_answers_for_each_text() -> None:
    a, b = "abc1", "abc"
    assert has_needed(r"\d", a) and not has_needed(r"\d", b) and has_needed(r"\d", a)
    assert has_needed(r"\d", "٣") and not has_needed("@", a)


_ALPHABET = [*PIECES, *"0123456789aZ@ァ市"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_ALPHABET), max_size=30).map("".join))
def test_any_text_finds_the_same(text: str) -> None:
    for r in _RECS:
        for _, rx in r._exact + r._ascii:
            need = r._needs[id(rx)]
            if need is not None and not has_needed(need, text):
                assert rx.search(text) is None
