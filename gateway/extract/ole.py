"""OLE compound files: encrypted OOXML (EncryptionInfo + EncryptedPackage), legacy Excel (.xls),
Outlook items (.msg: subject, bodies, recipients, attachments, embedded messages), and the legacy
Word/PowerPoint formats we cannot read (reported, never passed silently)."""

from __future__ import annotations

import io
import struct
from collections.abc import Callable

import olefile

from gateway.extract.charset import decode_text
from gateway.extract.context import Context, LimitExceeded, Unscannable, Where
from gateway.extract.rtf import decompress_lzfu, rtf_to_text
from gateway.extract.text import read_html, read_plain_body
from gateway.unscannable import Reason

# read_file(ctx, data, name, declared_type, where) -> None, passed in to avoid an import cycle
ReadFile = Callable[[Context, bytes, str, str, Where], None]


def open_ole(data: bytes) -> olefile.OleFileIO:
    try:
        return olefile.OleFileIO(io.BytesIO(data))
    except Exception as e:
        raise Unscannable(Reason.PARSE_ERROR, f"OLE compound file: {type(e).__name__}: {e}") from e


def classify(ole: olefile.OleFileIO) -> str:
    top = {entry[0].lower() for entry in ole.listdir(streams=True, storages=True)}
    if "encryptioninfo" in top or "encryptedpackage" in top:
        return "encrypted-ooxml"
    if "\x01ole10native" in top:
        return "ole-native"
    if "package" in top:
        return "ole-package"
    if "workbook" in top or "book" in top:
        return "xls"
    if "__properties_version1.0" in top or any(t.startswith("__substg1.0_") for t in top):
        return "msg"
    if "worddocument" in top:
        return "doc"
    if "powerpoint document" in top:
        return "ppt"
    return "ole"


def embedded(ole: olefile.OleFileIO, kind: str, limit: int) -> tuple[str, bytes]:
    """The file inside an embedded OLE object: an OOXML package ("Package" stream) or any file
    wrapped by Windows' Packager (\x01Ole10Native: size, flags, label, source path, reserved,
    temporary path, data size, data)."""
    if kind == "ole-package":
        if ole.get_size("Package") > limit:
            raise LimitExceeded(Reason.LIMIT_ATTACHMENT_SIZE, "embedded package is too large")
        data: bytes = ole.openstream("Package").read()
        return "Package", data
    if ole.get_size("\x01Ole10Native") > limit + 65536:
        raise LimitExceeded(Reason.LIMIT_ATTACHMENT_SIZE, "embedded object is too large")
    raw = ole.openstream("\x01Ole10Native").read()
    try:
        pos = 6
        label, pos = _zstr(raw, pos)
        path, pos = _zstr(raw, pos)
        pos += 4
        (temp_len,) = struct.unpack_from("<I", raw, pos)
        pos += 4 + temp_len
        (size,) = struct.unpack_from("<I", raw, pos)
        pos += 4
        if pos + size > len(raw):
            raise ValueError("data runs past the stream")
        name = (label or path.replace("\\", "/").rsplit("/", 1)[-1] or "object").strip()
        return name, raw[pos : pos + size]
    except (struct.error, ValueError) as e:
        raise Unscannable(Reason.PARSE_ERROR, f"embedded OLE package: {e}") from e


def _zstr(raw: bytes, pos: int) -> tuple[str, int]:
    end = raw.index(b"\x00", pos)
    return decode_text(raw[pos:end]).text, end + 1


def word_encrypted(ole: olefile.OleFileIO) -> bool:
    """[MS-DOC] FIB: fEncrypted is bit 8 of the flags at offset 0x0A of the WordDocument stream."""
    try:
        head = ole.openstream("WordDocument").read(12)
        return len(head) >= 12 and bool(struct.unpack_from("<H", head, 10)[0] & 0x0100)
    except Exception:
        return False


def xls_encrypted(ole: olefile.OleFileIO) -> bool:
    """[MS-XLS] a FILEPASS record (0x002F) in the workbook globals means the file is encrypted."""
    name = "Workbook" if ole.exists("Workbook") else "Book"
    try:
        data = ole.openstream(name).read(1 << 20)
    except Exception:
        return False
    pos = 0
    while pos + 4 <= len(data):
        rtype, length = struct.unpack_from("<HH", data, pos)
        if rtype == 0x002F:
            return True
        if rtype == 0x000A:  # EOF of the globals substream
            return False
        pos += 4 + length
    return False


