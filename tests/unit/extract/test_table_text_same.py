"""Context.table writes a table whose cells normalisation leaves alone as one joined text (checked at
once on the whole), and cell by cell through the TextBuilder otherwise: the segment is the same either
way. Compared here with the builder alone (the form before) on generated rows, with every kind of
character normalisation touches: full-width forms, dashes between digits, format characters,
combining marks (alone, after digits, at a cell's start), astral characters, line separators inside
cells, and limits that cut the table."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.config.extract import ExtractLimits
from gateway.content import Segment
from gateway.extract import context as context_module
from gateway.extract.context import Context, Where

PIECES = (
    "", "a", "Z", "1", "23", "-", "ー", "－", "—", "−", "山田", "ボールペン", "ｶﾀｶﾅ", "ﾀﾞ", "１２", "ＡＢ", "㈱", "①",
    "\u200b", "\u00ad", "\ufeff", "\u0301", "\u0340", "\u3099", "e\u0301", "\u0591\u0300", "\U0001d7d9", "\U000e0041",
    "😀", "\x0b", "\x0c", "\x1c", "\u2028", "\u0085", "\t", "\n", "\r", " ", "\u3000", "P-1234", "090-1234-5678",
    "0\u200b9\u200b0", "1\u03012", "Ａ\u0301",
)  # fmt: skip


def _builder_segment(ctx: Context, rows: list[list[str]], where: Where, **kw: object) -> list[Segment]:
    saved = context_module._plain_table
    context_module._plain_table = lambda rows, start, room: None  # the builder, cell by cell
    try:
        ctx.table(rows, where, "x", **kw)  # type: ignore[arg-type]
    finally:
        context_module._plain_table = saved
    return ctx.out.segments


def _both(rows: list[list[str]], limits: ExtractLimits | None = None) -> None:
    where = Where("2", "book.xlsx")
    fast = Context(limits or ExtractLimits(), lambda *a: None)
    fast.table(rows, where, "x", sheet="s")
    plain = Context(limits or ExtractLimits(), lambda *a: None)
    assert fast.out.segments == _builder_segment(plain, rows, where, sheet="s")
    assert fast.out.findings == plain.out.findings


# Pieces that normalisation leaves alone on their own (marks that compose with nothing, separators of
# lines other than LF, astral characters, dashes away from digits): tables of them take the joined text,
# unless two pieces meet into something normalisation changes (ー between two digits).
QUIET = (
    "", "a", "1", "-", "ー", "山田", "ボールペン", "x\u0301", "\u0301", "\u0591", "\u3099", "😀", "\x0b", "\x1c",
    "\u2028", "\u0085", " ", "P-1234", "7\u0301",
)  # fmt: skip


def _rows(g: random.Random) -> list[list[str]]:
    pieces = QUIET if g.random() < 0.6 else PIECES
    rows = []
    for _ in range(g.randint(0, 30)):
        rows.append(["".join(g.choice(pieces) for _ in range(g.randint(0, 4))) for _ in range(g.randint(0, 6))])
    return rows


def test_table_segment_as_the_builder_writes_it() -> None:
    g = random.Random(5)
    for _n in range(3000):
        _both(_rows(g))


def test_table_segment_as_the_builder_writes_it_when_cut() -> None:
    g = random.Random(6)
    for _n in range(1500):
        limits = ExtractLimits(max_attachment_text_chars=g.randint(1, 200))
        _both(_rows(g), limits)


def test_plain_tables_take_the_joined_text() -> None:
    calls = []
    saved = context_module._plain_table

    def spy(rows: list[list[str]], start: int, room: int) -> tuple[str, list[int]] | None:
        got = saved(rows, start, room)
        calls.append(got is not None)
        return got

    context_module._plain_table = spy
    try:
        _both([["商品", "数量"], ["ボールペン", "12"], ["P-1234", "", ""]])
    finally:
        context_module._plain_table = saved
    assert calls[0] is True


@given(
    st.lists(
        st.lists(st.text(alphabet=st.sampled_from([p for p in PIECES if len(p) == 1]), max_size=6), max_size=5),
        max_size=12,
    )
)
@settings(max_examples=600, deadline=None)
def test_table_segment_as_the_builder_writes_it_any_cells(rows: list[list[str]]) -> None:
    _both(rows)
