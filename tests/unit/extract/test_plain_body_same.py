"""The plain-body path without the work it repeats (gateway/extract/normalise.py, text.py), against the
forms before, kept here: `normalise` normalising only the clusters that can change (the rest of a line
taken as it is), the dash between digits found dash first, and `quoted_runs` answering one run of new
text when no line can be quoted. Same text, same breaks, same runs, on generated text full of what
each step looks at (full-width and half-width forms, voiced marks, combining marks at line starts
and after digits, format characters, astral characters, every line separator, dashes between digits,
'>' and '＞' lines, separators, "wrote:", 差出人, underscores, "MESSAGE" in other cases)."""

from __future__ import annotations

import random
import re
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.extract import normalise as norm_mod
from gateway.extract.normalise import _DASHES, _HAS_DASH, _SUSPECT, _dashes, _visible, normalise
from gateway.extract.text import _QUOTE_START, quoted_runs

_OLD_DASH = re.compile(r"(?<=\d)[" + _DASHES + r"](?=\d)")
_OLD_CLUSTER = re.compile(r".[\u0300-\u036f\u3099\u309a\uff9e\uff9f\u20d0-\u20ff]*", re.S)


def _old_dashes(text: str) -> str:
    if _HAS_DASH.search(text) is None:
        return text
    return _OLD_DASH.sub("-", text)


def _old_normalise(text: str) -> tuple[str, list[tuple[int, int]]]:
    if text.isascii():
        return text, []
    suspect = _SUSPECT.search(text) is not None
    if not suspect and unicodedata.is_normalized("NFKC", text):
        return _old_dashes(text), []
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
            for m in _OLD_CLUSTER.finditer(line):
                cluster = m.group()
                norm = unicodedata.normalize("NFKC", cluster)
                out.append(norm)
                if len(norm) != len(cluster):
                    breaks.extend((n + k, s) for k in range(1, len(norm)))
                    breaks.append((n + len(norm), s + len(cluster)))
                n += len(norm)
                s += len(cluster)
    return _old_dashes("".join(out)), breaks


def _old_quoted_runs(text: str) -> list[tuple[bool, str]]:
    runs: list[tuple[bool, list[str]]] = []
    after_separator = False
    for line in text.splitlines(keepends=True):
        if not after_separator and _QUOTE_START.match(line):
            after_separator = True
        quoted = after_separator or line.lstrip().startswith((">", "＞"))
        if runs and runs[-1][0] == quoted:
            runs[-1][1].append(line)
        elif line.strip() or not runs:
            runs.append((quoted, [line]))
        else:
            runs[-1][1].append(line)
    return [(q, "".join(lines)) for q, lines in runs]


PIECES = (
    "山田", "太郎", "様", "。", "、", "いつもお世話になっております", "123", "０９０", "－", "ー", "ｰ", "—", "−", "‐",
    "（税抜）", "：", "～", "ｶﾞ", "ﾊﾟ", "ｶ", "\uff9e", "\uff9f", "\u3099", "\u309a", "か\u3099", "e\u0301", "\u0301",
    "1\u03012", "\u20dd", "㈱", "①", "㍻", "ﬁ", "Ⅻ", "\u00a8", "\u00a0", "\u3000", "\u200b", "\u200d",
    "\ufeff", "\u00ad", "\U0001d7d8", "\U0001f600", "\U000e0041", "𠮷", "丽", "\uf900", "\u1100\u1161", "가",
    "abc", "ABC", "Ǆ", "ſ",
    "\n", "\r\n", "\r", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\u2029", " ", "\t",
    ">", "> ", "＞", " >", "--", "-----Original Message-----", "---- 転送メッセージ ----", "From: a@b.example",
    "差出人: 山田", "On Mon, 1 Jan 2024 someone wrote:", "山田太郎 が書きました:", "山田のメッセージ:", "_" * 10,
    "_" * 9, "MESSAGE", "meſſage", "ORİGİNAL MESSAGE", ":", "wrote", "書きました", "メッセージ",
)  # fmt: skip


def _texts(seed: int, n: int) -> list[str]:
    g = random.Random(seed)
    return ["".join(g.choice(PIECES) for _ in range(g.randint(0, 40))) for _ in range(n)]


def test_normalise_is_the_form_before() -> None:
    for text in _texts(7, 6000):
        assert normalise(text) == _old_normalise(text), repr(text)


def test_dashes_are_the_form_before() -> None:
    for text in _texts(8, 3000):
        assert _dashes(text) == _old_dashes(text), repr(text)


def test_quoted_runs_are_the_form_before() -> None:
    texts = _texts(9, 6000)
    assert sum(len(_old_quoted_runs(t)) > 1 for t in texts) > 1000  # many have quoted runs
    for text in texts:
        assert quoted_runs(text) == _old_quoted_runs(text), repr(text)


def test_changing_clusters_hold_every_character_nfkc_changes() -> None:
    rx = norm_mod._changing_clusters()
    for cp in range(0x10000):
        c = chr(cp)
        if unicodedata.normalize("NFKC", c) != c:
            assert rx.fullmatch(c), hex(cp)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=60))
def test_any_text_normalises_and_splits_as_before(text: str) -> None:
    assert normalise(text) == _old_normalise(text)
    assert quoted_runs(text) == _old_quoted_runs(text)
