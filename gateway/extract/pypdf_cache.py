"""pypdf's text extraction without the work it repeats on every page, for the reading of one document
(`with document():`, used by pdf.py); outside it, and where pypdf's internals are not the ones checked,
pypdf runs as it is.

pypdf's PageObject._extract_text builds every font of a page's resources again on each page
(Font.from_font_resource: the encoding, the ToUnicode CMap parsed line by line, the widths), although
the pages of a document name the same font objects: 25% of the CPU of reading the load mix's PDFs, and
Chromium's Type3 fonts (hundreds of glyphs each) cost ~1.5 ms apiece per page. Here each font is built
once per document, keyed by its font dictionary: the object pypdf's reader resolves an indirect
reference to, once per document (so /F1 of two pages is one font only where both name the same
object; an inline font dictionary is one font where the pages share the resources holding it). Every
page gets its own shallow copy of the font (pypdf sets the copy's space_width).

The same wrapping also:
- reads a content stream's hex strings (<0A1B...>) with bytes.fromhex where pypdf reads them a byte at
  a time (read_hex_string_from_stream: 40% of reading the load mix's PDFs, whose text is all hex
  strings); anything but hex digits and PDF whitespace before the closing ">" goes to pypdf's own
  reader, so errors are pypdf's;
- builds the WinAnsi table of the extractor's initial font once per document, not once per page;
- parses a form XObject's content stream twice per document, not on every Do that draws it (a letterhead
  or a logo drawn on each page): kept from its second drawing on, up to _FORM_OPERATIONS operations;
- keeps the width of each character of a font (Font.get_text_width of that one character, a function of
  the font's width table, which pypdf fills while building the font and never changes after) for the
  document, where get_text_operands asked the font again for every distinct character of every text
  operator (11% of reading the load mix's PDFs): the same widths, added in the same order.

Checked against pypdf 7.1 (pyproject.toml pins below 7.2): install() compares the functions it wraps
with what it expects (where they live, what calls them) and leaves pypdf alone on any difference.
tests/unit/extract/test_extract_pypdf_cache.py reads every PDF fixture both ways and compares the text.
"""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

CHECKED = ((7, 1),)  # pypdf minor versions whose internals were read (pyproject.toml's bound)
# What one document may hold, past which pypdf works as it does without the cache: parsed content
# streams of forms drawn more than once (their operations), and fonts (their characters, widths and
# codes). A worker reads a message within memory_bytes (1 GiB); these are tens of megabytes at most.
_FORM_OPERATIONS = 200_000
_FONT_ENTRIES = 500_000
_HEX_CHUNK = 512


@dataclass
class Memo:
    """What one document's reading remembers; the counts tell tests that it was used."""

    fonts: dict[int, tuple[Any, Any]] = field(default_factory=dict)  # id(font dict) -> (font dict, Font)
    forms: dict[int, tuple[Any, Any]] = field(default_factory=dict)  # id(xform) -> (xform, ContentStream)
    forms_seen: dict[int, Any] = field(default_factory=dict)  # id(xform) -> xform: drawn once so far
    encodings: dict[str, dict[int, str]] = field(default_factory=dict)  # named single-byte encodings
    # id(font.character_widths) -> (that table, {character: Font.get_text_width(character)})
    widths: dict[int, tuple[Any, dict[str, float]]] = field(default_factory=dict)
    width_entries: int = 0
    width_hits: int = 0
    form_operations: int = 0
    font_entries: int = 0
    font_hits: int = 0
    form_hits: int = 0
    hex_fast: int = 0


_memo: ContextVar[Memo | None] = ContextVar("pypdf_cache_memo", default=None)
_installed: list[bool] = []  # [True] once installed, [False] when pypdf is not the one checked
_installing = threading.Lock()


@contextmanager
def document() -> Iterator[Memo | None]:
    """The reading of one document: pypdf's repeated work remembered until the block ends (nested
    documents, a PDF embedded in a PDF, have their own). Yields None where pypdf is left as it is."""
    if not install():
        yield None
        return
    memo = Memo()
    token = _memo.set(memo)
    try:
        yield memo
    finally:
        _memo.reset(token)


def install() -> bool:
    """Wrap pypdf's functions once per process; False (and pypdf untouched) where it is not a version
    checked or its internals differ from those read."""
    if not _installed:
        with _installing:
            if not _installed:
                try:
                    _installed.append(_install())
                except Exception:  # anything unexpected in pypdf's layout: plain pypdf
                    _installed.append(False)
    return _installed[0]


