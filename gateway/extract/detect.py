"""What a file is, by its bytes first: names and declared types only choose between text kinds."""

from __future__ import annotations

import re

_MAGIC: list[tuple[bytes, str]] = [
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),
    (b"PK\x07\x08", "zip"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole"),
    (b"{\\rtf", "rtf"),
    (b"Rar!\x1a\x07", "rar"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"MZ", "exe"),
    (b"\x7fELF", "elf"),
    (b"\x78\x9f\x3e\x22", "tnef"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"\x00\x00\x01\x00", "image/x-icon"),
    (b"VCLMTF", "svm"),
]

IMAGES = frozenset(t for _, t in _MAGIC if t.startswith("image/")) | {"image/webp"}
METAFILES = frozenset({"image/emf", "image/wmf"})  # Windows metafiles: records, not pixels (metafile.py)
SVG = "image/svg+xml"
_WMF_TYPES = ("image/wmf", "image/x-wmf", "application/x-msmetafile", "windows/metafile")
_SVG_START = re.compile(rb"^\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*)*<(?:\w+:)?svg\b", re.S)
UNSUPPORTED = {
    "rar": "RAR archive",
    "7z": "7-Zip archive",
    "gzip": "gzip data",
    "bzip2": "bzip2 data",
    "xz": "xz data",
    "zstd": "zstd data",
    "exe": "Windows executable",
    "elf": "ELF executable",
    "svm": "StarView metafile (a LibreOffice drawing)",
}

_EXT_TEXT = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".htm": "html",
    ".html": "html",
    ".xhtml": "html",
    ".ics": "calendar",
    ".vcs": "calendar",
    ".eml": "eml",
    ".msg": "eml",
}
_TYPE_TEXT = {
    "text/csv": "csv",
    "text/comma-separated-values": "csv",
    "text/tab-separated-values": "tsv",
    "text/html": "html",
    "application/xhtml+xml": "html",
    "text/calendar": "calendar",
    "message/rfc822": "eml",
    "message/global": "eml",
}
_HEADER_LINE = re.compile(rb"^[!-9;-~]+:[ \t]?", re.M)
_MAIL_HEADERS = re.compile(
    rb"^(from|to|subject|date|message-id|received|mime-version|return-path|content-type|cc|sender)"
    rb":",
    re.I | re.M,
)
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x10-\x1a\x1c-\x1f\x7f]")


def sniff(data: bytes, name: str = "", declared: str = "") -> str:
    """A type key: a container ("zip", "ole"), "pdf", "rtf", a text kind ("text", "csv", "tsv",
    "html", "calendar", "eml"), an image type, an unsupported kind, or "unknown" binary."""
    head = data[:16]
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            if kind == "image/bmp" and len(data) < 26:
                continue
            if kind == "exe" and b"PE\x00\x00" not in data[:4096]:
                continue
            if kind == "image/x-icon" and not name.lower().endswith(".ico"):
                continue
            return kind
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"\x01\x00\x00\x00") and data[40:44] == b" EMF":
        return "image/emf"
    if head.startswith(b"\xd7\xcd\xc6\x9a") or (
        head[:6] in (b"\x01\x00\x09\x00\x00\x03", b"\x02\x00\x09\x00\x00\x03", b"\x01\x00\x09\x00\x00\x01")
        and (name.lower().endswith(".wmf") or declared.lower() in _WMF_TYPES)
    ):
        return "image/wmf"
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if not is_text(data):
        return "unknown"
    lowered = name.lower()
    ext = lowered[lowered.rfind(".") :] if "." in lowered else ""
    start = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith(b"{\\rtf"):
        return "rtf"
    if start.startswith(b"begin:vcalendar"):
        return "calendar"
    if _SVG_START.match(start) or (start.startswith(b"<?xml") and b"<svg" in start):
        return SVG
    if start.startswith((b"<!doctype html", b"<html")) or (b"<body" in start and b"</" in start):
        return "html"
    if _looks_like_mail(data[:8192]) and ext not in (".csv", ".tsv", ".txt"):
        return "eml"
    text_kind = _TYPE_TEXT.get(declared.lower()) or _EXT_TEXT.get(ext)
    if text_kind is not None and text_kind in ("csv", "tsv", "html", "calendar"):
        return text_kind
    return sniff_table(data[:8192]) or "text"


def _looks_like_mail(head: bytes) -> bool:
    block = head.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    lines = [ln for ln in block.split(b"\n") if ln and not ln[:1].isspace()]
    if len(lines) < 2 or not all(_HEADER_LINE.match(ln) for ln in lines):
        return False
    return len(_MAIL_HEADERS.findall(block)) >= 2


def sniff_table(head: bytes) -> str | None:
    """A text whose first lines all have the same number (>= 1) of tabs or commas is a table."""
    lines = [ln for ln in head.replace(b"\r\n", b"\n").split(b"\n")[:20] if ln.strip()]
    if len(head) == 8192 and len(lines) > 1:
        lines = lines[:-1]  # probably cut
    if len(lines) < 3:
        return None
    for sep, kind in ((b"\t", "tsv"), (b",", "csv")):
        counts = {ln.count(sep) for ln in lines}
        if len(counts) == 1 and min(counts) >= 1:
            return kind
    return None


def is_text(data: bytes) -> bool:
    sample = data[:65536]
    if not sample:
        return True
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    if b"\x00" in sample:
        return utf16_guess(sample) is not None
    return len(_CONTROL.findall(sample)) <= len(sample) // 200


def utf16_guess(sample: bytes) -> str | None:
    """UTF-16 without a BOM: ASCII-range characters put NULs at every other byte."""
    if len(sample) < 4:
        return None
    sample = sample[: len(sample) // 2 * 2]
    for codec in ("utf-16-le", "utf-16-be"):
        try:
            text = sample.decode(codec)
        except UnicodeDecodeError:
            continue
        readable = len(_READABLE.findall(text))
        if readable >= 0.95 * len(text):
            return codec
    return None


# Characters of ordinary Japanese and English text (a wrong UTF-16 reading gives other planes).
_READABLE = re.compile(
    r"[\t\n\r\x20-\x7e\u00a0-\u00ff\u2010-\u2027\u2460-\u24ff\u3000-\u30ff\u4e00-\u9fff\uff01-\uff9f]"
)


def classify_zip(names: list[str]) -> str:
    """OOXML and ODF are zips; tell them by their members."""
    lowered = {n.lower() for n in names}
    if "[content_types].xml" in lowered:
        if any(n.startswith("xl/") for n in lowered):
            return "xlsm" if "xl/vbaproject.bin" in lowered else "xlsx"
        if any(n.startswith("word/") for n in lowered):
            return "docx"
        if any(n.startswith("ppt/") for n in lowered):
            return "pptx"
        return "ooxml"
    if "mimetype" in lowered and "content.xml" in lowered:
        return "odf"
    return "zip"
