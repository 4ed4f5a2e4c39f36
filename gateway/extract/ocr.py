"""Text in images through Tesseract (tesserocr, built against Debian's libtesseract).

One engine per process and language set, loaded on the first image and kept (the inspection worker
serves many messages). What OCR reads becomes ordinary segments under `where › OCR`; a page of
columns (a screenshot of a table) becomes a table segment, so the scanner sees its header.

Every image that could hold text is either read or an UNSCANNABLE finding:
  ocr-unavailable   OCR off, tesserocr or the language data missing, or left for the OCR lane
  limit-ocr-time    the image or the message used up its OCR time (what was read is still scanned)
"""

from __future__ import annotations

import os
import re
import statistics
import threading
import time
from typing import TYPE_CHECKING, Any

from gateway.config.ocr import OcrSettings
from gateway.extract.context import Context, Where
from gateway.unscannable import Reason

if TYPE_CHECKING:
    from PIL.Image import Image

# Tesseract's OpenMP threads fight over the cores another worker needs (16 s of wall time instead of
# 1 s for one screenshot on two cores). Read by libgomp when it loads, so set before tesserocr is.
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

OCR_PATH = "OCR"  # the path element under the image: "attachment scan.png › OCR"
RUN, DEFER = "run", "defer"

_engines: dict[tuple[str, str], Any] = {}  # (tessdata, languages) -> PyTessBaseAPI or the reason it failed
_lock = threading.Lock()


class OcrUnavailable(Exception):
    """No OCR engine: tesserocr missing, language data missing or unreadable."""


def engine(settings: OcrSettings) -> Any:
    """The process's Tesseract for these languages (loaded once; a failure is remembered too)."""
    key = (settings.tessdata, settings.languages)
    with _lock:
        api = _engines.get(key)
        if api is None:
            try:
                api = _load(settings)
            except OcrUnavailable as e:
                api = e
            _engines[key] = api
    if isinstance(api, OcrUnavailable):
        raise api
    return api


def _data_path(settings: OcrSettings) -> str:
    """The language data folder, once tesserocr imports and every language's data is there."""
    try:
        import tesserocr
    except ImportError as e:
        raise OcrUnavailable(f"tesserocr is not installed ({e})") from e
    path: str = settings.tessdata or tesserocr.get_languages()[0]
    missing = [
        lang for lang in settings.languages.split("+") if not os.path.isfile(os.path.join(path, f"{lang}.traineddata"))
    ]
    if missing:
        raise OcrUnavailable(f"Tesseract language data {'+'.join(missing)} not found in {path}")
    return path


def _load(settings: OcrSettings) -> Any:
    import tesserocr

    path = _data_path(settings)
    try:
        api = tesserocr.PyTessBaseAPI(path=path, lang=settings.languages, psm=tesserocr.PSM.AUTO)
    except RuntimeError as e:
        raise OcrUnavailable(f"Tesseract could not load {settings.languages} from {path}: {e}") from e
    api.SetVariable("preserve_interword_spaces", "1")  # column gaps survive: tables stay tables
    return api


def installed(settings: OcrSettings) -> str:
    """A cheap check without loading the languages (start-up): '' or what is missing."""
    try:
        _data_path(settings)
    except OcrUnavailable as e:
        return str(e)
    return ""


def available(settings: OcrSettings) -> str:
    """'' when OCR can run with these settings, else why not (check-config, tests)."""
    try:
        engine(settings)
    except OcrUnavailable as e:
        return str(e)
    return ""


def may_read(ctx: Context, where: Where, sheet: str = "") -> bool:
    """Whether an image that could hold text is to be read now; if not, the reason is reported.

    Called before the image is decoded or the page rendered, so neither costs anything when OCR is
    off, left for the OCR lane, or out of time."""
    settings = ctx.limits.ocr
    if not settings.enabled:
        ctx.unscannable(Reason.OCR_UNAVAILABLE, "OCR is switched off (extract.ocr.enabled)", where, sheet)
        return False
    if ctx.ocr_mode == DEFER:
        # Read again in the OCR lane; should this extraction ever be used, it fails closed.
        ctx.out.stats["ocr_deferred"] = ctx.out.stats.get("ocr_deferred", 0) + 1
        ctx.unscannable(Reason.OCR_UNAVAILABLE, "image left for the OCR lane", where, sheet)
        return False
    if ctx.ocr_seconds >= settings.message_seconds:
        detail = f"the message's OCR time ({settings.message_seconds:g} s) was used up before this image"
        ctx.unscannable(Reason.LIMIT_OCR_TIME, detail, where, sheet)
        return False
    try:
        engine(settings)
    except OcrUnavailable as e:
        ctx.unscannable(Reason.OCR_UNAVAILABLE, str(e), where, sheet)
        return False
    return True


