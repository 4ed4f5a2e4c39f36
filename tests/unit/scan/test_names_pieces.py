"""Names read in pieces cut at lone line ends, with a cache of pieces read before, are the names one
reading of the whole text finds (gateway/scan/recognizers/person_ja.py): same spans, values, scores
and order, with and without a column context, on generated text full of names, white space next to
line ends (CR, blank lines, spaces, U+3000, U+00A8 that NFKC turns into a space), brackets with
readings, prolonged sound marks, numbers and katakana; and the same texts with CR LF line ends, as
mail bodies have them (a lone CR LF is cut too)."""

from __future__ import annotations

import random
import re

import pytest

from gateway.scan.engine import Scanner
from gateway.scan.recognizers.person_ja import _LONE_LF, CACHE_ENTRIES, JapaneseNameRecognizer, pieces

NAMES = (
    "山田 太郎",
    "佐藤花子",
    "鈴木",
    "高橋\u3000健様",
    "田中美咲さん",
    "ひろし",
    "マリア",
    "一郎",
    "林",
    "森 さくら",
)
PIECES = (
    "\n", "\n", "\n", "\r\n", "\n\n", " \n", "\n ", "\u3000", "\u00a8", "\u00a0", "\t", " ", "。", "、", "様", "さん",
    "氏名", "お名前:", "患者 ", "ー", "ｰｰ", "-", "〜", "（やまだ）", "(たろう)", "123", "09.4444", "一二三", "カタカナ",
    "ｶﾀｶﾅ", "abc", "Taro", "いつもお世話になっております", "株式会社", "部長", "\u0130", "¨",
)  # fmt: skip


def _texts(seed: int, n: int) -> list[str]:
    g = random.Random(seed)
    out = []
    for _ in range(n):
        parts = [g.choice(NAMES) if g.random() < 0.35 else g.choice(PIECES) for _ in range(g.randint(1, 24))]
        out.append("".join(parts))
    return out


@pytest.fixture(scope="module")
def names(scanner: Scanner) -> JapaneseNameRecognizer:
    return scanner.names


def test_pieces_are_the_whole_reading(names: JapaneseNameRecognizer) -> None:
    texts = _texts(7, 4000)
    for round_ in range(2):  # the second round reads every piece from the cache
        for i, text in enumerate(texts):
            context = (lambda off: "氏名") if i % 3 == 0 else None
            assert names.find(text, context) == names.find_whole(text, context), (round_, text)


def test_pieces_with_crlf_are_the_whole_reading(names: JapaneseNameRecognizer) -> None:
    texts = [t.replace("\r\n", "\n").replace("\n", "\r\n") for t in _texts(11, 4000)]
    assert sum(len(pieces(t)) > 1 for t in texts) > 1000  # most are cut
    for round_ in range(2):
        for i, text in enumerate(texts):
            context = (lambda off: "氏名") if i % 3 == 0 else None
            assert names.find(text, context) == names.find_whole(text, context), (round_, text)


def test_a_cached_piece_elsewhere_in_another_text(names: JapaneseNameRecognizer) -> None:
    line = "山田 太郎様にご連絡ください"
    for text in (
        line,
        "顧客\n" + line,
        "お名前\n" + line + "\n鈴木",
        "ご担当\n\n" + line + " \n佐藤花子",
        "お名前\r\n" + line + "\r\n鈴木",
        "顧客\n" + line + "\r\n",
    ):
        assert names.find(text) == names.find_whole(text)
        assert names.find(text, lambda off: "氏名") == names.find_whole(text, lambda off: "氏名")


def test_cuts_only_at_lone_line_ends() -> None:
    assert pieces("あ\nい\nう") == [(0, 1), (2, 3), (4, 5)]
    assert pieces("あ\n\nい") == [(0, 4)]  # a blank line: white space grouped
    assert pieces("あ\r\nい") == [(0, 1), (3, 4)]  # CR LF: one white-space node, as LF alone
    assert pieces("あ\r\nい\nう\r\n") == [(0, 1), (3, 4), (5, 8)]
    assert pieces("あ\r\r\nい") == [(0, 5)]
    assert pieces("あ \r\nい") == [(0, 5)]
    assert pieces("あ\r\n\r\nい") == [(0, 6)]
    assert pieces("あ\rい") == [(0, 3)]
    assert pieces("あ \nい") == [(0, 4)]
    assert pieces("あ\n\u3000い") == [(0, 4)]
    assert pieces("あ\n\u00a8い") == [(0, 4)]  # NFKC: a space and a combining mark
    assert pieces("\nあ\n") == [(0, 3)]
    assert pieces("") == [(0, 0)]


def test_cache_is_bounded_and_keeps_no_text(names: JapaneseNameRecognizer) -> None:
    for i in range(CACHE_ENTRIES + 10):
        names.find(f"山田{i}")
    assert len(names._cache) <= CACHE_ENTRIES
    assert all(isinstance(k, bytes) and len(k) == 16 for k in names._cache)


def test_lone_line_ends_are_found_as_before() -> None:
    """_LONE_LF starts with the line end (the search skips to the next CR or LF): the matches of the
    form before, `(?<=\\S)\\r?\\n(?=\\S)`, on every kind of white space and line end next to each other."""
    before = re.compile(r"(?<=\S)\r?\n(?=\S)")
    alphabet = ("\r", "\n", "\r\n", " ", "a", "山", "\u3000", "\t", "\x0b", "\x0c", "\x85", "\u2028", "\u00a8", "様")
    g = random.Random(5)
    for _ in range(50000):
        text = "".join(g.choice(alphabet) for _ in range(g.randint(0, 14)))
        assert [m.span() for m in _LONE_LF.finditer(text)] == [m.span() for m in before.finditer(text)], repr(text)
