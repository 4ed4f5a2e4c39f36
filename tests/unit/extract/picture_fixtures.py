"""Pictures as Office keeps them, built here record by record from the formats' documentation:
EMF ([MS-EMF] EMR_HEADER, EMR_EXTTEXTOUTW, EMR_STRETCHDIBITS, EMR_COMMENT with EMF+ DrawString),
WMF ([MS-WMF] placeable header, META_CREATEFONTINDIRECT, META_EXTTEXTOUT), SVG, and packages
(docx, ODF) that carry them."""

from __future__ import annotations

import io
import struct

from PIL import Image

from tests.unit.extract import coverage_fixtures as cf

ETO_GLYPH_INDEX = 0x10


def _pad4(b: bytes) -> bytes:
    return b + b"\x00" * (-len(b) % 4)


def _emf_header(total: int, records: int) -> bytes:
    body = struct.pack("<4i4i", 0, 0, 1000, 500, 0, 0, 26458, 13229)  # Bounds, Frame
    body += struct.pack("<IIIIHHIII", 0x464D4520, 0x10000, total, records, 1, 0, 0, 0, 0)
    body += struct.pack("<2i2i", 1920, 1080, 508, 286)  # Device, Millimeters
    return struct.pack("<II", 1, 8 + len(body)) + body


def emf(*records: bytes) -> bytes:
    eof = struct.pack("<IIIII", 14, 20, 0, 0, 20)
    size = 88 + sum(len(r) for r in records) + len(eof)
    return _emf_header(size, len(records) + 2) + b"".join(records) + eof


def exttextoutw(text: str, options: int = 0) -> bytes:
    string = text.encode("utf-16-le")
    chars = len(text)
    off_string = 76
    off_dx = off_string + len(_pad4(string))
    size = off_dx + 4 * chars
    emr_text = struct.pack("<iiIIIiiiiI", 10, 10, chars, off_string, options, 0, 0, 0, 0, off_dx)
    head = struct.pack("<II4iIff", 84, size, 0, 0, 100, 20, 1, 1.0, 1.0)
    return head + emr_text + _pad4(string) + b"\x10\x00\x00\x00" * chars


def stretchdibits(image: Image.Image) -> bytes:
    bmp = io.BytesIO()
    image.convert("RGB").save(bmp, "BMP")
    data = bmp.getvalue()
    offset = struct.unpack_from("<I", data, 10)[0]
    bmi, bits = data[14:offset], data[offset:]
    w, h = image.size
    off_bmi = 80
    off_bits = off_bmi + len(bmi)
    size = off_bits + len(_pad4(bits))
    head = struct.pack("<II4i", 81, size, 0, 0, w, h)
    fields = struct.pack("<iiiiiiIIIIIIii", 0, 0, 0, 0, w, h, off_bmi, len(bmi), off_bits, len(bits), 0, 0xCC0020, w, h)
    return head + fields + bmi + _pad4(bits)


def emf_plus_drawstring(text: str) -> bytes:
    """An EMR_COMMENT holding EMF+ records: a header and one DrawString (what Office 365 writes)."""
    string = text.encode("utf-16-le")
    header = struct.pack("<HHIIIIII", 0x4001, 0, 28, 16, 0xDBC01002, 0, 96, 96)
    data = struct.pack("<III4f", 0xFF000000, 0, len(text), 0, 0, 300, 40) + _pad4(string)
    draw = struct.pack("<HHII", 0x401C, 0, 12 + len(data), len(data)) + data
    payload = struct.pack("<I", 0x2B464D45) + header + draw
    return struct.pack("<III", 70, 12 + len(payload), len(payload)) + payload


def wmf_text(text: str, charset: int = 128, encoding: str = "cp932") -> bytes:
    """A placeable WMF drawing one string with META_EXTTEXTOUT in a font of `charset`."""
    font = struct.pack("<hhhhh8B", -16, 0, 0, 0, 400, 0, 0, 0, charset, 0, 0, 0, 0) + b"MS Gothic".ljust(32, b"\0")
    create = struct.pack("<IH", (6 + len(font)) // 2, 0x02FB) + font
    select = struct.pack("<IHH", 4, 0x012D, 0)
    string = text.encode(encoding)
    body = struct.pack("<hhHH", 20, 10, len(string), 0) + string + (b"\0" if len(string) % 2 else b"")
    exttext = struct.pack("<IH", (6 + len(body)) // 2, 0x0A32) + body
    eof = struct.pack("<IH", 3, 0)
    records = create + select + exttext + eof
    header = struct.pack("<HHHIHIH", 1, 9, 0x0300, (18 + len(records)) // 2, 1, 64, 0)
    placeable = struct.pack("<IHhhhhHIH", 0x9AC6CDD7, 0, 0, 0, 2000, 500, 1440, 0, 0)
    return placeable + header + records


def svg(text: str, doctype: bool = False) -> bytes:
    head = '<!DOCTYPE svg [<!ENTITY x "x">]>' if doctype else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{head}<svg xmlns="http://www.w3.org/2000/svg" width="300" height="80">'
        f"<title>連絡先</title><rect width='300' height='80' fill='#eee'/>"
        f'<text x="10" y="40">携帯 <tspan font-weight="bold">{text}</tspan></text></svg>'
    ).encode()


def docx_with_picture(data: bytes, name: str, ctype: str, rid: str = "rIdPic1") -> bytes:
    """A document whose body shows a picture part (as Word stores a pasted picture)."""
    members = cf.zip_members(cf.docx_with())
    cf.add_part(members, f"word/media/{name}", data, ctype, "word/document.xml", "image", rid)
    return cf.rezip(members)