def read_text(ctx: Context, image: Image, where: Where, sheet: str = "") -> None:
    """OCR one image (after may_read) into segments under `where › OCR`."""
    settings = ctx.limits.ocr
    budget = min(settings.image_seconds, settings.message_seconds - ctx.ocr_seconds)
    api = engine(settings)
    started = time.monotonic()
    try:
        api.SetImage(image)
        finished = bool(api.Recognize(timeout=max(1, int(budget * 1000))))
        text = _utf8_text(api)  # after a timeout: what was recognised until then
        lines = _lines(api)
    finally:
        api.Clear()
        spent = time.monotonic() - started
        ctx.ocr_seconds += spent
        ctx.out.stats["ocr_images"] = ctx.out.stats.get("ocr_images", 0) + 1
        ctx.out.stats["ocr_seconds"] = ctx.ocr_seconds
    here = where.inside(OCR_PATH)
    layout = table_rows(lines)
    if layout:
        before, rows = layout
        ctx.text(join_cjk("\n".join(before)), "attachment", here, "image/ocr", sheet=sheet)
        ctx.table(rows, here, "image/ocr", sheet=sheet)
    else:
        ctx.text(join_cjk(text), "attachment", here, "image/ocr", sheet=sheet)
    if not finished:
        detail = f"OCR stopped after {spent:.1f} s (limit {budget:g} s); the text read until then is scanned"
        ctx.unscannable(Reason.LIMIT_OCR_TIME, detail, where, sheet)


def _utf8_text(api: Any) -> str:
    """The recognised text; "" for an image with none (tesserocr raises "No text returned" then)."""
    try:
        return str(api.GetUTF8Text() or "")
    except RuntimeError:
        return ""


# -- OCR text to segments -----------------------------------------------------------------------

Line = tuple[int, int, int, int, str]  # left, top, right, bottom, text

# Tesseract's jpn model often puts a space between two Japanese characters ("山 田 太 郎").
_CJK = r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uff66-\uff9f々〆ヶ]"
_CJK_SPACE = re.compile(rf"(?<={_CJK}) (?={_CJK})")


def _lines(api: Any) -> list[Line]:
    """Every text line Tesseract found, with its box (it reads a table column by column)."""
    from tesserocr import RIL, iterate_level

    out: list[Line] = []
    iterator = api.GetIterator()
    if iterator is None:
        return out
    for r in iterate_level(iterator, RIL.TEXTLINE):
        box = r.BoundingBox(RIL.TEXTLINE)
        text = (r.GetUTF8Text(RIL.TEXTLINE) or "").strip()
        if box is not None and text:
            out.append((*box, text))
    return out


def join_cjk(text: str) -> str:
    return _CJK_SPACE.sub("", text)


def table_rows(lines: list[Line]) -> tuple[list[str], list[list[str]]] | None:
    """The lines put back into rows (by height on the page) and cells (by position, and at wide gaps
    inside a line). A table when half the rows (>= 3) have the same number (>= 2) of cells: (the lines above its
    header, its rows with each cell under its column), else None."""
    rows: list[list[Line]] = []
    for line in sorted(lines, key=lambda ln: (ln[1] + ln[3]) / 2):
        middle = (line[1] + line[3]) / 2
        if rows and min(ln[1] for ln in rows[-1]) <= middle <= max(ln[3] for ln in rows[-1]):
            rows[-1].append(line)
        else:
            rows.append([line])
    cells = [[cell for ln in sorted(row) for cell in _cells(ln)] for row in rows]
    widths = [len(r) for r in cells]
    if len(cells) < 3:
        return None
    common = max(set(widths), key=widths.count)
    if common < 2 or widths.count(common) < max(3, len(cells) / 2):
        return None
    full = [r for r in cells if len(r) == common]
    columns = [statistics.median(r[i][0] for r in full) for i in range(common)]
    header = widths.index(common)
    table = []
    for row in cells[header:]:
        if len(row) >= common:
            table.append([text for _, text in row])
            continue
        out = [""] * common  # a row with empty cells: each cell under the nearest column
        for left, text in row:
            free = [i for i in range(common) if not out[i]]
            out[min(free, key=lambda i: abs(columns[i] - left))] = text
        table.append(out)
    return [" ".join(text for _, text in row) for row in cells[:header]], table


def _cells(line: Line) -> list[tuple[float, str]]:
    """A line cut at wide gaps, each piece with its estimated left edge."""
    left, _, right, _, text = line
    out = []
    for m in re.finditer(r"\S+(?: {1,2}\S+)*", text):
        out.append((left + (right - left) * m.start() / max(1, len(text)), join_cjk(m.group())))
    return out
