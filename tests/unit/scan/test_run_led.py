"""Patterns whose matches start where a run of digits starts are matched at the runs' starts only
(gateway/scan/recognizers/base.py `matches_at`): the same matches as `finditer`, and every recognizer
finds the same hits as with `finditer` for every pattern, on generated text dense with digits,
separators, dates, context words and the boundaries the look-behinds check (+ - . / 〒 space)."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.scan.recognizers import pattern_recognizers
from gateway.scan.recognizers.base import matches_at, run_led, run_starts

PIECES = (
    "0", "1", "2", "3", "9", "12", "123", "1234", "4111", "0901234", "5678", "19", "20", "1985", "-", "--", " ", ".",
    "/", "+", "+81", "(", ")", "・", "〒", "年", "月", "日", "\n", "\t", "電話", "TEL:", "マイナンバー", "カード",
    "口座", "普通", "生年月日", "SSN", "DOB", "Jan", "Mar 3,", "GB", "DE89", "AB", "X", "山田", "様", "です。", "a",
    "@", "taro@example.co.jp", "注文番号", "ー", "×",
)  # fmt: skip


_RECS = pattern_recognizers()


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
    assert not run_led(r"(?:1(?<![0-9]1)9|2(?<![0-9]2)0)[0-9]{2}")
    assert run_led(r"[0-9](?<![0-9][0-9])[|](?:a|b)")


def test_matches_at_is_finditer() -> None:
    patterns = [rx for r in pattern_recognizers() for _, rx in r._ascii if id(rx) in r._run_led]
    for text in _texts(7, 3000):
        starts = run_starts(text)
        for rx in patterns:
            assert _spans(matches_at(rx, text, starts)) == _spans(rx.finditer(text)), (rx.pattern, text)


@pytest.mark.parametrize("seed", [3, 11])
def test_recognizers_find_as_with_finditer(seed: int) -> None:
    fast = pattern_recognizers()
    plain = pattern_recognizers()
    for r in plain:
        r._run_led = set()
    texts = _texts(seed, 3000)
    for text in texts:
        for a, b in zip(fast, plain, strict=True):
            assert a.find(text) == b.find(text), (type(a).__name__, text)
            assert a.find(text, table=True) == b.find(text, table=True), (type(a).__name__, text)


_ALPHABET = [*"0123456789 -./+()〒年月日\n", "電話", "カード", "a", "X"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_ALPHABET), max_size=60).map("".join))
def test_any_text_finds_the_same(text: str) -> None:
    starts = run_starts(text)
    for r in _RECS:
        for _, rx in r._ascii:
            if id(rx) in r._run_led:
                assert _spans(matches_at(rx, text, starts)) == _spans(rx.finditer(text))
    assert starts == [m.start() for m in re.finditer(r"(?<![0-9])[0-9]", text)]