def _install() -> bool:
    import pypdf
    import pypdf._codecs as codecs_module
    import pypdf._page as page_module
    import pypdf._text_extraction as text_module
    import pypdf._text_extraction._text_extractor as extractor_module
    import pypdf.generic._data_structures as data_module
    import pypdf.generic._font as font_module
    import pypdf.generic._utils as utils_module
    from pypdf.generic import ContentStream

    match = re.match(r"(\d+)\.(\d+)", pypdf.__version__)
    if match is None or (int(match[1]), int(match[2])) not in CHECKED:
        return False
    font_class = font_module.Font
    from_font_resource = font_class.__dict__.get("from_font_resource")
    read_hex = utils_module.read_hex_string_from_stream
    get_content = getattr(text_module, "_get_content_stream_for_text", None)
    extract = page_module.PageObject._extract_text
    named_encoding = codecs_module.encoding_dict_from_named_encoding
    get_operands = text_module.get_text_operands
    text_width = font_class.__dict__.get("get_text_width")
    if not (
        page_module.Font is font_class
        and isinstance(from_font_resource, classmethod)
        and from_font_resource.__func__.__code__.co_varnames[:2] == ("cls", "pdf_font_dict")
        and "from_font_resource" in extract.__code__.co_names
        and "_get_content_stream_for_text" in extract.__code__.co_names
        and data_module.read_hex_string_from_stream is read_hex
        and "read_hex_string_from_stream" in data_module.read_object.__code__.co_names
        and read_hex.__code__.co_varnames[:2] == ("stream", "forced_encoding")
        and get_content is not None
        and get_content.__code__.co_varnames[:4] == ("obj", "pdf", "content_key", "has_visitor")
        and callable(getattr(utils_module, "create_string_object", None))
        and isinstance(getattr(ContentStream, "operations", None), property)
        and extractor_module.encoding_dict_from_named_encoding is named_encoding
        and "encoding_dict_from_named_encoding" in extractor_module.TextExtraction.__init__.__code__.co_names
        and extractor_module.get_text_operands is get_operands
        and get_operands.__code__.co_varnames[:5] == ("operands", "cm_matrix", "tm_matrix", "font", "orientations")
        and {"mult", "orient", "encode_pdfdocencoding", "get_text_width", "space_char", "space_width"}
        <= set(get_operands.__code__.co_names)
        and callable(text_width)
        and "character_widths" in _names(text_width.__code__)
        and callable(getattr(text_module, "mult", None))
        and callable(getattr(text_module, "orient", None))
    ):
        return False

    original_font = from_font_resource.__func__
    create_string_object = utils_module.create_string_object

    def cached_font(cls: Any, pdf_font_dict: Any) -> Any:
        memo = _memo.get()
        if memo is None or cls is not font_class:
            return original_font(cls, pdf_font_dict)
        hit = memo.fonts.get(id(pdf_font_dict))
        if hit is None:
            font = original_font(cls, pdf_font_dict)  # raises as pypdf does, nothing kept
            entries = len(font.character_map) + len(font.character_widths) + len(font.encoding)
            if memo.font_entries + entries <= _FONT_ENTRIES:
                memo.font_entries += entries
                memo.fonts[id(pdf_font_dict)] = (pdf_font_dict, font)  # held: its id stays its own
            return copy.copy(font)
        if hit[0] is not pdf_font_dict:  # cannot be while held; plain pypdf all the same
            return original_font(cls, pdf_font_dict)
        memo.font_hits += 1
        return copy.copy(hit[1])

    def fast_hex(stream: Any, forced_encoding: Any = None) -> Any:
        memo = _memo.get()
        if memo is None:
            return read_hex(stream, forced_encoding)
        start = stream.tell()
        chunk = stream.read(_HEX_CHUNK)
        end = chunk.find(b">")
        if end < 0 and len(chunk) == _HEX_CHUNK:
            buffer = bytearray(chunk)
            while end < 0:
                more = stream.read(len(buffer))  # doubling: linear in the string's length
                if not more:
                    break
                buffer += more
                end = buffer.find(b">", len(buffer) - len(more))
            chunk = bytes(buffer)
        digits = chunk[1:end].translate(None, _PDF_WHITESPACE) if end > 0 and chunk[:1] == b"<" else None
        if digits is None or not _HEX.fullmatch(digits):
            stream.seek(start)  # no closing ">", or a character pypdf rejects: pypdf's own reading
            return read_hex(stream, forced_encoding)
        stream.seek(start + end + 1)
        memo.hex_fast += 1
        if len(digits) % 2:
            digits += b"0"
        return create_string_object(bytes.fromhex(digits.decode("ascii")), forced_encoding)

    def cached_content(obj: Any, pdf: Any, content_key: Any, *, has_visitor: bool) -> Any:
        memo = _memo.get()
        if memo is None or content_key is not None or has_visitor:
            return get_content(obj, pdf, content_key, has_visitor=has_visitor)
        key = id(obj)
        hit = memo.forms.get(key)
        if hit is not None and hit[0] is obj:
            memo.form_hits += 1
            return hit[1]
        content = get_content(obj, pdf, content_key, has_visitor=has_visitor)
        if memo.forms_seen.get(key) is not obj:  # drawn once so far: nothing held but the object
            memo.forms_seen[key] = obj
        elif memo.form_operations < _FORM_OPERATIONS:
            # parsed now rather than by _extract_text's loop just after: an error is raised out of
            # the same _extract_text call, before anything was read
            memo.form_operations += 1 + (len(content.operations) if content is not None else 0)
            memo.forms[key] = (obj, content)
        return content

    def cached_encoding(encoding: str) -> dict[int, str]:
        memo = _memo.get()
        if memo is None:
            return named_encoding(encoding)
        table = memo.encodings.get(encoding)
        if table is None:
            table = memo.encodings[encoding] = named_encoding(encoding)
        return dict(table)  # a copy each time, as pypdf makes a new one

    mult, orient, encode_pdfdocencoding = text_module.mult, text_module.orient, text_module.encode_pdfdocencoding

    def operands_with_widths(
        operands: Any, cm_matrix: Any, tm_matrix: Any, font: Any, orientations: Any
    ) -> tuple[str, bool, float]:
        """pypdf 7.1's get_text_operands, line for line, with the widths of characters looked up in the
        document's table of the font's widths instead of a table made anew on every call."""
        memo = _memo.get()
        if memo is None or type(font) is not font_class:
            return get_operands(operands, cm_matrix, tm_matrix, font, orientations)
        text: str = ""
        is_str_operands = False
        widths: float = 0.0
        m = mult(tm_matrix, cm_matrix)
        orientation = orient(m)
        raw_characters: str = ""
        if orientation in orientations and len(operands) > 0:
            if isinstance(operands[0], str):
                text = operands[0]
                is_str_operands = True
            else:
                text = ""
                tt: bytes = encode_pdfdocencoding(operands[0]) if isinstance(operands[0], str) else operands[0]
                if isinstance(font.encoding, str):  # Apply named encoding
                    try:
                        text = tt.decode(font.encoding, "surrogatepass")
                    except UnicodeDecodeError:
                        # Fallback for odd byte counts or unmapped 16-bit GIDs/CIDs
                        text = tt.decode(font.encoding, "replace")
                else:  # Apply dict encoding
                    text = "".join(font.encoding.get(x, chr(x)) for x in tt)
                    raw_characters = "".join(chr(byte) for byte in tt)
            table = font.character_widths
            held = memo.widths.get(id(table))
            if held is None or held[0] is not table:
                held = memo.widths[id(table)] = (table, {})
            known = held[1]
            for char in raw_characters or text:
                if char == font.space_char:
                    widths += font.space_width
                else:
                    width = known.get(char)
                    if width is None:
                        width = font.get_text_width(char)
                        if memo.width_entries < _FONT_ENTRIES:
                            memo.width_entries += 1
                            known[char] = width
                    else:
                        memo.width_hits += 1
                    widths += width
        return (text, is_str_operands, widths)

    font_class.from_font_resource = classmethod(cached_font)  # type: ignore[method-assign,assignment]
    extractor_module.get_text_operands = operands_with_widths
    data_module.read_hex_string_from_stream = fast_hex
    text_module._get_content_stream_for_text = cached_content
    extractor_module.encoding_dict_from_named_encoding = cached_encoding
    return True


def _names(code: Any) -> set[str]:
    """The names a function's code uses, its nested code (comprehensions) included."""
    out = set(code.co_names)
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            out |= _names(const)
    return out


_PDF_WHITESPACE = b"\x00\t\n\x0c\r "  # pypdf's WHITESPACES, skipped inside a hex string
_HEX = re.compile(rb"[0-9A-Fa-f]*")
