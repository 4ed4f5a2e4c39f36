"""Text that travels inside an image file besides its pixels: PNG text chunks (tEXt, zTXt, iTXt),
JPEG and GIF comments, the EXIF fields people write in (description, artist, copyright, document
name, Windows' title/comment/author/keywords/subject, the user comment, the camera owner) and the
XMP packet's values. Read with Pillow from the already opened image; XMP is parsed with defusedxml
(a DOCTYPE or entity in it is refused like anywhere else). Counts, dates, resolutions and colour
profiles are not text and are not read."""

from __future__ import annotations

from typing import Any

from defusedxml import ElementTree as SafeET
from PIL import Image

# Pillow's info keys that are numbers, profiles or binary blocks, not text someone wrote.
_NOT_TEXT = frozenset(
    {
        "icc_profile", "exif", "dpi", "transparency", "gamma", "aspect", "jfif", "jfif_version", "jfif_unit",
        "jfif_density", "progressive", "progression", "adobe", "adobe_transform", "duration", "loop",
        "background", "version", "extension", "compression", "chromaticity", "srgb", "interlace", "mp",
        "photoshop", "mpoffset", "default_image", "bbox", "resolution",
    }
)  # fmt: skip
_XMP_KEYS = ("xmp", "XML:com.adobe.xmp")
# EXIF tags of the main IFD (0th) with text a person writes, and of the Exif sub-IFD (0x8769).
_EXIF_TEXT = {0x010D: "DocumentName", 0x010E: "ImageDescription", 0x013B: "Artist", 0x8298: "Copyright"}
_EXIF_XP = {0x9C9B: "XPTitle", 0x9C9C: "XPComment", 0x9C9D: "XPAuthor", 0x9C9E: "XPKeywords", 0x9C9F: "XPSubject"}
_EXIF_IFD = 0x8769
_EXIF_SUB_TEXT = {0x9286: "UserComment", 0xA430: "CameraOwnerName"}
# The 8-byte character code in front of a UserComment (EXIF 2.3, 4.6.5).
_USER_COMMENT_CODES = {b"ASCII\0\0\0": "ascii", b"UNICODE\0": "utf-16", b"JIS\0\0\0\0\0": "iso2022_jp"}


def metadata_lines(image: Image.Image, data: bytes | None = None) -> list[str]:
    """`name: value` for every piece of written text in the image's metadata.

    `data`, the image's bytes, is given when nothing will decode its pixels (a logo skipped by size):
    Pillow decodes a PNG's pixels to reach the chunks after them, where an eXIf chunk or a text chunk
    with an EXIF profile may be; when none of their chunk types occurs after the first IDAT, there is
    no EXIF to find (decoded or not, with or without an error) and the pixels stay undecoded."""
    lines: list[str] = []
    for key, value in image.info.items():
        if not isinstance(key, str) or key in _NOT_TEXT:
            continue
        if key in _XMP_KEYS:
            lines.extend(_xmp(value))
        elif (text := _text(value)) is not None:
            lines.append(f"{key}: {text}")
    if data is None or not _no_exif_after_pixels(image, data):
        lines.extend(_exif(image))
    return [line for line in lines if line.split(":", 1)[-1].strip()]


# The chunks Pillow reads after a PNG's pixels that can give it EXIF: eXIf, and the text chunks (a
# "Raw profile type exif"); an XMP packet there only sets the orientation, which is not read here.
_EXIF_CHUNKS = (b"eXIf", b"tEXt", b"zTXt", b"iTXt")


def _no_exif_after_pixels(image: Image.Image, data: bytes) -> bool:
    """A PNG whose EXIF `_exif` would find is empty whatever decoding its pixels gives: none before
    them, and none of the chunk types that could bring some after them anywhere past the first
    IDAT (any bytes, chunk boundaries or not, so that no reading of the file can find one)."""
    if image.format != "PNG" or "exif" in image.info or "Raw profile type exif" in image.info:
        return False
    idat = data.find(b"IDAT")
    if idat == -1:
        return False
    # tEXt, zTXt and iTXt all hold "Xt" at their third byte: one search for it (rare in compressed
    # pixels) and a look at the two bytes before each, instead of a search of the pixels per type
    at = data.find(b"Xt", idat + 2)
    while at != -1:
        if data[at - 2 : at] in _BEFORE_XT:
            return False
        at = data.find(b"Xt", at + 1)
    return data.find(b"eXIf", idat) == -1


_BEFORE_XT = frozenset(kind[:2] for kind in _EXIF_CHUNKS if kind[2:] == b"Xt")  # tE zT iT


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return None


def _exif(image: Image.Image) -> list[str]:
    try:
        exif = image.getexif()
    except Exception:  # a broken EXIF block: the pixels may still be fine
        return ["EXIF: (unreadable)"] if "exif" in image.info else []
    lines = [f"{name}: {text}" for tag, name in _EXIF_TEXT.items() if (text := _text(exif.get(tag))) is not None]
    for tag, name in _EXIF_XP.items():
        value = exif.get(tag)
        if isinstance(value, tuple):  # some writers give a tuple of byte values
            value = bytes(value)
        if isinstance(value, bytes):
            lines.append(f"{name}: {value.decode('utf-16-le', 'replace').rstrip(chr(0))}")
    try:
        sub = exif.get_ifd(_EXIF_IFD)
    except Exception:
        sub = {}
    for tag, name in _EXIF_SUB_TEXT.items():
        value = sub.get(tag)
        if tag == 0x9286 and isinstance(value, bytes):
            codec = _USER_COMMENT_CODES.get(value[:8])
            value = value[8:].decode(codec, "replace") if codec else value.decode("utf-8", "replace")
        if (text := _text(value)) is not None:
            lines.append(f"{name}: {text.rstrip(chr(0))}")
    return lines


def _xmp(value: Any) -> list[str]:
    data = value.encode("utf-8") if isinstance(value, str) else value
    if not isinstance(data, bytes):
        return []
    try:
        root = SafeET.fromstring(data.strip(b"\0 \r\n\t"))
    except Exception:  # a DOCTYPE, an entity or broken XML: its bytes are read as text instead
        return [f"XMP: {data.decode('utf-8', 'replace')}"]
    lines = []
    for el in root.iter():
        name = el.tag.rsplit("}", 1)[-1]
        if el.text and el.text.strip():
            lines.append(f"XMP {name}: {el.text.strip()}")
        for attr, text in el.attrib.items():
            local = attr.rsplit("}", 1)[-1]
            if text.strip() and local not in ("about", "parseType", "lang") and "xmlns" not in attr:
                lines.append(f"XMP {local}: {text.strip()}")
    return lines
