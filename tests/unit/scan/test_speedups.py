"""The fast stage's regex rewrites find what the plain forms find (issue 15's speed budget).

Patterns start with a character or a class (look-behinds after it, base.lead), context words and
signature markers are class-led alternations (base.first_char_alternation) instead of one
re.IGNORECASE alternation, and texts whose digits are all ASCII use [0-9] for \\d. Each is compared
here with the plain form on generated text; values written in other scripts' digits still count.
"""

from __future__ import annotations

import random
import re
import sys

import pytest

from gateway.content import Segment
from gateway.scan.engine import Scanner
from gateway.scan.quiet import _MARKER, _attribution
from gateway.scan.recognizers import pattern_recognizers
from gateway.scan.recognizers.base import (
    _ND_ASTRAL,
    _ND_BMP,
    CASE_EXTRA,
    NUM_L,
    NUM_LEAD,
    _plain_words_regex,
    ascii_digit_pattern,
    ascii_digits_only,
    lead,
    words_regex,
)

# The plain forms the rewrites replace (as they were written before).
ATTRIBUTION = re.compile(
    r"(?:wrote|のメッセージ|書きました|書き込みました|から:)\s*[:：]?\s*$|"
    r"<[^<>\s]+@[^<>\s]+>\s*[:：]\s*$|"
    r"^\s*(?:From|To|Cc|Sent|Date|Subject|差出人|送信者|宛先|送信日時|日時|件名|CC)\s*[:：]|"
    r"-{3,}\s*(?:Original Message|Forwarded message|転送メッセージ|元のメッセージ)",
    re.IGNORECASE,
)
MARKER = re.compile(
    r"TEL|FAX|電話|携帯|Mobile|E-?mail|Mail\s*[:：]|メール|〒|URL|https?://|株式会社|有限会社|合同会社|\(株\)|"
    r"Co\.,?\s?Ltd|Inc\.|Corporation|事業部|\S部(?:\s|$)|\S課(?:\s|$)|部長|課長|室長|担当|Dept",
    re.IGNORECASE,
)

NUMBERS = "0123456789"
PIECES = (
    "-", " ", ".", "/", "(", ")", "+", "〒", "〒 ", "\n", "\t", "年", "月", "日", "東京都", "渋谷区", "様", "a", "Z",
    "Mr. ", "Jan ", "昭和", "S", "@", "ex.jp", "ｶ", "カナ", "フリガナ ", "漢", "\u0130", "\u212a", "\u017f",
)  # fmt: skip


def _texts(seed: int, n: int, extra: tuple[str, ...] = ()) -> list[str]:
    g = random.Random(seed)
    pieces = PIECES + extra
    out = []
    for _ in range(n):
        parts = []
        for _ in range(g.randint(1, 14)):
            if g.random() < 0.45:
                parts.append("".join(g.choice(NUMBERS) for _ in range(g.choice((1, 2, 3, 4, 4, 7, 9, 12, 16)))))
            else:
                parts.append(g.choice(pieces))
        out.append("".join(parts))
    return out


def test_case_partners_of_ascii_letters_are_all_listed() -> None:
    every = "".join(map(chr, range(sys.maxunicode + 1)))
    for c in "abcdefghijklmnopqrstuvwxyz":
        found = set(re.findall(c, every, re.IGNORECASE))
        assert found == {c, c.upper(), *CASE_EXTRA.get(c, "")}, c


@pytest.mark.parametrize("seed", range(3))
def test_context_words_match_as_the_plain_alternation(seed: int) -> None:
    lists = [r.CONTEXT for r in pattern_recognizers()] + [r.ANTI_CONTEXT for r in pattern_recognizers()]
    g = random.Random(seed)
    for words in filter(None, lists):
        fast = words_regex(words)
        plain = _plain_words_regex(sorted(set(words), key=len, reverse=True))
        assert fast is not None
        for text in _texts(seed, 300, tuple(words) + tuple(w.upper() for w in words)):
            a, b = plain.search(text), fast.search(text)
            assert (a and a.span()) == (b and b.span()), (words, text)
            i = g.randint(0, len(text))
            a, b = plain.search(text, i), fast.search(text, i)
            assert (a and a.span()) == (b and b.span()), (words, text, i)


