"""Patterns whose matches start a fixed offset before a run of digits are matched there only, and
patterns are not searched in a text holding none of the few characters they start with
(gateway/scan/recognizers/prefilter.py `run_offset`, `matches_at`, `first_chars`): the same matches as
`finditer`, and every recognizer finds the same hits as with `finditer` for every pattern, on
generated text dense with digits, capitals, separators, dates, context words and the boundaries the
look-behinds check (+ - . / 〒 space), and on texts dense with digit runs (base64), where one search
replaces the matches at each run."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.scan.recognizers import base, pattern_recognizers
from gateway.scan.recognizers.prefilter import (
    DENSE_RUNS,
    PREFILTER_CHARS,
    first_chars,
    holds_any,
    matches_at,
    run_places,
    run_shape,
    run_starts,
)

PIECES = (
    "0", "1", "2", "3", "9", "12", "123", "1234", "4111", "0901234", "5678", "19", "20", "1985", "-", "--", " ", ".",
    "/", "+", "+81", "(", ")", "・", "〒", "年", "月", "日", "\n", "\t", "電話", "TEL:", "マイナンバー", "カード",
    "口座", "普通", "生年月日", "SSN", "DOB", "Jan", "Mar 3,", "GB", "DE89", "AB", "X", "山田", "様", "です。", "a",
    "@", "taro@example.co.jp", "注文番号", "ー", "×", "XX", "GB82", "TR", "MZ", "ZZ1234567", "昭和", "H", "S",
    "令和元年", "Dec", "NL", "当座", "総合", "+1",
)  # fmt: skip


_RECS = pattern_recognizers()


def run_offset(regex: str, flags: int = 0) -> int | None:
    """k when every match starts k characters before a digit run starts (one k for all), else None."""
    shape = run_shape(regex, flags)
    offsets = {k for k, _ in shape} if shape is not None else set()
    return offsets.pop() if len(offsets) == 1 else None


def run_led(regex: str, flags: int = 0) -> bool:
    """Whether every match starts where a run of ASCII digits starts."""
    return run_offset(regex, flags) == 0


@pytest.fixture(autouse=True)
def _every_text_prefiltered(monkeypatch: pytest.MonkeyPatch) -> None:
    """The generated texts are short: here the prefilters take texts of any length (the real
    threshold only spares short texts the cost of looking)."""
    monkeypatch.setattr(base, "PREFILTER_CHARS", 0)


def _texts(seed: int, n: int) -> list[str]:
    g = random.Random(seed)
    return ["".join(g.choice(PIECES) for _ in range(g.randint(0, 60))) for _ in range(n)]


def _spans(ms: object) -> list[tuple[tuple[int, int], dict[str, str | None]]]:
    return [(m.span(), m.groupdict()) for m in ms]  # type: ignore[attr-defined]


def test_the_recognizers_have_run_led_patterns() -> None:
    assert sum(len(r._run_led) for r in pattern_recognizers()) >= 10


def test_run_led_reads_the_pattern() -> None:
    assert run_led(r"[0-9](?<![0-9][0-9])(?<![0-9]-[0-9])[0-9]{6}")
    assert run_led(r"(?P<d>[0-9](?<![0-9][0-9])[0-9]?) x")
    assert run_led(r"[0-9](?<![0-9][ .][0-9])(?<![0-9][0-9])[0-9]{2}")
    assert run_led(r"[0-9](?<![0-9+\-.][0-9])(?:[ \-]?[0-9]){7,11}")
    assert not run_led(r"[0-9](?<![0-9]-[0-9])[0-9]{6}")  # a digit after a digit could start it
    assert not run_led(r"[0-9](?<![0-9][0-9])[0-9]{6}|abc")
    assert not run_led(r"(?P<d>[0-9](?<![0-9][0-9])1|2)")
    assert run_led(r"(?:1(?<![0-9]1)9|2(?<![0-9]2)0)[0-9]{2}")  # one digit, the same digit behind
    assert not run_led(r"(?:1(?<![0-9]2)9|2(?<![0-9]2)0)[0-9]{2}")  # a look-behind about another digit
    assert run_led(r"[0-9](?<![0-9][0-9])[|](?:a|b)")


def test_run_offset_reads_the_prefix() -> None:
    assert run_offset(r"[A-Z](?<![A-Za-z0-9][A-Z])[A-Z][0-9]{7}") == 2
    assert run_offset(r"\+(?<![0-9]\+)81[- ]?[0-9]{4}") == 1
    assert run_offset(r"AB(?=C)C[0-9]+") == 3  # a look-ahead consumes nothing
    assert run_offset(r"[A-Z]{3}(?P<v>[0-9]{2})") == 3
    assert run_offset(r"(?:AB[0-9]|CD[0-9]{2})") == 2
    assert run_offset(r"(?:AB[0-9]|C[0-9])") is None  # two offsets
    assert run_offset(r"[0-9](?<![0-9][0-9])x") == 0
    assert run_offset(r"[A-Z][0-9]?[0-9]") is None  # the digit may come later
    assert run_offset(r"[A-Z0-9]{2}[0-9]") is None  # the prefix may hold a digit
    assert run_offset(r"[^a][0-9]") is None  # a negated class may be a digit
    assert run_offset(r"\w[0-9]") is None
    assert run_offset(r"[A-Z]{1,2}[0-9]") is None  # not a fixed width
    assert run_offset(r"AB[0-9]", re.IGNORECASE) is None
    assert run_offset(r"x[a-z]*") is None  # no digit
    assert run_offset(r"[A-Z]{2}\d") is None  # \d is not the ASCII class


def test_first_chars_reads_the_start() -> None:
    assert first_chars(r"(?:普通|当座)(?:預金)?[0-9]{7}") == frozenset("普当")
    assert first_chars(r"(?<![0-9])[(2-9][0-9]") == frozenset("(23456789")
    assert first_chars(r"(?P<mn>Jan|Feb)(?<![A-Za-z][A-Za-z]{3}) [0-9]") == frozenset("JF")
    assert first_chars(r"x+y") == frozenset("x")
    assert first_chars(r"x*y") is None  # the start may be y
    assert first_chars(r"(?:|a)b") is None  # an empty alternative
    assert first_chars(r"[A-Z][0-9]") is None  # too many to look for one by one
    assert first_chars(r"[^a]b") is None
    assert first_chars(r".b") is None
    assert first_chars(r"ab", re.IGNORECASE) is None
    assert first_chars(r"(?i:a)b") is None


def test_dense_runs_search_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Few places: matched there; many (a run every 2 characters): one search. Short: one search."""
    monkeypatch.setattr(base, "PREFILTER_CHARS", PREFILTER_CHARS)
    sparse = "1" + "X" * (PREFILTER_CHARS * 2)
    dense = "1X" * PREFILTER_CHARS
    assert len(run_starts(sparse)) * DENSE_RUNS <= len(sparse)
    assert len(run_starts(dense)) * DENSE_RUNS > len(dense)
    fast, plain = _one("PassportRecognizer"), _one("PassportRecognizer")
    plain._run_led = {}
    for text in (sparse, dense, "ZZ1234567 " + dense, sparse + " ZZ1234567", "ZZ1234567 1X"):
        assert fast.find(text) == plain.find(text)
        assert fast.shape_spans(text) == [m.span() for _, rx in plain._patterns(text) for m in rx.finditer(text)]


