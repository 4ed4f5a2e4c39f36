"""Office documents: spreadsheets through calamine (xlsx, xlsm, xls, ods: every sheet, hidden ones
too, rows kept as rows) and OpenDocument text read from its XML with defusedxml (no DTDs). The
parts of OOXML packages (docx, pptx, and what calamine does not read of xlsx): ooxml.py."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any
from xml.etree.ElementTree import Element

import python_calamine as pc
from defusedxml.ElementTree import fromstring

from gateway.extract.context import Context, Unscannable, Where
from gateway.unscannable import Reason

TEXT_NS = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
TABLE_NS = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"


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
            # a str cell is its own text (_cell gives it back): only the others go through _cell
            rows = [[v if type(v) is str else _cell(v) for v in row] for row in sheet.to_python(skip_empty_area=False)]
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


def _emit(ctx: Context, where: Where, ct: str, label: str, lines: list[str], tables: list[list[list[str]]]) -> None:
    ctx.text("\n".join(line for line in lines if line.strip()), "attachment", where, ct, sheet=label)
    for i, rows in enumerate(tables, 1):
        ctx.table(rows, where, ct, sheet=f"{label} table {i}".strip())


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
