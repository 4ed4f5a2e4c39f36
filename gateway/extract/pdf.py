"""PDF through pypdf: the text layer per page (pages without one are read with OCR, pdf_scan; pages
whose fonts are all embedded are read with PDFium when it reads every text object: pdf_text), and
the side channels a reader shows or that travel with the file: embedded files (the EmbeddedFiles
name tree and file-attachment annotations, read as nested attachments), AcroForm field values,
annotation contents (comments, notes, free text), bookmarks and the document's title/subject/
keywords. An XFA form (dynamic content pypdf cannot render) is UNSCANNABLE, its XML still read as
text. A PDF that opens without a password (owner-password only) is read; one that needs a password
is UNSCANNABLE. Hangs and blow-ups in malformed files are the worker's CPU, memory and wall-clock
limits' job."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator
from typing import Any

from pypdf import PdfReader
from pypdf.errors import FileNotDecryptedError, PdfReadError

from gateway.config.ocr import OcrSettings
from gateway.extract.context import Context, LimitExceeded, Unscannable, Where
from gateway.extract.pdf_scan import read_page_images, read_scanned_pages
from gateway.extract.pdf_text import PdfiumText, resolve
from gateway.extract.pypdf_cache import document
from gateway.unscannable import Reason

# read_file(ctx, data, name, declared_type, where) -> None, passed in to avoid an import cycle
ReadFile = Callable[[Context, bytes, str, str, Where], None]
_CT = "application/pdf"

logging.getLogger("pypdf").setLevel(logging.ERROR)


def read_pdf(ctx: Context, data: bytes, where: Where, read_file: ReadFile | None = None) -> None:
    with document():  # pypdf without the work it repeats on every page (pypdf_cache)
        _read_pdf(ctx, data, where, read_file)


def _read_pdf(ctx: Context, data: bytes, where: Where, read_file: ReadFile | None) -> None:
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                ok = reader.decrypt("")
            except Exception as e:  # missing crypto backend, unknown handler
                raise Unscannable(Reason.ENCRYPTED_PDF, f"PDF is encrypted ({type(e).__name__})") from e
            if not ok:
                raise Unscannable(Reason.ENCRYPTED_PDF, "PDF needs a password to open")
        pages = reader.pages
        count = len(pages)
    except Unscannable:
        raise
    except FileNotDecryptedError as e:
        raise Unscannable(Reason.ENCRYPTED_PDF, f"PDF: {e}") from e
    except (PdfReadError, Exception) as e:
        raise Unscannable(Reason.PARSE_ERROR, f"PDF: {type(e).__name__}: {e}"[:300]) from e
    limit = ctx.limits.max_pdf_pages
    if count > limit:
        ctx.unscannable(Reason.LIMIT_PDF_PAGES, f"PDF has {count} pages; the first {limit} were read", where)
    failed = 0
    scanned: list[int] = []  # pages with no text layer to speak of: perhaps a scan, read with OCR
    pictured: list[int] = []  # pages with a text layer and an image that may be a screenshot
    with PdfiumText(data, count) as pdfium:
        for number in range(min(count, limit)):
            if ctx.text_room(where) <= 0:
                ctx.limit_reached(where)
                break
            try:
                page = pages[number]
                text = pdfium.page_text(page, number)
            except LimitExceeded:
                raise
            except Exception:
                failed += 1
                continue
            ctx.text(text, "attachment", where, "application/pdf", sheet=f"page {number + 1}")
            if len("".join(text.split())) < ctx.limits.ocr.pdf_page_chars:
                scanned.append(number)
            elif _large_image(page, ctx.limits.ocr):
                pictured.append(number)
    if scanned:
        read_scanned_pages(ctx, data, scanned, where)
    if pictured:
        read_page_images(ctx, data, pictured, where)
    if failed:
        ctx.unscannable(Reason.PARSE_ERROR, f"text of {failed} of {count} PDF pages could not be read", where)
    for name, channel in (
        ("form fields", _fields),
        ("annotations", lambda r: _annotations(r, limit)),
        ("bookmarks", _bookmarks),
        ("document information", _info),
    ):
        try:
            text = "\n".join(t for t in channel(reader) if t and t.strip())
        except (LimitExceeded, Unscannable):
            raise
        except Exception as e:
            ctx.unscannable(Reason.PARSE_ERROR, f"PDF {name}: {type(e).__name__}: {e}"[:300], where)
            continue
        ctx.text(text, "attachment", where, _CT, sheet=name)
    _xfa(ctx, reader, where)
    if read_file is not None:
        _embedded(ctx, reader, where, read_file, limit)


def _large_image(page: Any, settings: OcrSettings) -> bool:
    """Whether the page uses an image XObject (directly or in a form, two levels deep) that is not too
    small by its own pixels to hold text: read from the resource dictionaries, nothing decoded, so a
    page of text costs a dictionary lookup. Where it is drawn, and how large, PDFium tells after."""
    if settings.pdf_image_share >= 1:
        return False

    def walk(resources: Any, depth: int) -> bool:
        try:
            xobjects = resolve(resolve(resources).get("/XObject")) if resources is not None else None
        except Exception:
            return False
        if not xobjects:
            return False
        for ref in list(xobjects.values())[:200]:
            obj = resolve(ref)
            subtype = obj.get("/Subtype")
            if subtype == "/Image":
                if not settings.skipped(int(obj.get("/Width", 0) or 0), int(obj.get("/Height", 0) or 0)):
                    return True
            elif subtype == "/Form" and depth < 2 and walk(obj.get("/Resources"), depth + 1):
                return True
        return False

    try:
        return walk(page.get("/Resources"), 0)
    except Exception:
        return True  # unreadable resources: let PDFium look


def _str(value: Any) -> str:
    value = resolve(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list | tuple):
        return " ".join(_str(v) for v in value)
    return "" if value is None else str(value)


def _fields(reader: PdfReader) -> Iterator[str]:
    for name, field in (reader.get_fields() or {}).items():
        value = _str(field.get("/V"))
        if value and value not in ("/Off", "/Yes"):
            yield f"{name}: {value}"
        for key in ("/TU", "/DV"):
            extra = _str(field.get(key))
            if extra:
                yield extra


def _annotations(reader: PdfReader, limit: int) -> Iterator[str]:
    for number, page in enumerate(reader.pages):
        if number >= limit:
            return
        annots = resolve(page.get("/Annots"))
        if not isinstance(annots, list):
            continue
        for ref in annots:
            annot = resolve(ref)
            if not hasattr(annot, "get"):
                continue
            for key in ("/Contents", "/RC", "/Subj"):
                text = _str(annot.get(key))
                if text:
                    yield text
            action = resolve(annot.get("/A"))
            if hasattr(action, "get"):
                uri = _str(action.get("/URI"))
                if uri:
                    yield uri


def _bookmarks(reader: PdfReader) -> Iterator[str]:
    def walk(items: Any, depth: int) -> Iterator[str]:
        if depth > 64:
            return
        for item in items:
            if isinstance(item, list):
                yield from walk(item, depth + 1)
            else:
                yield _str(getattr(item, "title", None) or (item.get("/Title") if hasattr(item, "get") else ""))

    yield from walk(reader.outline, 0)


def _info(reader: PdfReader) -> Iterator[str]:
    info = reader.metadata
    if not info:
        return
    for key in ("/Title", "/Subject", "/Keywords"):  # not /Author, /Creator: who made it
        text = _str(info.get(key))
        if text:
            yield text


def _xfa(ctx: Context, reader: PdfReader, where: Where) -> None:
    try:
        form = resolve(resolve(reader.trailer["/Root"]).get("/AcroForm"))
        xfa = resolve(form.get("/XFA")) if hasattr(form, "get") else None
    except Exception:
        return
    if xfa is None:
        return
    ctx.unscannable(Reason.XFA_FORM, "PDF with an XFA form: its dynamic content cannot be rendered and read", where)
    streams = xfa[1::2] if isinstance(xfa, list) else [xfa]
    texts: list[str] = []
    for stream in streams:
        stream = resolve(stream)
        get_data = getattr(stream, "get_data", None)
        if get_data is None:
            continue
        try:
            data = get_data()
        except Exception:
            continue
        ctx.take_bytes(len(data), where)
        texts.append(data.decode("utf-8", "replace"))
    if texts:
        ctx.text("\n".join(texts), "attachment", where, _CT, sheet="XFA form")


def _embedded(ctx: Context, reader: PdfReader, where: Where, read_file: ReadFile, limit: int) -> None:
    files: list[tuple[str, bytes]] = []
    try:
        for name, blobs in (reader.attachments or {}).items():
            files.extend((name, blob) for blob in blobs)
    except (LimitExceeded, Unscannable):
        raise
    except Exception as e:
        ctx.unscannable(Reason.PARSE_ERROR, f"PDF embedded files: {type(e).__name__}: {e}"[:300], where)
    seen = {(n, len(b)) for n, b in files}
    try:
        for number, page in enumerate(reader.pages):
            if number >= limit:
                break
            annots = resolve(page.get("/Annots"))
            if not isinstance(annots, list):
                continue
            for ref in annots:
                annot = resolve(ref)
                if not hasattr(annot, "get") or annot.get("/Subtype") != "/FileAttachment":
                    continue
                spec: Any = resolve(annot.get("/FS"))
                if not hasattr(spec, "get"):
                    continue
                ef: Any = resolve(spec.get("/EF"))
                stream = resolve(ef.get("/F") or ef.get("/UF")) if hasattr(ef, "get") else None
                if stream is None:
                    continue
                name = _str(spec.get("/UF") or spec.get("/F")) or f"attachment on page {number + 1}"
                blob = stream.get_data()
                if (name, len(blob)) not in seen:
                    seen.add((name, len(blob)))
                    files.append((name, blob))
    except (LimitExceeded, Unscannable):
        raise
    except Exception as e:
        ctx.unscannable(Reason.PARSE_ERROR, f"PDF file attachments: {type(e).__name__}: {e}"[:300], where)
    for name, blob in files:
        ctx.take_bytes(len(blob), where)
        read_file(ctx, blob, name, "", where.inside(name))
