"""A PDF page's text layer through PDFium (pypdfium2), where that is faster than pypdf and reads the
same: chosen by bench/readers.py on the same files.

- Which pages: those of a document whose composite (Type0, CJK) fonts carry their font program
  (fonts_embedded, read from the first page's resource dictionaries that name a font through pypdf,
  forms two levels deep: PdfiumText.reads).
  Word, LibreOffice and Chromium embed subsets: there PDFium reads a page in a few milliseconds where
  pypdf, which parses each font's ToUnicode CMap again on every page, takes tens to hundreds. A CJK
  font the PDF only names is drawn by PDFium with a system font's glyph outlines, loaded for every
  character: slower than pypdf's whole reading, so such pages stay with pypdf.
- Read only if complete: PDFium's text page is built for display and leaves out text objects it takes
  for an overprinted copy of one before it, objects of no width (text scaled to nothing), a hyphen
  object at a line's end, and the objects after the first of an /ActualText span. So every text object
  of the page (in form XObjects at any depth) must have characters in the text page, else the page is
  read by pypdf (text() returns None). The one exception: an object that inks nothing (its box is a
  point: a space glyph, as Chromium draws each space) at a legible size.
- /ActualText: where a span of one object carries it, PDFium reads the ActualText (what a viewer
  copies), pypdf the glyphs' ToUnicode: Chromium marks so the glyphs its ToUnicode cannot tell apart
  (a CJK character drawn with its compatibility twin's glyph). Both are the PDF's own word for its text.
- PDFium is not thread-safe and holds what it opens: one document per PdfiumText, used by the thread
  that made it, every page and text page closed in finally, the document on exit.
"""

from __future__ import annotations

import ctypes
import math
from types import TracebackType
from typing import Any

# Fonts looked at: the first that make a judgement. A CJK font a PDF only names is one of a few (MS
# Mincho, MS Gothic); the PDFs of many fonts are made by Chromium (Type3 fonts of 256 glyphs each,
# 2 ms of pypdf parsing apiece) and embed them. A wrong guess costs time, never text.
_MAX_FONTS = 4
_MIN_SIZE = 1.0  # points: an inkless object smaller than this may be hidden text, not a space
_MAX_DEPTH = 64  # form XObjects inside form XObjects


class _Enough(Exception):
    pass


def fonts_embedded(page: Any) -> bool | None:
    """Whether the composite (Type0) fonts among the first _MAX_FONTS fonts of the pypdf `page` (its
    resources, then its forms two levels deep) embed their font program; None when the page names
    no font. Nothing decoded: dictionary lookups. Unreadable resources: False (pypdf reads, as it
    always did)."""
    fonts = 0

    def walk(resources: Any, depth: int) -> bool:
        nonlocal fonts
        resources = resolve(resources)
        if not hasattr(resources, "get"):
            return True
        for ref in (resolve(resources.get("/Font")) or {}).values():
            fonts += 1
            if fonts > _MAX_FONTS:
                raise _Enough
            font = resolve(ref)
            if font.get("/Subtype") == "/Type0":
                descendants = resolve(font.get("/DescendantFonts"))
                if not isinstance(descendants, list) or not descendants:
                    return False
                descriptor = resolve(resolve(descendants[0]).get("/FontDescriptor"))
                if not hasattr(descriptor, "get") or not any(
                    descriptor.get(k) is not None for k in ("/FontFile", "/FontFile2", "/FontFile3")
                ):
                    return False
        if depth < 2:
            for ref in list((resolve(resources.get("/XObject")) or {}).values())[:200]:
                obj = resolve(ref)
                if obj.get("/Subtype") == "/Form" and not walk(obj.get("/Resources"), depth + 1):
                    return False
        return True

    try:
        embedded = walk(page.get("/Resources"), 0)
    except _Enough:
        return True
    except Exception:
        return False
    return None if embedded and fonts == 0 else embedded


def resolve(value: Any) -> Any:
    """The object behind a pypdf indirect reference (references to references followed, bounded)."""
    for _ in range(32):
        get = getattr(value, "get_object", None)
        if get is None:
            return value
        nxt = get()
        if nxt is value:
            return value
        value = nxt
    return value


class PdfiumText:
    """The text of single pages of one PDF through PDFium, opened on first use. `count` is the page
    count pypdf read: a document PDFium counts otherwise is left to pypdf whole."""

    def __init__(self, data: bytes, count: int) -> None:
        self._data = data
        self._count = count
        self._doc: Any = None
        self._failed = False
        self._embedded: bool | None = None
        self.by_pypdf = 0  # pages page_text gave to pypdf (benchmarks)

    def reads(self, page: Any) -> bool:
        """Whether PDFium is to read the pypdf `page`: decided on the first page that names a font
        (fonts_embedded), for the whole document; a document mixes kinds of font seldom, and
        parsing every page's font dictionaries with pypdf costs what PDFium saves (Chromium's
        Type3 fonts carry hundreds of glyph procedures and widths each). Where a later page does
        name a CJK font without embedding it, PDFium reads it as correctly, only slower."""
        if self._embedded is None:
            self._embedded = fonts_embedded(page)
        return bool(self._embedded)

    def page_text(self, page: Any, number: int) -> str:
        """The text layer of page `number` (`page`, pypdf's): PDFium's where it reads the page and
        every text object of it, else pypdf's."""
        got = self.text(number) if self.reads(page) else None
        if got is None:
            self.by_pypdf += 1
            return page.extract_text() or ""
        return got

    def __enter__(self) -> PdfiumText:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        doc, self._doc = self._doc, None
        if doc is not None:
            doc.close()

    def _document(self) -> Any:
        if self._doc is None and not self._failed:
            import pypdfium2 as pdfium

            try:
                doc = pdfium.PdfDocument(self._data)  # an empty user password is tried, as pypdf did
            except Exception:
                self._failed = True
                return None
            if len(doc) != self._count:
                doc.close()
                self._failed = True
                return None
            self._doc = doc
        return self._doc

    def text(self, number: int) -> str | None:
        """The text of 0-based page `number`, or None where pypdf must read it (not opened, not
        complete, an error)."""
        doc = self._document()
        if doc is None:
            return None
        try:
            page = doc[number]
        except MemoryError:
            raise
        except Exception:
            return None
        try:
            textpage = page.get_textpage()
            try:
                return _page_text(page.raw, textpage.raw)
            finally:
                textpage.close()
        except MemoryError:
            raise
        except Exception:
            return None
        finally:
            page.close()


