"""PDF text layer through pypdf; pages without one are read with OCR (pdf_scan). A PDF that opens
without a password (owner-password only) is read; one that needs a password is UNSCANNABLE. Hangs
and blow-ups in malformed files are the worker's CPU, memory and wall-clock limits' job."""

from __future__ import annotations

import io
import logging

from pypdf import PdfReader
from pypdf.errors import FileNotDecryptedError, PdfReadError

from gateway.extract.context import Context, LimitExceeded, Unscannable, Where
from gateway.extract.pdf_scan import read_scanned_pages
from gateway.unscannable import Reason

logging.getLogger("pypdf").setLevel(logging.ERROR)


def read_pdf(ctx: Context, data: bytes, where: Where) -> None:
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
    for number in range(min(count, limit)):
        if ctx.text_room(where) <= 0:
            ctx.limit_reached(where)
            break
        try:
            text = pages[number].extract_text() or ""
        except LimitExceeded:
            raise
        except Exception:
            failed += 1
            continue
        ctx.text(text, "attachment", where, "application/pdf", sheet=f"page {number + 1}")
        if len("".join(text.split())) < ctx.limits.ocr.pdf_page_chars:
            scanned.append(number)
    if scanned:
        read_scanned_pages(ctx, data, scanned, where)
    if failed:
        ctx.unscannable(Reason.PARSE_ERROR, f"text of {failed} of {count} PDF pages could not be read", where)