def ppt_encrypted(ole: olefile.OleFileIO) -> bool:
    return ole.exists("EncryptedSummary")


class _Msg:
    def __init__(self, ctx: Context, ole: olefile.OleFileIO, where: Where, read_file: ReadFile) -> None:
        self.ctx = ctx
        self.ole = ole
        self.where = where
        self.read_file = read_file

    def _stream(self, path: list[str]) -> bytes | None:
        if not self.ole.exists("/".join(path)):
            return None
        size = self.ole.get_size("/".join(path))
        if size > self.ctx.limits.max_attachment_bytes:
            raise LimitExceeded(Reason.LIMIT_ATTACHMENT_SIZE, f"stream {'/'.join(path)} is {size} bytes")
        data: bytes = self.ole.openstream(path).read()
        return data

    def prop_str(self, prefix: list[str], tag: str) -> str:
        raw = self._stream([*prefix, f"__substg1.0_{tag}001F"])
        if raw is not None:
            return raw.decode("utf-16-le", errors="replace").rstrip("\x00")
        raw = self._stream([*prefix, f"__substg1.0_{tag}001E"])
        if raw is not None:
            return decode_text(raw.rstrip(b"\x00")).text
        return ""

    def prop_bin(self, prefix: list[str], tag: str) -> bytes | None:
        return self._stream([*prefix, f"__substg1.0_{tag}0102"])

    def read(self, prefix: list[str], where: Where, depth: int) -> None:
        ctx = self.ctx
        if depth > ctx.limits.max_mime_depth:
            raise LimitExceeded(Reason.LIMIT_MIME_DEPTH, "Outlook items nested too deeply")
        subject = self.prop_str(prefix, "0037")
        if subject:
            ctx.text(subject, "subject", where, "application/vnd.ms-outlook", field="Subject")
        names = [self.prop_str(prefix, t) for t in ("0C1A", "0042", "0E04", "0E03", "0E02")]
        body = self.prop_str(prefix, "1000")
        html = self.prop_bin(prefix, "1013") or self.prop_str(prefix, "1013").encode()
        if body:
            read_plain_body(ctx, body, where, "text/plain", "utf-16-le")
        elif html:
            read_html(ctx, decode_text(html).text, "body", where)
        else:
            rtf = self.prop_bin(prefix, "1009")
            if rtf:
                try:
                    raw = decompress_lzfu(rtf, ctx.limits.max_attachment_bytes)
                except ValueError as e:
                    raise Unscannable(Reason.PARSE_ERROR, f"Outlook RTF body: {e}") from e
                ctx.take_bytes(len(raw), where)
                read_plain_body(ctx, rtf_to_text(raw), where, "text/rtf", "")
        entries = self.ole.listdir(streams=True, storages=True)
        depth_here = len(prefix)
        storages = sorted({e[depth_here] for e in entries if len(e) > depth_here + 1 and e[:depth_here] == prefix})
        for storage in storages:
            if storage.startswith("__recip_version1.0_"):
                rp = [*prefix, storage]
                names.append(" ".join(x for x in (self.prop_str(rp, "3001"), self.prop_str(rp, "39FE")) if x))
        display = "\n".join(n for n in names if n)
        if display:
            ctx.text(display, "display-name", where, "application/vnd.ms-outlook", field="recipients")
        for storage in storages:
            if not storage.startswith("__attach_version1.0_"):
                continue
            ap = [*prefix, storage]
            name = self.prop_str(ap, "3707") or self.prop_str(ap, "3704") or self.prop_str(ap, "3001")
            name = name or storage
            inner = where.inside(name)
            if self.ole.exists("/".join([*ap, "__substg1.0_3701000D"])):
                if inner.depth > ctx.limits.max_archive_depth:
                    ctx.unscannable(Reason.LIMIT_ARCHIVE_DEPTH, f"{name!r} nested too deeply", inner)
                    continue
                self.read([*ap, "__substg1.0_3701000D"], inner, depth + 1)
                continue
            data = self.prop_bin(ap, "3701")
            if data is None:
                continue
            self.read_file(ctx, data, name, "", inner)


def read_msg(ctx: Context, ole: olefile.OleFileIO, where: Where, read_file: ReadFile) -> None:
    _Msg(ctx, ole, where, read_file).read([], where, 0)
