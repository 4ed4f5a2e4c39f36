"""Windows metafiles (EMF, EMF+, WMF): the drawings Office keeps for pasted charts, tables copied
"as picture" and the previews of embedded objects. No renderer runs here; a small bounded parser
walks the records the formats document ([MS-EMF], [MS-EMFPLUS], [MS-WMF]) and takes out:

- text: EMR_EXTTEXTOUTW/A, EMR_POLYTEXTOUTW/A, EMR_SMALLTEXTOUT; EMF+ DrawString and
  DrawDriverString (Unicode code points); WMF META_TEXTOUT and META_EXTTEXTOUT (8-bit text in the
  character set of the font created last: Shift_JIS for SHIFTJIS_CHARSET);
- bitmaps: the device-independent bitmaps of EMR_STRETCHDIBITS, BITBLT, STRETCHBLT, MASKBLT, PLGBLT,
  SETDIBITSTODEVICE, ALPHABLEND, TRANSPARENTBLT, WMF META_STRETCHDIB, DIBSTRETCHBLT, DIBBITBLT and
  SETDIBTODEV, and EMF+ bitmap objects (PNG/JPEG inside): each goes to the image reader (OCR, by the
  same size rules as any image: `where` ... › image1.emf › bitmap 1 › OCR).

What cannot be read is UNSCANNABLE `metafile-text`: text drawn as glyph indices (ETO_GLYPH_INDEX,
DrawDriverString without the Unicode flag: the characters are positions in a font, not letters) and a
record stream that is cut or inconsistent. Everything is bounded by the file's size: a record is at
least 8 (EMF) or 6 (WMF) bytes and must fit in what is left.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from gateway.extract.context import Unscannable
from gateway.unscannable import Reason

MAX_BITMAPS = 100
_GLYPH_INDEX = 0x0010  # ETO_GLYPH_INDEX
_NO_RECT = 0x0100  # ETO_NO_RECT (EMR_SMALLTEXTOUT)
_SMALL_CHARS = 0x0200  # ETO_SMALL_CHARS: 8-bit characters (EMR_SMALLTEXTOUT)
_EMF_PLUS = 0x2B464D45  # "EMF+" comment identifier
# EMF bitmap records -> offset of their offBmiSrc, cbBmiSrc, offBitsSrc, cbBitsSrc fields
_EMF_BITMAPS = {76: 84, 77: 84, 78: 84, 79: 96, 80: 48, 81: 48, 114: 84, 116: 84}
# WMF bitmap records -> offset of the DIB inside the record (after RecordSize and RecordFunction)
_WMF_BITMAPS = {0x0F43: 28, 0x0B41: 26, 0x0940: 22, 0x0D33: 24}
_CHARSETS = {128: "cp932", 0: "cp1252", 1: "cp1252", 2: "cp1252", 134: "gbk", 136: "big5", 129: "cp949"}


@dataclass
class Drawing:
    """What a metafile carries: its lines of text, its bitmaps (image files), what could not be read."""

    kind: str
    lines: list[str] = field(default_factory=list)
    bitmaps: list[bytes] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    _seen: set[str] = field(default_factory=set)

    def text(self, value: str) -> None:
        value = value.replace("\x00", "").strip()
        if value and value not in self._seen:  # EMF+ dual files draw each string twice
            self._seen.add(value)
            self.lines.append(value)

    def missed(self, what: str) -> None:
        if what not in self.unreadable:
            self.unreadable.append(what)


def read_emf(data: bytes) -> Drawing:
    out = Drawing("emf")
    charset = "cp1252"
    plus: list[bytes] = []  # EMF+ records, read after the GDI ones
    pos, end = 0, len(data)
    while pos + 8 <= end:
        kind, size = struct.unpack_from("<II", data, pos)
        if size < 8 or size % 4 or pos + size > end:
            raise Unscannable(Reason.METAFILE_TEXT, f"EMF record {kind} at byte {pos} has a bad size ({size})")
        rec = data[pos : pos + size]
        pos += size
        if kind == 14:  # EMR_EOF
            break
        if kind in (83, 84):
            _emf_text(out, rec, 36, kind == 84, charset)
        elif kind in (96, 97) and size >= 40:
            count = _u32(rec, 36)
            for i in range(min(count, (size - 40) // 40)):
                _emf_text(out, rec, 40 + 40 * i, kind == 97, charset)
        elif kind == 108:
            _small_text(out, rec, charset)
        elif kind == 82 and size >= 12 + 24:  # EMR_EXTCREATEFONTINDIRECTW: LogFont.CharSet
            charset = _CHARSETS.get(rec[12 + 23], charset)
        elif kind in _EMF_BITMAPS:
            _emf_bitmap(out, rec, _EMF_BITMAPS[kind])
        elif kind == 70 and size >= 16 and _u32(rec, 12) == _EMF_PLUS:
            plus.append(rec[16 : 12 + _u32(rec, 8)])
    if plus:
        _emf_plus(out, b"".join(plus))
    return out


def _u32(b: bytes, at: int) -> int:
    return int(struct.unpack_from("<I", b, at)[0]) if at + 4 <= len(b) else 0


def _u16(b: bytes, at: int) -> int:
    return int(struct.unpack_from("<H", b, at)[0]) if at + 2 <= len(b) else 0


def _emf_text(out: Drawing, rec: bytes, at: int, wide: bool, charset: str) -> None:
    """An EmrText object at `at`: Reference (8), Chars, offString, Options, Rectangle, offDx."""
    chars, offset, options = _u32(rec, at + 8), _u32(rec, at + 12), _u32(rec, at + 16)
    raw = rec[offset : offset + chars * (2 if wide else 1)] if offset else b""
    if not raw:
        return
    if options & _GLYPH_INDEX:
        out.missed("text drawn as glyph indices (ETO_GLYPH_INDEX)")
        return
    out.text(raw.decode("utf-16-le", "replace") if wide else raw.decode(charset, "replace"))


def _small_text(out: Drawing, rec: bytes, charset: str) -> None:
    chars, options = _u32(rec, 16), _u32(rec, 20)
    at = 36 if options & _NO_RECT else 52
    if options & _SMALL_CHARS:
        raw = rec[at : at + chars]
        text = raw.decode(charset, "replace")
    else:
        raw = rec[at : at + chars * 2]
        text = raw.decode("utf-16-le", "replace")
    if not raw:
        return
    if options & _GLYPH_INDEX:
        out.missed("text drawn as glyph indices (ETO_GLYPH_INDEX)")
        return
    out.text(text)


def _emf_bitmap(out: Drawing, rec: bytes, at: int) -> None:
    off_bmi, cb_bmi, off_bits, cb_bits = struct.unpack_from("<IIII", rec, at) if at + 16 <= len(rec) else (0, 0, 0, 0)
    if not cb_bmi or off_bmi + cb_bmi > len(rec) or off_bits + cb_bits > len(rec):
        return  # a pattern or colour operation without a bitmap
    bmi = rec[off_bmi : off_bmi + cb_bmi]
    bits = rec[off_bits : off_bits + cb_bits]
    _bitmap(out, bmi, bits)


def _bitmap(out: Drawing, bmi: bytes, bits: bytes) -> None:
    if len(out.bitmaps) >= MAX_BITMAPS or len(bmi) < 12:
        if len(out.bitmaps) >= MAX_BITMAPS:
            out.missed(f"more than {MAX_BITMAPS} bitmaps; the first {MAX_BITMAPS} were read")
        return
    if _u32(bmi, 0) >= 40 and _u32(bmi, 16) in (4, 5):  # BI_JPEG, BI_PNG: the bits are the file
        out.bitmaps.append(bits)
        return
    header = b"BM" + struct.pack("<IHHI", 14 + len(bmi) + len(bits), 0, 0, 14 + len(bmi))
    out.bitmaps.append(header + bmi + bits)


def _emf_plus(out: Drawing, stream: bytes) -> None:
    """EMF+ records: Type u16, Flags u16, Size u32, DataSize u32, data."""
    pos, end = 0, len(stream)
    objects: dict[int, bytearray] = {}
    while pos + 12 <= end:
        kind, flags, size, data_size = struct.unpack_from("<HHII", stream, pos)
        if size < 12 or pos + size > end:
            break  # the GDI records were read; a cut EMF+ stream loses only its duplicates
        data = stream[pos + 12 : pos + 12 + min(data_size, size - 12)]
        pos += size
        if kind == 0x401C and len(data) >= 28:  # DrawString
            length = _u32(data, 8)
            out.text(data[28 : 28 + 2 * length].decode("utf-16-le", "replace"))
        elif kind == 0x4036 and len(data) >= 16:  # DrawDriverString
            options, count = _u32(data, 4), _u32(data, 12)
            glyphs = data[16 : 16 + 2 * count]
            if options & 1:  # DriverStringOptionsCmapLookup: code points, not glyph indices
                out.text(glyphs.decode("utf-16-le", "replace"))
            elif glyphs:
                out.missed("text drawn as glyph indices (EMF+ DrawDriverString)")
        elif kind == 0x4008 and (flags >> 8) & 0x7F == 5:  # Object of type Image
            index = flags & 0xFF
            if flags & 0x8000:  # continued object: TotalObjectSize first
                objects.setdefault(index, bytearray()).extend(data[4:])
                continue
            whole = bytes(objects.pop(index, bytearray())) + data
            _plus_image(out, whole)


def _plus_image(out: Drawing, obj: bytes) -> None:
    """EmfPlusImage: Version, Type (1 bitmap); EmfPlusBitmap: Width, Height, Stride, PixelFormat,
    Type (1 compressed: a PNG, JPEG, GIF or TIFF file follows)."""
    if out.bitmaps or len(obj) < 28 or _u32(obj, 4) != 1:
        return  # a dual file's GDI records carry the same pictures, read already
    if _u32(obj, 24) == 1 and len(out.bitmaps) < MAX_BITMAPS:
        out.bitmaps.append(obj[28:])


def read_wmf(data: bytes) -> Drawing:
    out = Drawing("wmf")
    pos = 22 if data[:4] == b"\xd7\xcd\xc6\x9a" else 0
    if pos + 18 > len(data):
        raise Unscannable(Reason.METAFILE_TEXT, "WMF shorter than its header")
    pos += _u16(data, pos + 2) * 2  # HeaderSize in 16-bit words
    charset = "cp1252"
    end = len(data)
    while pos + 6 <= end:
        words, function = struct.unpack_from("<IH", data, pos)
        size = words * 2
        if size < 6 or pos + size > end:
            raise Unscannable(Reason.METAFILE_TEXT, f"WMF record {function:#06x} at byte {pos} has a bad size")
        rec = data[pos : pos + size]
        pos += size
        if function == 0x0000:  # META_EOF
            break
        if function == 0x02FB and size >= 6 + 14:  # META_CREATEFONTINDIRECT: Font.CharSet
            charset = _CHARSETS.get(rec[6 + 13], charset)
        elif function == 0x0521:  # META_TEXTOUT
            length = _u16(rec, 6)
            out.text(rec[8 : 8 + length].decode(charset, "replace"))
        elif function == 0x0A32:  # META_EXTTEXTOUT
            length, options = _u16(rec, 10), _u16(rec, 12)
            at = 14 + (8 if options & 0x0006 else 0)  # ETO_OPAQUE | ETO_CLIPPED: a rectangle first
            raw = rec[at : at + length]
            if raw and options & _GLYPH_INDEX:
                out.missed("text drawn as glyph indices (ETO_GLYPH_INDEX)")
            else:
                out.text(raw.decode(charset, "replace"))
        elif function in _WMF_BITMAPS and words > (function >> 8) + 3:
            dib = rec[_WMF_BITMAPS[function] :]
            _wmf_dib(out, dib)
    return out


def _wmf_dib(out: Drawing, dib: bytes) -> None:
    """A DIB without its sizes: the colour table's length from the header."""
    size = _u32(dib, 0)
    if size == 12:  # BITMAPCOREHEADER
        bits = _u16(dib, 10)
        table = (1 << bits) * 3 if bits <= 8 else 0
    elif size >= 40:
        bits, compression, used = _u16(dib, 14), _u32(dib, 16), _u32(dib, 32)
        table = (used or ((1 << bits) if bits <= 8 else 0)) * 4
        if size == 40 and compression in (3, 6):  # BI_BITFIELDS, BI_ALPHABITFIELDS: masks follow
            table += 12 if compression == 3 else 16
    else:
        return
    _bitmap(out, dib[: size + table], dib[size + table :])
