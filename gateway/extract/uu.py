"""Uuencoded (`begin 644 name` ... `end`) and `uuencode -m` (`begin-base64` ... `====`) blocks
inside a text body or a text file: old clients and scripts still attach files this way, and a
client that knows the format shows them as attachments. Each block is decoded and read as a file
of its own name; the text around it is returned without it."""

from __future__ import annotations

import binascii
import re
from collections.abc import Callable

from gateway.extract.context import Context, Where
from gateway.unscannable import Reason

# read_file(ctx, data, name, declared_type, where) -> None, passed in to avoid an import cycle
ReadFile = Callable[[Context, bytes, str, str, Where], None]

_UU_BEGIN = re.compile(r"^begin(-base64)? +[0-7]{3,4} +(.+?)[ \t]*$", re.M)
_UU_END = re.compile(r"^(?:end|====)[ \t]*$", re.M)


def read_uuencoded(ctx: Context, text: str, here: Where, read_file: ReadFile) -> str:
    """Decode each uuencoded block of a text body and read it as an attachment of its own name;
    return the text without the blocks (their characters are not words)."""
    out: list[str] = []
    pos = 0
    for m in _UU_BEGIN.finditer(text):
        if m.start() < pos:
            continue
        end = _UU_END.search(text, m.end())
        stop = end.start() if end else len(text)
        block = text[m.end() : stop]
        name = m.group(2).strip() or "uuencoded"
        inner = here.inside(name)
        data = _uudecode(block, bool(m.group(1)))
        if data is None or end is None:
            ctx.unscannable(Reason.PARSE_ERROR, f"uuencoded block {name!r} cannot be decoded", inner)
        if data:
            ctx.take_bytes(len(data), inner)
            read_file(ctx, data, name, "", inner)
        out.append(text[pos : m.start()])
        pos = end.end() if end else len(text)
    out.append(text[pos:])
    return "".join(out)


def _uudecode(block: str, base64: bool) -> bytes | None:
    try:
        raw = block.encode("ascii")
    except UnicodeEncodeError:
        return None
    if base64:
        try:
            return binascii.a2b_base64(b"".join(raw.split()))
        except binascii.Error:
            return None
    out = bytearray()
    for line in raw.splitlines():
        if not line.strip():
            continue
        n = (line[0] - 32) & 63
        if n == 0:
            continue
        try:
            out += binascii.a2b_uu(line[: (n * 4 + 5) // 3 + 1])
        except binascii.Error:
            try:  # some encoders pad short lines oddly: pad with spaces as uudecode does
                out += binascii.a2b_uu(line.ljust((n * 4 + 5) // 3 + 1)[: (n * 4 + 5) // 3 + 1])
            except binascii.Error:
                return None
    return bytes(out)
