"""Scanned PDF pages: a page with (almost) no text layer that draws images or shapes is rendered
with PDFium (pypdfium2) and read with OCR, like an image attachment. On a page that has a text
layer, each image drawn over at least `pdf_image_share` of the page (a pasted screenshot) is
rendered alone, at the image's place and size, and read the same way; the same image drawn again
(a background on every page) once."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from typing import Any

from gateway.extract import ocr
from gateway.extract.context import Context, Where
from gateway.unscannable import Reason


def read_scanned_pages(ctx: Context, data: bytes, pages: list[int], where: Where) -> None:
    """OCR the given 0-based pages (each one's text layer was empty or nearly so)."""
    import pypdfium2.raw as pdfium_c

    kinds = [pdfium_c.FPDF_PAGEOBJ_IMAGE, pdfium_c.FPDF_PAGEOBJ_PATH, pdfium_c.FPDF_PAGEOBJ_SHADING]

    def read(number: int, page: Any) -> None:
        sheet = f"page {number + 1}"
        if next(page.get_objects(filter=kinds, max_depth=4), None) is None:
            return  # a blank page: nothing drawn that could be text
        if not ocr.may_read(ctx, where, sheet):
            return
        width, height = page.get_size()  # points
        image = page.render(scale=_scale(ctx, width * height), grayscale=True).to_pil()
        ocr.read_text(ctx, image, where, sheet)

    _each_page(ctx, data, pages, where, "PDF pages without text", read)


def read_page_images(ctx: Context, data: bytes, pages: list[int], where: Where) -> None:
    """OCR the large images on the given 0-based pages (each has a text layer of its own)."""
    import pypdfium2.raw as pdfium_c

    settings = ctx.limits.ocr
    seen: set[bytes] = set()

    def read(number: int, page: Any) -> None:
        width, height = page.get_size()
        objects = page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=4)
        large = [
            (o, b)
            for o in objects
            if (b := o.get_bounds()) and (b[2] - b[0]) * (b[3] - b[1]) >= settings.pdf_image_share * width * height
        ]
        for k, (obj, (left, bottom, right, top)) in enumerate(large, 1):
            sheet = f"page {number + 1} image {k}"
            digest = hashlib.blake2b(obj.get_data(decode_simple=False), digest_size=16).digest()
            if digest in seen:  # the same picture again (a background on every page): read once
                continue
            seen.add(digest)
            if not ocr.may_read(ctx, where, sheet):
                break
            crop = (max(0.0, left), max(0.0, bottom), max(0.0, width - right), max(0.0, height - top))
            scale = _scale(ctx, (right - left) * (top - bottom))
            image = page.render(scale=scale, crop=crop, grayscale=True).to_pil()
            ocr.read_text(ctx, image, where, sheet)

    _each_page(ctx, data, pages, where, "PDF images", read)


def _scale(ctx: Context, area: float) -> float:
    """Render at `pdf_dpi`, or smaller when `area` (square points) would pass `max_pixels`."""
    settings = ctx.limits.ocr
    scale = settings.pdf_dpi / 72
    if area * scale * scale > settings.max_pixels:
        scale = math.sqrt(settings.max_pixels / max(1.0, area))
    return scale


def _each_page(
    ctx: Context, data: bytes, pages: list[int], where: Where, what: str, read: Callable[[int, Any], None]
) -> None:
    """Open the PDF with PDFium and `read` each of the 0-based pages; what fails is UNSCANNABLE
    (the document, or the one page), never a crash and never a silent pass."""
    import pypdfium2 as pdfium

    try:
        doc = pdfium.PdfDocument(data)
    except Exception as e:
        ctx.unscannable(
            Reason.PARSE_ERROR, f"{what} could not be rendered for OCR: {type(e).__name__}: {e}"[:300], where
        )
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
                read(number, page)
            except Exception as e:
                detail = f"{what} of {sheet} could not be rendered: {type(e).__name__}: {e}"[:300]
                ctx.unscannable(Reason.PARSE_ERROR, detail, where, sheet)
            finally:
                page.close()
    finally:
        doc.close()
