"""Bytes to text for the charsets of Japanese business mail.

Labels lie: "Shift_JIS" mail is really CP932 (①, ㈱, 髙), "ISO-2022-JP" mail carries NEC special
characters and half-width katakana (CP50220-2), "us-ascii" or "iso-8859-1" parts carry Shift_JIS.
So a label is a hint that must decode strictly; otherwise the bytes decide (BOM, escape sequences,
UTF-8 validity, then charset-normalizer), and what still cannot be decoded is counted.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from charset_normalizer import from_bytes

_ALIASES = {
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "ms_kanji": "cp932",
    "csshiftjis": "cp932",
    "windows-31j": "cp932",
    "cp932": "cp932",
    "ms932": "cp932",
    "x-ms-cp932": "cp932",
    "shift_jis-2004": "shift_jis_2004",
    "euc-jp": "euc-jp",
    "x-euc-jp": "euc-jp",
    "eucjp": "euc-jp",
    "cp51932": "euc-jp",
    "iso-2022-jp": "iso-2022-jp",
    "iso-2022-jp-1": "iso-2022-jp",
    "iso-2022-jp-2": "iso-2022-jp",
    "iso-2022-jp-3": "iso-2022-jp",
    "iso-2022-jp-2004": "iso-2022-jp",
    "csiso2022jp": "iso-2022-jp",
    "cp50220": "iso-2022-jp",
    "cp50221": "iso-2022-jp",
    "cp50222": "iso-2022-jp",
    "utf8": "utf-8",
    "unicode-1-1-utf-7": "utf-7",
}
# Labels that decode any byte string, so a successful decode proves nothing.
_PERMISSIVE = re.compile(r"^(us-?ascii|ascii|iso-?8859-\d+|latin-?\d|windows-125\d|cp125\d|cp437|l\d)$")
_ESC_JIS = re.compile(rb"\x1b[\$\(][@BJIDO]|\x1b\$\([DOPQ]")


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str
    charset: str
    replaced: int  # characters that could not be decoded (now U+FFFD)


def _jis_pair_to_sjis(j1: int, j2: int) -> bytes:
    s1 = ((j1 + 1) >> 1) + (0x70 if j1 <= 0x5E else 0xB0)
    if j1 & 1:
        s2 = j2 + 0x1F
        if s2 >= 0x7F:
            s2 += 1
    else:
        s2 = j2 + 0x7E
    return bytes((s1, s2))


def decode_iso2022jp(data: bytes) -> tuple[str, int]:
    """ISO-2022-JP as Windows sends it (CP5022x): JIS X 0208 plus NEC and IBM extensions via CP932,
    half-width katakana by ESC ( I or SO/SI. Returns the text and the count of undecodable chars."""
    out: list[str] = []
    bad = 0
    mode = "ascii"
    shifted = False
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        if b == 0x1B:
            seq = data[i : i + 4]
            if seq.startswith((b"\x1b$B", b"\x1b$@")):
                mode, i = "jis", i + 3
            elif seq.startswith(b"\x1b$(D"):
                mode, i = "jisx0212", i + 4
            elif seq.startswith((b"\x1b$(Q", b"\x1b$(O")):
                mode, i = "jisx0213", i + 4
            elif seq.startswith((b"\x1b(B", b"\x1b(J")):
                mode, i = "ascii", i + 3
            elif seq.startswith(b"\x1b(I"):
                mode, i = "kana", i + 3
            else:
                out.append("\ufffd")
                bad += 1
                i += 1
            continue
        if b == 0x0E:
            shifted, i = True, i + 1
            continue
        if b == 0x0F:
            shifted, i = False, i + 1
            continue
        if b in (0x0A, 0x0D):
            out.append(chr(b))  # keep the mode: some encoders do not reset it before a line end
            i += 1
            continue
        if shifted or mode == "kana":
            if 0x21 <= b <= 0x5F:
                out.append(chr(0xFF61 + b - 0x21))
            else:
                out.append(chr(b))
            i += 1
            continue
        if mode == "ascii":
            out.append(chr(b) if b < 0x80 else "\ufffd")
            bad += b >= 0x80
            i += 1
            continue
        if i + 1 >= n:
            out.append("\ufffd")
            bad += 1
            break
        j1, j2 = b, data[i + 1]
        i += 2
        if not (0x21 <= j1 <= 0x7E and 0x21 <= j2 <= 0x7E):
            out.append("\ufffd")
            bad += 1
            continue
        try:
            if mode == "jis":
                out.append(_jis_pair_to_sjis(j1, j2).decode("cp932"))
            elif mode == "jisx0212":
                out.append(bytes((0x8F, j1 | 0x80, j2 | 0x80)).decode("euc_jp"))
            else:
                out.append(bytes((j1 | 0x80, j2 | 0x80)).decode("euc_jis_2004"))
        except UnicodeDecodeError:
            out.append("\ufffd")
            bad += 1
    return "".join(out), bad


def _codec(label: str) -> str | None:
    label = label.strip().strip('"').lower()
    name = _ALIASES.get(label, label)
    try:
        return codecs.lookup(name).name if name != "iso-2022-jp" else "iso-2022-jp"
    except LookupError:
        return None


def _strict(data: bytes, codec: str) -> str | None:
    if codec == "iso-2022-jp":
        text, bad = decode_iso2022jp(data)
        return text if bad == 0 else None
    if codec in ("euc_jp", "euc-jp"):
        try:
            return data.decode("euc_jp")
        except UnicodeDecodeError:
            return _eucjp_via_cp932(data)
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _eucjp_via_cp932(data: bytes) -> str | None:
    """EUC-JP from Windows (CP51932) carries NEC row 13 (①, ㈱): map through JIS to CP932."""
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        if b < 0x80:
            out.append(b)
            i += 1
        elif b == 0x8E and i + 1 < n:
            out.append(data[i + 1])
            i += 2
        elif 0xA1 <= b <= 0xFE and i + 1 < n and 0xA1 <= data[i + 1] <= 0xFE:
            out += _jis_pair_to_sjis(b & 0x7F, data[i + 1] & 0x7F)
            i += 2
        else:
            return None
    try:
        return out.decode("cp932")
    except UnicodeDecodeError:
        return None


def _bom(data: bytes) -> tuple[str, int] | None:
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8", 3
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return ("utf-32-le" if data.startswith(codecs.BOM_UTF32_LE) else "utf-32-be"), 4
    if data.startswith(codecs.BOM_UTF16_LE):
        return "utf-16-le", 2
    if data.startswith(codecs.BOM_UTF16_BE):
        return "utf-16-be", 2
    return None


def _detect(data: bytes) -> str | None:
    best = from_bytes(data[:200_000], steps=5, chunk_size=1024).best()
    return best.encoding if best is not None else None


def decode_text(data: bytes, declared: str | None = None) -> Decoded:
    """Decode `data` using the declared charset if it is true, else what the bytes show."""
    if not data:
        return Decoded("", declared or "", 0)
    bom = _bom(data)
    if bom:
        bom_codec, skip = bom
        decoded = data[skip:].decode(bom_codec, errors="replace")
        return Decoded(decoded, bom_codec, decoded.count("\ufffd"))
    if _ESC_JIS.search(data[:100_000]) and (jis := _strict(data, "iso-2022-jp")) is not None:
        return Decoded(jis, "iso-2022-jp", 0)
    codec = _codec(declared) if declared else None
    if codec and not (_PERMISSIVE.match(codec) or _PERMISSIVE.match(declared or "")):
        text_or_none = _strict(data, codec)
        if text_or_none is not None:
            return Decoded(text_or_none, codec, 0)
    try:
        return Decoded(data.decode("ascii" if data.isascii() else "utf-8"), "utf-8", 0)
    except UnicodeDecodeError:
        pass
    if codec and _PERMISSIVE.match(codec) and not _looks_japanese(data):
        text = data.decode(codec, errors="replace")
        return Decoded(text, codec, text.count("\ufffd"))
    candidates = [(g, t) for g in ("cp932", "euc-jp") if (t := _strict(data, g)) is not None and _plausible_japanese(t)]
    if candidates:
        # EUC-JP bytes are also valid CP932 (as half-width katakana): prefer kanji and hiragana.
        guess, text = max(candidates, key=lambda c: len(_IDEOGRAPHIC.findall(c[1][:100_000])))
        return Decoded(text, guess, 0)
    detected = _detect(data)
    if detected:
        detected_codec = _codec(detected) or detected
        text = data.decode(detected_codec, errors="replace")
        return Decoded(text, detected_codec, text.count("\ufffd"))
    fallback = codec if codec else "cp932"
    text = data.decode(fallback, errors="replace")
    return Decoded(text, fallback, text.count("\ufffd"))


# Kana, kanji, CJK punctuation, full-width forms, circled numbers and ㈱-style symbols.
_KANA_KANJI = re.compile(r"[\u2460-\u24ff\u3000-\u30ff\u3200-\u33ff\u4e00-\u9fff\uf900-\ufaff\uff01-\uff9f]")


_IDEOGRAPHIC = re.compile(r"[\u3041-\u309f\u4e00-\u9fff]")


def _plausible_japanese(text: str) -> bool:
    text = text[:100_000]
    high = len(text) - len(text.encode("ascii", "ignore"))
    return high > 0 and len(_KANA_KANJI.findall(text)) >= 0.6 * high


def _looks_japanese(data: bytes) -> bool:
    for guess in ("cp932", "euc-jp"):
        text = _strict(data, guess)
        if text is not None and _plausible_japanese(text):
            return True
    return False
