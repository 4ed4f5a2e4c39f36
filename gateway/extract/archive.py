"""ZIP opened defensively: the entry count is read from the end record before zipfile builds its
list, overlapping entries (quoted-overlap bombs) are refused, and members are read in chunks that
are counted against the budgets, whatever sizes the headers declare."""

from __future__ import annotations

import io
import itertools
import struct
import zipfile
from collections import OrderedDict

from gateway.extract.context import Context, LimitExceeded, Unscannable, Where
from gateway.extract.ooxml import refuse_doctype
from gateway.unscannable import Reason

_CHUNK = 1 << 16


def _entry_count(data: bytes) -> int:
    """Entries declared by the end-of-central-directory record (zip64 aware)."""
    pos = data.rfind(b"PK\x05\x06", max(0, len(data) - 65557))
    if pos < 0:
        raise Unscannable(Reason.PARSE_ERROR, "ZIP end-of-central-directory record not found")
    count: int = struct.unpack_from("<H", data, pos + 10)[0]
    loc = pos - 20
    if loc >= 0 and data[loc : loc + 4] == b"PK\x06\x07":
        z64 = struct.unpack_from("<Q", data, loc + 8)[0]
        if 0 <= z64 < len(data) - 56 and data[z64 : z64 + 4] == b"PK\x06\x06":
            count = max(count, struct.unpack_from("<Q", data, z64 + 32)[0])
    return count


def open_zip(data: bytes, ctx: Context, where: Where) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    limit = ctx.limits.max_archive_entries
    if _entry_count(data) > limit:
        raise LimitExceeded(Reason.LIMIT_ARCHIVE_ENTRIES, f"more than {limit} entries in {where.label}")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, struct.error) as e:
        raise Unscannable(Reason.PARSE_ERROR, f"ZIP: {e}") from e
    infos = zf.infolist()
    if len(infos) > limit:
        raise LimitExceeded(Reason.LIMIT_ARCHIVE_ENTRIES, f"more than {limit} entries in {where.label}")
    _refuse_overlap(data, infos)
    return zf, infos


def _refuse_overlap(data: bytes, infos: list[zipfile.ZipInfo]) -> None:
    spans: list[tuple[int, int, str]] = []
    for info in infos:
        start = info.header_offset
        if start < 0 or start + 30 > len(data) or data[start : start + 4] != b"PK\x03\x04":
            raise Unscannable(Reason.PARSE_ERROR, f"ZIP: bad local header for {info.filename!r}")
        name_len, extra_len = struct.unpack_from("<HH", data, start + 26)
        spans.append((start, start + 30 + name_len + extra_len + info.compress_size, info.filename))
    spans.sort()
    for (_, end, name), (start, _, other) in itertools.pairwise(spans):
        if start < end:
            raise Unscannable(Reason.ZIP_BOMB, f"ZIP entries {name!r} and {other!r} overlap")