def _one(name: str) -> Any:
    return next(r for r in pattern_recognizers() if type(r).__name__ == name)


def test_the_recognizers_have_offset_patterns() -> None:
    shapes = [pair for r in pattern_recognizers() for shape in r._run_led.values() for pair in shape]
    assert sum(1 for k, _ in shapes if k > 0) >= 5
    assert sum(1 for _, n in shapes if n >= 4) >= 5


def test_run_shape_counts_the_digits_taken() -> None:
    assert run_shape(r"[0-9](?<![0-9][0-9])(?<![0-9]-[0-9])[0-9]{6}(?![0-9])") == ((0, 7),)
    assert run_shape(r"0(?<![0-9]0)[0-9]{9,10}") == ((0, 10),)  # then no more counted: 9 or 10
    assert run_shape(r"[A-Z]{2}(?=[0-9])[0-9][0-9]x[0-9]") == ((2, 2),)
    assert run_shape(r"(?:1(?<![0-9]1)9|2(?<![0-9]2)0)[0-9]{2}") == ((0, 2),)  # the group's alternatives
    assert run_shape(r"(?:AB[0-9]{3}|CD[0-9])") == ((2, 1), (2, 3))
    assert run_shape(r"[0-9](?<![0-9][0-9])[0-9]?[0-9]{5}") == ((0, 1),)  # an optional digit ends the count
    assert run_shape(r"[0-9](?<![0-9][0-9])(?:[0-9]{2}|[0-9]{3}x)") == ((0, 3),)  # the fewest of the alternatives