def test_attribution_and_signature_markers_as_the_plain_alternations() -> None:
    pieces = (
        "wrote", "WROTE", "のメッセージ", "書き込みました", "から:", ":", "：", "<a@b>", "From", "to", "CC", "件名",
        "---", "--", "original message", "転送メッセージ", "TEL", "fax", "E-mail", "mail :", "メール", "URL",
        "https://", "(株)", "co., ltd", "Inc.", "事業部", "部", "課", "部長", "担当", "dept",
    )  # fmt: skip
    for text in _texts(7, 3000, pieces):
        assert _attribution(text) == bool(ATTRIBUTION.search(text)), text
        assert bool(_MARKER.search(text)) == bool(MARKER.search(text)), text


def test_lead_is_the_look_behind_before_the_first_character() -> None:
    plain = re.compile(NUM_L + r"\d{4}-?\d{6}")
    led = re.compile(NUM_LEAD + r"\d{3}-?\d{6}")
    for text in _texts(11, 2000):
        assert [m.span() for m in plain.finditer(text)] == [m.span() for m in led.finditer(text)], text
    assert lead("0", "[0-9]", r"\+") == r"0(?<![0-9]0)(?<!\+0)"


def test_ascii_digit_variant_of_every_pattern_matches_alike() -> None:
    assert ascii_digit_pattern(r"\d[\d ]\\d[^\d]") == r"[0-9][0-9 ]\\d[^0-9]"
    texts = _texts(5, 400)
    for r in pattern_recognizers():
        for (p, exact), (_, fast) in zip(r._exact, r._ascii, strict=True):
            for text in texts:
                assert [m.span() for m in exact.finditer(text)] == [m.span() for m in fast.finditer(text)], p.name


def test_decimal_digit_classes_as_from_the_whole_range_at_once() -> None:
    """base._decimal_digits reads a plane at a time (issue 16: the whole range at once was a list of
    1.1 million strings at every worker's start); the classes are what the whole range gives."""
    every = "".join(map(chr, range(0x80, sys.maxunicode + 1)))
    found = {ord(c) for c in re.findall(r"\d", every)}
    assert found == {c for c in range(0x80, sys.maxunicode + 1) if _ND_BMP.match(chr(c)) or (
        _ND_ASTRAL is not None and _ND_ASTRAL.match(chr(c)))}  # fmt: skip


def test_digits_of_other_scripts_are_seen() -> None:
    assert ascii_digits_only("東京都港区1-2-3") and ascii_digits_only("abc 123") and ascii_digits_only("😀 12")
    every = "".join(map(chr, range(0x80, sys.maxunicode + 1)))
    for c in re.findall(r"\d", every):
        assert not ascii_digits_only("電話 1" + c), hex(ord(c))


@pytest.mark.parametrize(
    ("text", "entity"),
    [
        ("〒١٢٣-٤٥٦٧", "JP_POSTAL_CODE"),
        ("免許証番号 ١٢٣٤٥٦٧٨٩٠١٢", "JP_DRIVER_LICENSE"),
        ("基礎年金番号 ١٢٣٤-٥٦٧٨٩٠", "JP_PENSION_NUMBER"),
        ("普通 ١٢٣٤٥٦٧", "JP_BANK_ACCOUNT"),
        ("普通 ०१२३४५६", "JP_BANK_ACCOUNT"),
    ],
)
def test_numbers_in_other_digits_still_count(scanner: Scanner, text: str, entity: str) -> None:
    found = scanner.find([Segment(text=text, kind="body")])
    assert [h.entity for _, h, _ in found] == [entity]
