"""The table reading of the scan, written for speed, answers as the plain forms it replaced: read_cells
(the empty-marker regex only where a value can start one), _typed (stops once too few cells are left
to pass) and content_columns, compared with the forms as they were on generated tables."""

from __future__ import annotations

import random
import sys
from collections.abc import Callable, Container

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.scan import tables
from gateway.scan.engine import _JA_TEXT, Scanner
from gateway.scan.model import Hit
from gateway.scan.tables import _EMPTY, _EMPTY_STARTS, COLUMN_MIN, COLUMN_SHARE, SAMPLE_CELLS


def old_read_cells(text: str, start: int, skip: Container[int] = ()) -> dict[int, list[tuple[int, str]]]:
    cols: dict[int, list[tuple[int, str]]] = {}
    pos = start
    for line in text[start:].split("\n"):
        cell_start = pos
        for i, cell in enumerate(line.split("\t")):
            if i in skip:
                cell_start += len(cell) + 1
                continue
            value = cell.strip()
            if value and not _EMPTY.match(value):
                cols.setdefault(i, []).append((cell_start + len(cell) - len(cell.lstrip()), value))
            cell_start += len(cell) + 1
        pos += len(line) + 1
    return cols


def old_typed(cells: list[tuple[int, str]], test: Callable[[str], bool]) -> bool:
    sample = cells[:SAMPLE_CELLS]
    good = sum(1 for _, v in sample if test(v))
    return good >= COLUMN_MIN and good >= COLUMN_SHARE * len(sample)


CELLS = (
    "", " ", "  ", "\u3000", "-", "－", "—", "ー", "―", "/", "・", ".", "*", "- -", "なし", "無し", "不明", "未定",
    "未記入", "N/A", "n/a", "NA", "na", "none", "NONE", "Null", "-1", "なしです", "Nakamura", "N", "n/", "山田 太郎",
    "ヤマダ タロウ", "ﾔﾏﾀﾞ ﾀﾛｳ", "Taro Yamada", "YAMADA, Taro", "Hanako Sato", "P-1234", "ボールペン", "120", "3.5",
    "1980/04/01", "1975-12-31", "1990年1月2日", " 山田 ", "\u3000佐藤 花子", "x", "*1", "未", "不", "無", "な",
    "hanako@example.jp", "090-1234-5678", "東京都千代田区丸の内1-1-1", "\x1c", "a\u3000b",
)  # fmt: skip


def _table(g: random.Random) -> str:
    columns = g.randint(1, 6)
    kinds = [g.choice(("names", "kana", "romaji", "mixed", "numbers", "empty")) for _ in range(columns)]
    pools = {
        "names": ["山田 太郎", "佐藤 花子", "鈴木 一郎", "", "-"],
        "kana": ["ヤマダ タロウ", "サトウ ハナコ", "スズキ イチロウ", "なし", ""],
        "romaji": ["Taro Yamada", "Hanako Sato", "ICHIRO Suzuki", "N/A", "Tokyo Station"],
        "mixed": list(CELLS),
        "numbers": ["120", "3,400", "P-1234", "", "0"],
        "empty": ["", " ", "-", "なし"],
    }
    rows = []
    for _ in range(g.randint(0, 260)):
        cells = [g.choice(pools[k]) for k in kinds]
        if g.random() < 0.1:
            cells = cells[: g.randint(0, len(cells))]  # a short row
        rows.append("\t".join(cells))
    return "\n".join(rows)


def test_empty_starts_hold_every_first_character_of_an_empty_marker() -> None:
    """A stripped value whose first character is not in _EMPTY_STARTS never matches _EMPTY: every
    code point tried alone and followed by each continuation of the regex's words."""
    tails = ("", "し", "明", "定", "記入", "/A", "A", "one", "ull", "-", " -", "/")
    for cp in range(sys.maxunicode + 1):
        c = chr(cp)
        if c in _EMPTY_STARTS or c.isspace() or 0xD800 <= cp <= 0xDFFF:
            continue
        for tail in tails:
            assert _EMPTY.match(c + tail) is None, (hex(cp), tail)


