"""Image files (attachments, inline images, archive members, pictures inside Office packages and
metafiles): decoded with Pillow, too-small ones (logos, icons) skipped by pixel size, the rest read
with OCR (gateway.extract.ocr), frame by frame; the text in their metadata is read whatever their
size (gateway.extract.image_metadata). Windows metafiles (EMF/WMF) are read by their
records (gateway.extract.metafile): their text as text, their bitmaps as images."""

from __future__ import annotations

import hashlib
import io

from PIL import Image, ImageSequence

from gateway.extract import metafile, ocr
from gateway.extract.context import Context, Unscannable, Where
from gateway.extract.image_metadata import metadata_lines
from gateway.unscannable import Reason

MAX_FRAMES = 100  # a multi-page TIFF fax or an animated GIF: every frame is a page
# A package's thumbnail (docProps/thumbnail.*, an ODF's Thumbnails/thumbnail.png) is a picture of its
# first page: PowerPoint writes 256x192, LibreOffice 256 on the long side, Word up to 395x512. At 512
# pixels for a page, body text is 5-6 pixels high, below what OCR reads (about 12), and what the page
# shows is read from the parts themselves. A larger thumbnail is read like any picture.
THUMBNAIL_MAX = 512
# Pillow's own bomb check warns, then refuses at a fixed size; ours is extract.ocr.max_pixels, checked
# on the header before anything is decoded.
Image.MAX_IMAGE_PIXELS = None


def read_image(ctx: Context, data: bytes, where: Where) -> None:
    settings = ctx.limits.ocr
    try:
        image = Image.open(io.BytesIO(data))
        width, height = image.size
    except Exception as e:
        raise Unscannable(Reason.IMAGE_UNDECODABLE, f"image could not be decoded ({type(e).__name__})") from e
    skipped = settings.skipped(width, height)
    # text chunks, comments, EXIF and XMP: read even on a logo (whose pixels are then not decoded)
    written = metadata_lines(image, data if skipped else None)
    if written:
        ctx.text("\n".join(written), "attachment", where, Image.MIME.get(image.format or "", ""), sheet="metadata")
    if skipped:
        ctx.out.stats["ocr_skipped"] = ctx.out.stats.get("ocr_skipped", 0) + 1
        return
    if width * height > settings.max_pixels:
        raise Unscannable(
            Reason.LIMIT_IMAGE_PIXELS, f"{width}x{height} pixels, over extract.ocr.max_pixels ({settings.max_pixels})"
        )
    frames = getattr(image, "n_frames", 1)
    if frames > MAX_FRAMES:
        ctx.unscannable(Reason.LIMIT_PDF_PAGES, f"image has {frames} frames; the first {MAX_FRAMES} were read", where)
    if not ocr.may_read(ctx, where):
        return
    seen: set[bytes] = set()
    try:
        for number, frame in enumerate(ImageSequence.Iterator(image), 1):
            if number > MAX_FRAMES:
                break
            sheet = f"frame {number}" if frames > 1 else ""
            if frame.size != (width, height) and frame.size[0] * frame.size[1] > settings.max_pixels:
                ctx.unscannable(Reason.LIMIT_IMAGE_PIXELS, f"frame {number} is {frame.size}", where, sheet)
                continue
            flat = flatten(frame)
            digest = hashlib.blake2b(flat.tobytes(), digest_size=16).digest()
            if digest in seen:  # an animation repeating a frame
                continue
            seen.add(digest)
            if number > 1 and not ocr.may_read(ctx, where, sheet):
                return
            ocr.read_text(ctx, flat, where, sheet)
    except (OSError, SyntaxError, ValueError) as e:  # truncated or corrupt image data
        ctx.unscannable(Reason.IMAGE_UNDECODABLE, f"image: {type(e).__name__}: {e}"[:300], where)


def flatten(frame: Image.Image) -> Image.Image:
    """Greyscale on white: transparency over nothing would turn dark text on a clear ground to black on black."""
    if frame.mode in ("RGBA", "LA", "PA") or (frame.mode == "P" and "transparency" in frame.info):
        rgba = frame.convert("RGBA")
        ground = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(ground, rgba).convert("L")
    return frame.convert("L")


def small_thumbnail(data: bytes) -> bool:
    """A package thumbnail of the size Office writes (not read: it shows the parts, which are read);
    a larger or undecodable one is read like any picture."""
    try:
        width, height = Image.open(io.BytesIO(data)).size
    except Exception:
        return False
    return max(width, height) <= THUMBNAIL_MAX


def read_metafile(ctx: Context, data: bytes, where: Where, kind: str) -> None:
    """An EMF or WMF drawing: its text records as text, each bitmap inside as an image of its own."""
    drawing = metafile.read_emf(data) if kind == "image/emf" else metafile.read_wmf(data)
    ctx.text("\n".join(drawing.lines), "attachment", where, kind)
    for number, bitmap in enumerate(drawing.bitmaps, 1):
        inner = where.inside(f"bitmap {number}")
        try:
            read_image(ctx, bitmap, inner)
        except Unscannable as e:
            ctx.unscannable(e.reason, e.detail, inner)
    if drawing.unreadable:
        ctx.unscannable(Reason.METAFILE_TEXT, "; ".join(drawing.unreadable), where)
