"""Office documents: spreadsheets through calamine (xlsx, xlsm, xls, ods: every sheet, hidden ones
too, rows kept as rows), Word/PowerPoint/ODF text read from their XML with defusedxml (no DTDs)."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator
from typing import Any
from xml.etree.ElementTree import Element

import python_calamine as pc
from defusedxml.ElementTree import fromstring

from gateway.extract.context import Context, Unscannable, Where
from gateway.unscannable import Reason

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
TEXT_NS = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
TABLE_NS = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"


def _cell(value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


def read_spreadsheet(ctx: Context, data: bytes, where: Where, content_type: str, strict: bool = False) -> None:
    """Every sheet's cells. `strict`: a sheet that cannot be read fails the whole workbook (before
    anything is kept), so that the caller can read the package another way."""
    try:
        wb = pc.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except pc.PasswordError as e:
        raise Unscannable(Reason.ENCRYPTED_OFFICE, f"spreadsheet is password-protected: {e}") from e
    except Exception as e:
        raise Unscannable(Reason.PARSE_ERROR, f"spreadsheet: {type(e).__name__}: {e}") from e
    hidden = {m.name for m in wb.sheets_metadata if m.visible != pc.SheetVisibleEnum.Visible}
    sheets: list[tuple[str, list[list[str]]]] = []
    for name in wb.sheet_names:
        try:
            sheet = wb.get_sheet_by_name(name)
            rows = [[_cell(v) for v in row] for row in sheet.to_python(skip_empty_area=False)]
        except Exception as e:
            if strict:
                raise Unscannable(Reason.PARSE_ERROR, f"sheet {name!r}: {type(e).__name__}: {e}") from e
            ctx.unscannable(Reason.PARSE_ERROR, f"sheet {name!r}: {type(e).__name__}: {e}", where, name)
            continue
        sheets.append((f"{name} (hidden)" if name in hidden else name, rows))
    for label, rows in sheets:
        ctx.table(rows, where, content_type, first_row=1, sheet=label)


def _xml(blob: bytes, name: str) -> Element:
    try:
        root: Element = fromstring(blob, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except Exception as e:
        raise Unscannable(Reason.PARSE_ERROR, f"{name}: {type(e).__name__}: {e}") from e
    return root


def _runs(el: Element, t: str, tab: str, brs: tuple[str, ...]) -> Iterator[str]:
    for child in el:
        if child.tag == _FALLBACK:
            continue  # the same content as mc:Choice
        if child.tag == t:
            yield child.text or ""
        elif child.tag == tab:
            yield "\t"
        elif child.tag in brs:
            yield "\n"
        else:
            yield from _runs(child, t, tab, brs)


def _cell_text(tc: Element, t: str, tab: str, brs: tuple[str, ...]) -> str:
    return " ".join("".join(_runs(tc, t, tab, brs)).split())


def _blocks(
    root: Element,
    p: str,
    tbl: str,
    tr: str,
    tc: str,
    t: str,
    tab: str,
    brs: tuple[str, ...],
    lines: list[str],
    tables: list[list[list[str]]],
) -> None:
    for child in root:
        if child.tag == p:
            lines.append("".join(_runs(child, t, tab, brs)))
        elif child.tag == tbl:
            rows = [[_cell_text(c, t, tab, brs) for c in row if c.tag == tc] for row in child.iter(tr)]
            tables.append(rows)
        elif child.tag != _FALLBACK:
            _blocks(child, p, tbl, tr, tc, t, tab, brs, lines, tables)


def _emit(ctx: Context, where: Where, ct: str, label: str, lines: list[str], tables: list[list[list[str]]]) -> None:
    ctx.text("\n".join(line for line in lines if line.strip()), "attachment", where, ct, sheet=label)
    for i, rows in enumerate(tables, 1):
        ctx.table(rows, where, ct, sheet=f"{label} table {i}".strip())


def _num(name: str) -> int:
    m = re.search(r"(\d+)\.xml$", name)
    return int(m.group(1)) if m else 0


def read_docx(ctx: Context, parts: dict[str, bytes], where: Where) -> None:
    order = ("word/document.xml", "word/header", "word/footer", "word/footnotes", "word/endnotes", "word/comments")
    names = sorted(parts, key=lambda n: (next((i for i, o in enumerate(order) if n.startswith(o)), 9), n))
    for name in names:
        if not name.endswith(".xml") or name.count("/") != 1:
            continue
        lines: list[str] = []
        tables: list[list[list[str]]] = []
        _blocks(
            _xml(parts[name], name),
            W + "p",
            W + "tbl",
            W + "tr",
            W + "tc",
            W + "t",
            W + "tab",
            (W + "br", W + "cr"),
            lines,
            tables,
        )
        label = "" if name == "word/document.xml" else name.split("/")[-1].removesuffix(".xml")
        _emit(ctx, where, "docx", label, lines, tables)


def read_pptx(ctx: Context, parts: dict[str, bytes], where: Where) -> None:
    for prefix, label in (("ppt/slides/slide", "slide"), ("ppt/notesslides/notesslide", "notes")):
        names = sorted((n for n in parts if n.lower().startswith(prefix) and n.endswith(".xml")), key=_num)
        for name in names:
            lines: list[str] = []
            tables: list[list[list[str]]] = []
            _blocks(
                _xml(parts[name], name),
                A + "p",
                A + "tbl",
                A + "tr",
                A + "tc",
                A + "t",
                A + "tab",
                (A + "br",),
                lines,
                tables,
            )
            _emit(ctx, where, "pptx", f"{label} {_num(name)}", lines, tables)


def read_odf_text(ctx: Context, parts: dict[str, bytes], where: Where, kind: str, cells_read: bool = False) -> None:
    """Every XML part of an OpenDocument package: content (not for a spreadsheet whose cells
    calamine read), styles (page headers and footers), meta (title, subject, keywords, description;
    not the authors), and the content and styles of embedded objects ("Object 1/content.xml")."""
    for name in sorted(parts, key=lambda n: (n != "content.xml", n)):
        lower = name.lower()
        if not lower.endswith(".xml") or lower.startswith(("meta-inf/", "configurations2/")) or lower == "settings.xml":
            continue
        if cells_read and lower == "content.xml":
            continue
        lines: list[str] = []
        tables: list[list[list[str]]] = []
        root = _xml(parts[name], name)
        if lower == "meta.xml":
            _odf_meta(root, lines)
        else:
            _odf_blocks(root, lines, tables)
        label = "" if name == "content.xml" else name.removesuffix(".xml")
        _emit(ctx, where, kind, label, lines, tables)


_ODF_AUTHORS = frozenset({"creator", "initial-creator", "generator", "editing-cycles", "editing-duration"})


def _odf_meta(root: Element, lines: list[str]) -> None:
    for el in root.iter():
        if el.tag.rsplit("}", 1)[-1] in _ODF_AUTHORS or not (el.text or "").strip():
            continue
        if len(el) == 0:
            lines.append(el.text or "")


def _odf_blocks(root: Element, lines: list[str], tables: list[list[list[str]]]) -> None:
    for child in root:
        if child.tag in (TEXT_NS + "p", TEXT_NS + "h"):
            lines.append("".join(child.itertext()))
        elif child.tag == TABLE_NS + "table":
            rows = []
            for row in child.iter(TABLE_NS + "table-row"):
                rows.append([" ".join("".join(c.itertext()).split()) for c in row if c.tag == TABLE_NS + "table-cell"])
            tables.append(rows)
        else:
            _odf_blocks(child, lines, tables)