def test_read_cells_as_before_on_generated_tables() -> None:
    g = random.Random(16)
    for _ in range(400):
        text = _table(g)
        start = text.find("\n") + 1 if g.random() < 0.7 else 0
        skip = set(g.sample(range(6), g.randint(0, 2)))
        assert tables.read_cells(text, start, skip) == old_read_cells(text, start, skip)


@given(st.lists(st.sampled_from((*CELLS, "\t", "\n", " ", "\u3000", "a", "\tP")), max_size=60))
@settings(max_examples=300, deadline=None)
def test_read_cells_as_before_on_any_text(pieces: list[str]) -> None:
    text = "".join(pieces)
    for start in (0, text.find("\n") + 1):
        assert tables.read_cells(text, start) == old_read_cells(text, start)
        assert tables.read_cells(text, start, {1}) == old_read_cells(text, start, {1})


@given(st.lists(st.booleans(), max_size=260))
@settings(max_examples=500, deadline=None)
def test_typed_stops_early_with_the_same_answer(passes: list[bool]) -> None:
    cells = [(i, "y" if ok else "n") for i, ok in enumerate(passes)]

    def test(value: str) -> bool:
        return value == "y"

    assert tables._typed(cells, test) == old_typed(cells, test)


def test_content_columns_as_before_on_generated_tables(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    g = random.Random(7)
    cases = []
    for _ in range(300):
        text = _table(g)
        start = text.find("\n") + 1
        header = tuple(text[: max(0, start - 1)].split("\t")) if start else ()
        columns = {0: "PERSON"} if g.random() < 0.2 else {}
        hits = []
        for line_start in [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]:
            if g.random() < 0.3:
                entity = g.choice(("PERSON", "EMAIL_ADDRESS", "DATE_OF_BIRTH", "JP_PHONE_NUMBER"))
                hits.append(Hit(entity, line_start, line_start + 2, g.choice((0.4, 0.9)), "19800101", "sudachi"))
        cases.append((text, start, header, columns, hits))

    def run() -> list[tuple[list[Hit], dict[int, str]]]:
        out = []
        for text, start, header, columns, hits in cases:
            cols = dict(columns)
            found = tables.content_columns(text, start, header, cols, hits, lambda e: 0.5)
            out.append((found, cols))
        return out

    new = run()
    monkeypatch.setattr(tables, "read_cells", old_read_cells)
    monkeypatch.setattr(tables, "_typed", old_typed)
    assert run() == new


def old_table_names(scanner: Scanner, chunk: str, columns: dict[int, str], limit: int) -> list[Hit]:
    out: list[Hit] = []
    cache: dict[str, list[Hit]] = {}
    pos = 0
    for line in chunk.split("\n"):
        start = pos
        for i, cell in enumerate(line.split("\t")):
            if i not in columns and cell and _JA_TEXT.search(cell):
                got = cache.get(cell)
                if got is None:
                    if len(cache) >= limit:
                        got = []
                    else:
                        got = cache[cell] = scanner.names.find(cell, None)
                out.extend(Hit(h.entity, h.start + start, h.end + start, h.score, h.value, h.source) for h in got)
            start += len(cell) + 1
        pos += len(line) + 1
    return out


def test_table_names_as_before(scanner: Scanner) -> None:
    g = random.Random(3)
    for limit in (2, 5, 2000):
        cfg = scanner.config.model_copy(update={"max_table_cells_for_names": limit})
        probe = Scanner.__new__(Scanner)
        probe.config, probe.names = cfg, scanner.names
        for _ in range(60):
            text = _table(g)
            columns = {0: "PERSON"} if g.random() < 0.3 else {}
            assert probe._table_names(text, columns, None) == old_table_names(scanner, text, columns, limit)
