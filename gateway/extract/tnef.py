"""TNEF (winmail.dat, application/ms-tnef): what Outlook sends when it wraps a message in its own
format. Read with tnefparse: the message properties (subject and every other text property), the
plain, HTML and compressed RTF bodies, and every attachment as a nested file (an embedded message
is itself TNEF and is read the same way)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from tnefparse.tnef import TNEF

from gateway.extract.charset import decode_text
from gateway.extract.context import Context, LimitExceeded, Unscannable, Where
from gateway.extract.rtf import decompress_lzfu, rtf_to_text
from gateway.extract.text import read_html, read_plain_body
from gateway.unscannable import Reason

logging.getLogger("tnefparse").setLevel(logging.ERROR)

# read_file(ctx, data, name, declared_type, where) -> None, passed in to avoid an import cycle
ReadFile = Callable[[Context, bytes, str, str, Where], None]
_CT = "application/ms-tnef"


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return decode_text(value.rstrip(b"\x00")).text
    if isinstance(value, str):
        return value.rstrip("\x00")
    return ""


def read_tnef(ctx: Context, data: bytes, where: Where, read_file: ReadFile) -> None:
    _check_complete(data)
    try:
        tnef = TNEF(data, do_checksum=False)
    except (LimitExceeded, Unscannable):
        raise
    except Exception as e:
        raise Unscannable(Reason.PARSE_ERROR, f"TNEF: {type(e).__name__}: {e}"[:300]) from e
    props: list[str] = []
    for obj in tnef.msgprops:
        props.extend(_strings(obj.data))
    for prop in tnef.mapiprops:
        props.extend(_strings(prop.data))
    text = "\n".join(p for p in props if p.strip())
    if text:
        ctx.text(text, "attachment", where, _CT, sheet="properties")
    if tnef.body:
        read_plain_body(ctx, _text(tnef.body), where, _CT, "")
    if tnef.htmlbody:
        read_html(ctx, _text(tnef.htmlbody), "body", where, _CT)
    if tnef._rtfbody:
        try:
            rtf = decompress_lzfu(tnef._rtfbody, ctx.limits.max_attachment_bytes)
        except ValueError as e:
            raise Unscannable(Reason.PARSE_ERROR, f"TNEF RTF body: {e}") from e
        ctx.take_bytes(len(rtf), where)
        read_plain_body(ctx, rtf_to_text(rtf), where, "text/rtf", "")
    for i, att in enumerate(tnef.attachments, 1):
        try:
            name = _text(att.long_filename()) or _text(att.name)
        except Exception:
            name = ""
        name = name or f"attachment {i}"
        payload = att.data if isinstance(att.data, bytes) else b""
        read_file(ctx, payload, name, "", where.inside(name))


def _check_complete(data: bytes) -> None:
    """tnefparse reads what is there and stops quietly: a cut or padded stream must not pass as a
    short one. Every attribute must be whole (level, id, length, data, checksum) up to the end."""
    if len(data) < 6 + 11:
        raise Unscannable(Reason.PARSE_ERROR, f"TNEF of {len(data)} bytes holds no attribute")
    pos = 6
    while pos < len(data):
        if pos + 9 > len(data):
            raise Unscannable(Reason.PARSE_ERROR, f"TNEF cut inside an attribute header at byte {pos}")
        length = int.from_bytes(data[pos + 5 : pos + 9], "little")
        end = pos + 9 + length + 2
        if end > len(data):
            raise Unscannable(Reason.PARSE_ERROR, f"TNEF attribute at byte {pos} runs past the end")
        pos = end


def _strings(value: object) -> list[str]:
    """Text values of properties (MAPI strings, recipient rows); binary values are not text."""
    if isinstance(value, str):
        text = value.rstrip("\x00")
        return [text] if text.strip() else []
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    if getattr(value, "attr_type", None) in (0x001E, 0x001F):
        return _strings(getattr(value, "data", None))
    return []
