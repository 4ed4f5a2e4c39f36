"""RTF to text, with the code page (\\ansicpg932, \\fcharset128) applied to \\'hh bytes and \\uN
escapes honoured; also Outlook's compressed RTF (LZFu) as found in .msg files."""

from __future__ import annotations

import re
import struct

_TOKEN = re.compile(
    rb"\\([a-zA-Z]{1,32})(-?\d{1,10})? ?|\\'([0-9a-fA-F]{2})|\\([^a-zA-Z'])|([{}])|([^\\{}\r\n]+)|[\r\n]+"
)
_SKIP_DEST = frozenset(
    b"fonttbl colortbl stylesheet info pict object themedata datastore latentstyles listtable "
    b"listoverridetable rsidtbl generator xmlnstbl mmathPr filetbl revtbl bkmkstart bkmkend "
    b"fldinst colorschememapping wgrffmtfilter pgdsctbl".split()
)
_BREAKS = {b"par": "\n", b"line": "\n", b"row": "\n", b"sect": "\n", b"page": "\n", b"tab": "\t", b"cell": "\t"}
_SPECIAL = {b"~": " ", b"_": "-", b"{": "{", b"}": "}", b"\\": "\\", b"-": ""}
_CHARSET_CP = {128: "cp932", 134: "gbk", 136: "big5", 129: "cp949", 0: "cp1252", 1: "cp1252"}


def rtf_to_text(data: bytes) -> str:
    out: list[str] = []
    pending = bytearray()
    codepage = "cp1252"
    m_cp = re.search(rb"\\ansicpg(\d+)", data[:4096])
    if m_cp:
        codepage = f"cp{int(m_cp.group(1))}"
    elif re.search(rb"\\fcharset128", data[:65536]):
        codepage = "cp932"
    skip = False
    uc = 1
    stack: list[tuple[bool, int]] = []
    to_skip = 0  # fallback characters after \uN
    first_in_group = False

    def flush() -> None:
        if pending:
            try:
                out.append(pending.decode(codepage, errors="replace"))
            except LookupError:
                out.append(pending.decode("cp1252", errors="replace"))
            pending.clear()

    for m in _TOKEN.finditer(data):
        word, arg, hexbyte, special, brace, text = m.groups()
        if hexbyte is not None:
            if to_skip:
                to_skip -= 1
            elif not skip:
                pending.append(int(hexbyte, 16))
            first_in_group = False
            continue
        flush()
        if brace == b"{":
            stack.append((skip, uc))
            first_in_group = True
            continue
        if brace == b"}":
            if stack:
                skip, uc = stack.pop()
            to_skip = 0
            first_in_group = False
            continue
        if special is not None:
            if special == b"*" and first_in_group:
                skip = True
            elif not skip and not to_skip:
                out.append(_SPECIAL.get(special, ""))
            elif to_skip:
                to_skip -= 1
            first_in_group = False
            continue
        if word is not None:
            if first_in_group and word in _SKIP_DEST:
                skip = True
            first_in_group = False
            if word == b"uc" and arg is not None:
                uc = int(arg)
            elif word == b"u" and arg is not None:
                if not skip:
                    code = int(arg)
                    out.append(chr(code + 65536 if code < 0 else code) if -32768 <= code < 65536 else "")
                to_skip = uc
            elif word in (b"ansicpg",) and arg is not None:
                codepage = f"cp{int(arg)}"
            elif not skip and word in _BREAKS:
                out.append(_BREAKS[word])
            continue
        if text is not None:
            first_in_group = False
            if skip:
                continue
            chunk = text
            if to_skip:
                n = min(to_skip, len(chunk))
                chunk = chunk[n:]
                to_skip -= n
            if chunk:
                out.append(chunk.decode(codepage, errors="replace"))
    flush()
    return "".join(out)


_LZFU_PREBUF = (
    b"{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman \\fswiss \\fmodern \\fscript "
    b"\\fdecor MS Sans SerifSymbolArialTimes New RomanCourier{\\colortbl\\red0\\green0\\blue0\r\n\\par "
    b"\\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx"
)


def decompress_lzfu(data: bytes, max_out: int) -> bytes:
    """[MS-OXRTFCP] compressed RTF. Output is capped at `max_out` bytes (ValueError past it)."""
    if len(data) < 16:
        raise ValueError("compressed RTF header too short")
    _comp_size, raw_size, magic, _crc = struct.unpack_from("<IIII", data)
    if magic == 0x414C454D:  # "MELA": stored
        return data[16 : 16 + raw_size]
    if magic != 0x75465A4C:
        raise ValueError("not compressed RTF")
    if raw_size > max_out:
        raise ValueError("compressed RTF larger than the limit")
    window = bytearray(4096)
    window[: len(_LZFU_PREBUF)] = _LZFU_PREBUF
    wpos = len(_LZFU_PREBUF)
    out = bytearray()
    i, n = 16, len(data)
    while i < n and len(out) < raw_size:
        control = data[i]
        i += 1
        for bit in range(8):
            if i >= n:
                break
            if control & (1 << bit):
                if i + 1 >= n:
                    return bytes(out)
                ref = (data[i] << 8) | data[i + 1]
                i += 2
                offset, length = ref >> 4, (ref & 0xF) + 2
                if offset == wpos:
                    return bytes(out)
                for k in range(length):
                    c = window[(offset + k) % 4096]
                    out.append(c)
                    window[wpos] = c
                    wpos = (wpos + 1) % 4096
            else:
                c = data[i]
                i += 1
                out.append(c)
                window[wpos] = c
                wpos = (wpos + 1) % 4096
            if len(out) > max_out:
                raise ValueError("compressed RTF larger than the limit")
    return bytes(out)
