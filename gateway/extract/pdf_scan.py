"""Scanned PDF pages: a page with (almost) no text layer that draws images or shapes is rendered
with PDFium (pypdfium2) and read with OCR, like an image attachment."""

from __future__ import annotations

import math

from gateway.extract import ocr
from gateway.extract.context import Context, Where
from gateway.unscannable import Reason


def read_scanned_pages(ctx: Context, data: bytes, pages: list[int], where: Where) -> None:
    """OCR the given 0-based pages (each one's text layer was empty or nearly so)."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    kinds = [pdfium_c.FPDF_PAGEOBJ_IMAGE, pdfium_c.FPDF_PAGEOBJ_PATH, pdfium_c.FPDF_PAGEOBJ_SHADING]
    settings = ctx.limits.ocr
    try:
        doc = pdfium.PdfDocument(data)
    except Exception as e:
        detail = f"PDF pages without text could not be rendered for OCR: {type(e).__name__}: {e}"[:300]
        ctx.unscannable(Reason.PARSE_ERROR, detail, where)
        return
    try:
        for number in pages:
            sheet = f"page {number + 1}"
            try:
                page = doc[number]
            except Exception as e:
                ctx.unscannable(Reason.PARSE_ERROR, f"{sheet}: {type(e).__name__}: {e}"[:300], where, sheet)
                continue
            try:
                if next(page.get_objects(filter=kinds, max_depth=4), None) is None:
                    continue  # a blank page: nothing drawn that could be text
                if not ocr.may_read(ctx, where, sheet):
                    continue
                width, height = page.get_size()  # points
                scale = settings.pdf_dpi / 72
                if width * height * scale * scale > settings.max_pixels:
                    scale = math.sqrt(settings.max_pixels / max(1.0, width * height))
                image = page.render(scale=scale, grayscale=True).to_pil()
                ocr.read_text(ctx, image, where, sheet)
            except Exception as e:
                detail = f"{sheet} could not be rendered: {type(e).__name__}: {e}"[:300]
                ctx.unscannable(Reason.PARSE_ERROR, detail, where, sheet)
            finally:
                page.close()
    finally:
        doc.close()