def member_name(info: zipfile.ZipInfo) -> str:
    """Names without the UTF-8 flag are CP932 in Japanese archives, not CP437 as the spec says."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        raw = info.filename.encode("cp437")
    except UnicodeEncodeError:
        return info.filename
    for codec in ("utf-8", "cp932"):
        try:
            return raw.decode(codec)
        except UnicodeDecodeError:
            continue
    return info.filename


def encryption(info: zipfile.ZipInfo) -> str | None:
    if not info.flag_bits & 0x1:
        return None
    return "AES" if info.compress_type == 99 else "ZipCrypto"


def read_member(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, ctx: Context, where: Where, data: bytes | None = None
) -> bytes:
    """The member's bytes, read in chunks counted against the budgets. `data`, the archive's bytes,
    lets a large deflated member whose compressed bytes were inflated before be taken from memory."""
    kind = encryption(info)
    if kind:
        raise Unscannable(Reason.ENCRYPTED_ZIP, f"{member_name(info)!r} is encrypted ({kind})")
    cap = ctx.limits.max_attachment_bytes
    compressed = _compressed(data, info) if data is not None else None
    if compressed is not None:
        known = _inflated(info, compressed)
        if known is not None:
            try:
                zf.open(info).close()  # the local header checked as for a reading (name, flags)
            except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError, ValueError) as e:
                raise Unscannable(Reason.PARSE_ERROR, f"ZIP member {member_name(info)!r}: {e}") from e
            done = 0
            while done < len(known):  # the budgets counted chunk by chunk, as the reading below does
                step = min(_CHUNK, len(known) - done)
                ctx.take_bytes(step, where)
                done += step
                if done > cap:
                    raise LimitExceeded(
                        Reason.LIMIT_ATTACHMENT_SIZE, f"{member_name(info)!r} decompresses to more than {cap} bytes"
                    )
            return known
    buf = bytearray()
    try:
        with zf.open(info) as f:
            while chunk := f.read(_CHUNK):
                ctx.take_bytes(len(chunk), where)
                buf += chunk
                if len(buf) > cap:
                    raise LimitExceeded(
                        Reason.LIMIT_ATTACHMENT_SIZE,
                        f"{member_name(info)!r} decompresses to more than {cap} bytes",
                    )
    except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError, ValueError) as e:
        raise Unscannable(Reason.PARSE_ERROR, f"ZIP member {member_name(info)!r}: {e}") from e
    out = bytes(buf)
    if compressed is not None:
        _remember_inflated(info, compressed, out)
    return out


# Large deflated members inflated before, by their compressed bytes: the side parts of a template
# (styles, stylesWithEffects: 300-800 KB of XML from 12-14 KB of deflate) come in document after
# document with the same compressed bytes, and zipfile inflates them and computes their CRC again
# (0.25 ms each). What a member decompresses to is a function of its compressed bytes, its method,
# the size and CRC-32 its entry declares: those are the key, and the compressed bytes are compared
# whole (memcmp). Only readings that succeeded are kept; a hit still opens the member (its local
# header checked) and counts the budgets as a reading does. At most _INFLATED_ENTRIES members and
# _INFLATED_BYTES of their decompressed bytes, the least recently used dropped first.
_INFLATED_MIN = 16 * 1024  # decompressed size from which a member is remembered
_INFLATED_ENTRIES = 64
_INFLATED_BYTES = 32 << 20
_INFLATED: OrderedDict[tuple[int, int, int, int], tuple[bytes, bytes]] = OrderedDict()


def _compressed(data: bytes, info: zipfile.ZipInfo) -> bytes | None:
    """The member's compressed bytes as zipfile reads them (after its local header), for a large
    deflated member whose bytes are all there; None for any other."""
    if info.compress_type != zipfile.ZIP_DEFLATED or info.file_size < _INFLATED_MIN or info.flag_bits & 0x1:
        return None
    start = info.header_offset
    if start < 0 or start + 30 > len(data) or data[start : start + 4] != b"PK\x03\x04":
        return None
    name_len, extra_len = struct.unpack_from("<HH", data, start + 26)
    begin = start + 30 + name_len + extra_len
    if begin + info.compress_size > len(data):
        return None
    return data[begin : begin + info.compress_size]


def _inflated(info: zipfile.ZipInfo, compressed: bytes) -> bytes | None:
    key = (info.compress_type, info.CRC, info.file_size, len(compressed))
    held = _INFLATED.get(key)
    if held is None or held[0] != compressed:
        return None
    _INFLATED.move_to_end(key)
    return held[1]


def _remember_inflated(info: zipfile.ZipInfo, compressed: bytes, out: bytes) -> None:
    _INFLATED[(info.compress_type, info.CRC, info.file_size, len(compressed))] = (compressed, out)
    held = sum(len(v[1]) for v in _INFLATED.values())
    while _INFLATED and (len(_INFLATED) > _INFLATED_ENTRIES or held > _INFLATED_BYTES):
        _, (_, dropped) = _INFLATED.popitem(last=False)
        held -= len(dropped)


def scan_members(
    zf: zipfile.ZipFile,
    infos: list[zipfile.ZipInfo],
    ctx: Context,
    where: Where,
    keep: set[str] | None,
    data: bytes | None = None,
) -> dict[str, bytes]:
    """Read every member of an Office/ODF package through the budgets, refusing DOCTYPEs (entity
    bombs) in XML in any encoding; return the members named in `keep` (by lower-case prefix match;
    None keeps every member)."""
    kept: dict[str, bytes] = {}
    for info in infos:
        if info.is_dir():
            continue
        if info.flag_bits & 0x1:
            raise Unscannable(Reason.ENCRYPTED_OFFICE, f"package member {info.filename!r} is encrypted")
        blob = read_member(zf, info, ctx, where, data)
        lower = info.filename.lower()
        if lower.endswith((".xml", ".rels", ".vml")) or lower == "mimetype":
            refuse_doctype(blob, info.filename)
        if keep is None or any(lower.startswith(k) for k in keep):
            kept[info.filename] = blob
    return kept
