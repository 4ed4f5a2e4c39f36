"""Builders of the places where data travels outside the plain body (issue 14): TNEF, uuencode,
Office side parts, PDF side channels. Real formats written from their specifications or with the
real libraries; nothing binary is committed."""

from __future__ import annotations

import io
import struct
import zipfile

# -- TNEF ([MS-OXTNEF]) -------------------------------------------------------------------------------


def _tnef_attr(level: int, attr_id: int, attr_type: int, data: bytes) -> bytes:
    return struct.pack("<BHHI", level, attr_id, attr_type, len(data)) + data + struct.pack("<H", sum(data) & 0xFFFF)


def _mapi_unicode(prop_id: int, text: str) -> bytes:
    raw = text.encode("utf-16-le") + b"\x00\x00"
    pad = (-len(raw)) % 4
    return struct.pack("<HHII", 0x001F, prop_id, 1, len(raw)) + raw + b"\x00" * pad


def tnef(subject: str, body: str, attachments: dict[str, bytes]) -> bytes:
    """A winmail.dat: subject (attSubject), a Unicode PR_BODY in attMsgProps, and attachments
    (attAttachRendData, attAttachTitle, attAttachData)."""
    out = struct.pack("<IH", 0x223E9F78, 0x0001)
    out += _tnef_attr(1, 0x9006, 0x0008, struct.pack("<I", 0x00010000))
    out += _tnef_attr(1, 0x9007, 0x0006, struct.pack("<II", 65001, 0))
    out += _tnef_attr(1, 0x8004, 0x0001, subject.encode("utf-8") + b"\x00")
    props = struct.pack("<I", 1) + _mapi_unicode(0x1000, body)
    out += _tnef_attr(1, 0x9003, 0x0006, props)
    for name, data in attachments.items():
        out += _tnef_attr(2, 0x9002, 0x0006, b"\x01\x00\x00\x00" + b"\xff" * 10)
        out += _tnef_attr(2, 0x8010, 0x0001, name.encode("utf-8") + b"\x00")
        out += _tnef_attr(2, 0x800F, 0x0006, data)
    return out


# -- uuencode ------------------------------------------------------------------------------------------


def uuencode(data: bytes, name: str) -> str:
    import binascii

    lines = [f"begin 644 {name}"]
    for i in range(0, len(data), 45):
        lines.append(binascii.b2a_uu(data[i : i + 45]).decode("ascii").rstrip("\n"))
    lines += ["`", "end"]
    return "\n".join(lines) + "\n"


def zip_members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def rezip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()