class _Calls:
    """The PDFium functions of the completeness walk, declared with handles as plain integers (the
    bindings' pointer objects cost a microsecond each; a Chromium page has thousands of objects)."""

    def __init__(self) -> None:
        import pypdfium2.raw as c

        vp, i = ctypes.c_void_p, ctypes.c_int

        def declare(fn: Any, restype: Any, *argtypes: Any) -> Any:
            address = ctypes.cast(fn, ctypes.c_void_p).value
            assert address, "a PDFium function without an address"
            return ctypes.CFUNCTYPE(restype, *argtypes)(address)

        self.char_object = declare(c.FPDFText_GetTextObject, vp, vp, i)
        self.page_count = declare(c.FPDFPage_CountObjects, i, vp)
        self.page_object = declare(c.FPDFPage_GetObject, vp, vp, i)
        self.form_count = declare(c.FPDFFormObj_CountObjects, i, vp)
        self.form_object = declare(c.FPDFFormObj_GetObject, vp, vp, ctypes.c_ulong)
        self.kind = declare(c.FPDFPageObj_GetType, i, vp)
        self.bounds = declare(c.FPDFPageObj_GetBounds, i, vp, *[ctypes.POINTER(ctypes.c_float)] * 4)
        self.font_size = declare(c.FPDFTextObj_GetFontSize, i, vp, ctypes.POINTER(ctypes.c_float))
        self.matrix = declare(c.FPDFPageObj_GetMatrix, i, vp, ctypes.POINTER(c.FS_MATRIX))
        self.matrix_type = c.FS_MATRIX
        self.TEXT = c.FPDF_PAGEOBJ_TEXT
        self.FORM = c.FPDF_PAGEOBJ_FORM


_calls: list[_Calls] = []  # made once per process, on first use (the functions are not PDFium state)


def _page_text(page: Any, textpage: Any) -> str | None:
    import pypdfium2.raw as c

    if not _calls:
        _calls.append(_Calls())
    calls = _calls[0]
    count = c.FPDFText_CountChars(textpage)
    if count < 0:
        return None
    tp = ctypes.cast(textpage, ctypes.c_void_p).value
    handle = ctypes.cast(page, ctypes.c_void_p).value
    if not tp or not handle:
        return None
    objects = {calls.char_object(tp, index) for index in range(count)}  # text objects with characters
    if not _complete(calls, handle, objects):
        return None
    if count == 0:
        return ""
    size = 2 * count + 2  # UTF-16 units: room for a surrogate pair per character and the terminator
    buffer = (ctypes.c_ushort * size)()
    written = c.FPDFText_GetText(textpage, 0, count, buffer)
    if written <= 0 or written > size:
        return None
    text = ctypes.string_at(buffer, 2 * (written - 1)).decode("utf-16-le", "replace")
    # PDFium joins a line ending in a hyphen to the next and marks the hyphen U+FFFE: back as pypdf
    # reads it (a phone number broken after its hyphen stays two pieces for both).
    return text.replace("\r\n", "\n").replace("\ufffe", "-\n")


def _complete(calls: _Calls, page: int, objects: set[int]) -> bool:
    """Every text object on the page (in forms too) gave characters, or inks nothing at a legible
    size."""
    left, bottom, right, top = (ctypes.c_float() for _ in range(4))
    size = ctypes.c_float()
    matrix = calls.matrix_type()

    def inkless(obj: int) -> bool:
        if not calls.bounds(obj, left, bottom, right, top):
            return False
        if right.value - left.value >= 0.01 or top.value - bottom.value >= 0.01:
            return False  # drawn, yet not in the text page: an overprinted copy, a hyphen, dropped
        if not calls.font_size(obj, size) or not calls.matrix(obj, matrix):
            return False
        sx = size.value * math.hypot(matrix.a, matrix.b)
        sy = size.value * math.hypot(matrix.c, matrix.d)
        return sx >= _MIN_SIZE and sy >= _MIN_SIZE  # not text scaled to nothing: a space glyph

    def walk(holder: int, form: bool, depth: int) -> bool:
        total = calls.form_count(holder) if form else calls.page_count(holder)
        if total < 0:
            return False
        get = calls.form_object if form else calls.page_object
        for index in range(total):
            obj = get(holder, index)
            if not obj:
                return False
            kind = calls.kind(obj)
            if kind == calls.TEXT:
                if obj not in objects and not inkless(obj):
                    return False
            elif kind == calls.FORM and (depth >= _MAX_DEPTH or not walk(obj, True, depth + 1)):
                return False
        return True

    return walk(page, False, 0)