def test_run_shape_of_mixed_starts() -> None:
    # a class of digits and other characters: a run starts at the digit, or right after the other
    assert run_shape(r"[(2-9](?<![0-9][(2-9])[0-9]{2}") == ((0, 3), (1, 2))
    assert run_shape(r"(?:0(?<![0-9]0)[0-9]|\((?<![0-9]\()0[0-9]{3})") == ((0, 2), (1, 4))
    assert run_shape(r"[(2-9][0-9]{2}") is None  # no look-behind: the digit may continue a number
    assert run_shape(r"[(2-9](?<![0-9][(2-9])x[0-9]") == ((0, 1), (2, 1))  # "(x", then the run
    assert run_shape(r"[(2-9](?<![0-9][(2-9])x*[0-9]") is None  # after "(" any number of x


def test_run_places() -> None:
    text = "(12 345 x678"
    assert run_places(text, ((0, 3),)) == [4, 9]
    assert run_places(text, ((1, 2), (0, 3))) == [0, 3, 4, 8, 9]
    assert run_places(text, ((2, 1),)) == [2, 7]  # 12 has only "(" before it: no place 2 back


def test_run_starts_by_length() -> None:
    text = "a1 22 333-4444 55555x"
    assert run_starts(text) == [1, 3, 6, 10, 15]
    assert run_starts(text, 3) == [6, 10, 15]
    assert run_starts(text, 5) == [15]
    assert run_starts(text, 6) == []


def test_matches_at_is_finditer() -> None:
    patterns = [(rx, r._run_led[id(rx)]) for r in _RECS for _, rx in r._ascii if id(rx) in r._run_led]
    for text in _texts(7, 3000):
        for rx, shape in patterns:
            found = matches_at(rx, text, run_places(text, shape))
            assert _spans(found) == _spans(rx.finditer(text)), (rx.pattern, text)


def test_first_chars_absent_no_match() -> None:
    checked = 0
    for text in _texts(9, 3000):
        for r in _RECS:
            for _, rx in r._exact + r._ascii:
                first = r._first[id(rx)]
                if first is not None and not holds_any(text, first):
                    assert rx.search(text) is None, (rx.pattern, text)
                    checked += 1
    assert checked > 10000


@pytest.mark.parametrize("seed", [3, 11])
def test_recognizers_find_as_with_finditer(seed: int) -> None:
    fast = pattern_recognizers()
    plain = pattern_recognizers()
    for r in plain:
        r._run_led = {}
        r._first = dict.fromkeys(r._first)
    texts = _texts(seed, 3000) + _dense(seed, 200)
    for text in texts:
        for a, b in zip(fast, plain, strict=True):
            assert a.find(text) == b.find(text), (type(a).__name__, text)
            assert a.find(text, table=True) == b.find(text, table=True), (type(a).__name__, text)


def _dense(seed: int, n: int) -> list[str]:
    """Texts with a digit run every few characters (base64, tables of figures), and some capitals."""
    g = random.Random(seed)
    alphabet = "0123456789AZXGB+/= -\n"
    return ["".join(g.choice(alphabet) for _ in range(g.randint(40, 400))) for _ in range(n)]


_ALPHABET = [*"0123456789 -./+()〒年月日\n", "電話", "カード", "a", "X", "GB", "ZZ", "昭和", "普通"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_ALPHABET), max_size=60).map("".join))
def test_any_text_finds_the_same(text: str) -> None:
    starts = run_starts(text)
    for r in _RECS:
        for _, rx in r._ascii:
            if id(rx) in r._run_led:
                found = matches_at(rx, text, run_places(text, r._run_led[id(rx)]))
                assert _spans(found) == _spans(rx.finditer(text))
            first = r._first[id(rx)]
            if first is not None and not holds_any(text, first):
                assert rx.search(text) is None
    assert starts == [m.start() for m in re.finditer(r"(?<![0-9])[0-9]", text)]
