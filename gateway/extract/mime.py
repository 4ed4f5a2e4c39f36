"""Walk a message: headers (Subject, display names), every MIME part, forwarded and attached
messages; flag ambiguous structure and read every interpretation of it.

Part numbers follow IMAP: "1", "2.1"; a top-level single-part body is "1". An alternative
interpretation of an ambiguous part is numbered with "#k" ("#2" for the message itself).
"""

from __future__ import annotations

import dataclasses
import email
import email.utils
import re
from email import errors as email_errors
from email.header import Header, decode_header
from email.message import Message
from email.policy import compat32

from gateway.extract.charset import decode_text
from gateway.extract.context import Context, LimitExceeded, Unscannable, Where
from gateway.extract.files import read_data_images, read_file
from gateway.extract.text import decode, read_calendar, read_html, read_plain_body
from gateway.extract.uu import read_uuencoded
from gateway.mail.mimeparse import parse_bytes
from gateway.unscannable import Reason

_ADDRESS_FIELDS = ("From", "Sender", "Reply-To", "To", "Cc", "Bcc")
# Header fields that are structure, routing or trace, not content: everything else is read as text.
_STRUCTURE = frozenset(
    [
        "subject",
        "content-type",
        "content-transfer-encoding",
        "content-disposition",
        "content-id",
        "content-location",
        "content-length",
        "mime-version",
        "received",
        "return-path",
        "message-id",
        "in-reply-to",
        "references",
        "date",
        "dkim-signature",
        "domainkey-signature",
        "arc-seal",
        "arc-message-signature",
        "arc-authentication-results",
        "authentication-results",
        "received-spf",
    ]
)
_SIGNATURES = {"application/pkcs7-signature", "application/x-pkcs7-signature", "application/pgp-signature"}
_ENCRYPTED = {"application/pkcs7-mime", "application/x-pkcs7-mime", "application/pgp-encrypted"}
_BROKEN = (
    email_errors.StartBoundaryNotFoundDefect,
    email_errors.MultipartInvariantViolationDefect,
    email_errors.NoBoundaryInMultipartDefect,
)
_MAX_ALTERNATIVES = 4


def parse(raw: bytes) -> Message:
    return parse_bytes(raw)  # email.message_from_bytes(raw, policy=compat32), cheaper on long bodies


# -- header text --------------------------------------------------------------------------------


def header_text(value: object) -> str:
    """Decode encoded words (any charset label, lying or not) and raw 8-bit header bytes."""
    if value is None:
        return ""
    if isinstance(value, Header):
        chunks = decode_header(value)
    else:
        text = str(value)
        if "=?" not in text:
            return _raw8(text)
        try:
            chunks = decode_header(text)
        except Exception:
            return _raw8(text)
    out: list[str] = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            out.append(_raw8(chunk))
        else:
            label = None if charset in (None, "unknown-8bit") else charset
            out.append(decode_text(chunk, label).text)
    return "".join(out)


def _raw8(text: str) -> str:
    try:
        raw = text.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return text
    return raw.decode("ascii") if raw.isascii() else decode_text(raw).text


def display_names(value: str) -> list[str]:
    """Display names and comments of an address list (content only; never used to route mail)."""
    names: list[str] = []
    for item in _split_addresses(value):
        name = item
        if "<" in item:
            name = item[: item.index("<")]
        elif "(" in item and ")" in item:
            name = item[item.index("(") + 1 : item.rindex(")")]
        else:
            continue
        name = name.strip().strip('"').strip()
        if name:
            names.append(name.replace('\\"', '"'))
    return names


def _split_addresses(value: str) -> list[str]:
    items: list[str] = []
    buf: list[str] = []
    quoted, angle = False, 0
    for c in value:
        if c == '"':
            quoted = not quoted
        elif not quoted and c == "<":
            angle += 1
        elif not quoted and c == ">":
            angle = max(0, angle - 1)
        if c == "," and not quoted and not angle:
            items.append("".join(buf))
            buf = []
        else:
            buf.append(c)
    items.append("".join(buf))
    return [i.strip() for i in items if i.strip()]


def filename(part: Message) -> str:
    names = filenames(part)
    return names[0] if names else ""


def filenames(part: Message) -> list[str]:
    """Every name the part gives itself (Content-Disposition filename, Content-Type name; RFC 2231
    and encoded words decoded): clients differ in which one they show, so all of them are read."""
    names: list[str] = []
    for header, param in (("content-disposition", "filename"), ("content-type", "name")):
        try:
            name = _param_name(part, header, param)
        except Exception:  # a parameter too broken to split: the raw header is still read as a field
            continue
        if name and name not in names:
            names.append(name)
    return names


def _param_name(part: Message, header: str, param: str) -> str:
    raw = part.get_param(param, None, header)
    if raw is None:
        return ""
    if isinstance(raw, str) and "\ufffd" in raw:  # raw 8-bit bytes in the header: decode the header
        m = re.search(rf'{param}\s*=\s*(?:"([^"]*)"|([^;\s]+))', header_text(part.get(header)), re.I)
        if m:
            return (m.group(1) or m.group(2) or "").strip()
    if isinstance(raw, tuple):  # RFC 2231: (charset, language, value as latin-1 bytes)
        charset, _lang, value = raw
        text = decode_text(bytes(value, "raw-unicode-escape"), charset or None).text
    else:
        text = email.utils.unquote(str(raw))
    return header_text(text).strip()


# -- the walk -----------------------------------------------------------------------------------


def read_message(ctx: Context, msg: Message, where: Where, number: str, depth: int, raw: bytes | None = None) -> None:
    _headers(ctx, msg, dataclasses.replace(where, part=number))
    _walk(ctx, msg, where, number, depth, raw)


def read_attached_message(ctx: Context, data: bytes, where: Where) -> None:
    """An attached .eml file: its own parts are numbered from "1" again, under its name."""
    ctx.take_bytes(0, where)
    read_message(ctx, parse(data), where, "", 0, data)


def _headers(ctx: Context, msg: Message, where: Where) -> None:
    # Every Subject field: with two, clients differ in which one they show.
    subject = "\n".join(t for t in (header_text(v) for v in msg.get_all("Subject") or []) if t)
    if subject:
        ctx.text(subject, "subject", where, field="Subject")
    fields: dict[str, tuple[str, list[str]]] = {}
    for name, value in msg.items():
        fields.setdefault(name.lower(), (name, []))[1].append(value)
    for name in _ADDRESS_FIELDS:
        values = fields.pop(name.lower(), ("", []))[1]
        names = [n for v in values for n in display_names(header_text(v))]
        if names:
            ctx.text("\n".join(names), "display-name", where, field=name)
    for key, (name, values) in fields.items():
        if key in _STRUCTURE:
            continue
        texts = [header_text(v) for v in values]
        if _addressy(key):  # carries addresses like To/Cc: its display names are read, as theirs are
            names = [n for t in texts for n in display_names(t)]
            if names:
                ctx.text("\n".join(names), "display-name", where, field=name)
            continue
        ctx.text("\n".join(texts), "header", where, field=name)


def _addressy(key: str) -> bool:
    return key.startswith(("resent-", "list-")) or key.endswith(
        ("-to", "-from", "-cc", "-bcc", "sender", "receiver", "recipient")
    )


def _walk(
    ctx: Context, part: Message, where: Where, number: str, depth: int, raw: bytes | None = None, alt: bool = False
) -> None:
    label = number or "1"
    here = dataclasses.replace(where, part=label)
    ctx.parts += 1
    if ctx.parts > ctx.limits.max_mime_parts:
        raise LimitExceeded(Reason.LIMIT_MIME_PARTS, f"more than {ctx.limits.max_mime_parts} MIME parts")
    if depth > ctx.limits.max_mime_depth:
        raise LimitExceeded(Reason.LIMIT_MIME_DEPTH, f"MIME nested deeper than {ctx.limits.max_mime_depth}")
    if not alt:
        _ambiguity(ctx, part, where, number, depth, raw)
    ctype = part.get_content_type()
    if ctype == "message/partial":
        ctx.unscannable(
            Reason.PARTIAL_MESSAGE,
            f"message/partial {part.get_param('number') or '?'} of {part.get_param('total') or '?'}: "
            "the rest of the message travels separately",
            here,
        )
    if ctype == "message/external-body":
        access = part.get_param("access-type") or "?"
        ctx.unscannable(
            Reason.EXTERNAL_BODY,
            f"message/external-body (access-type {str(access)[:40]}): the content is stored elsewhere and "
            "fetched by the recipient's client",
            here,
        )
    if ctype in ("message/rfc822", "message/global") and isinstance(part.get_payload(), list):
        inner = part.get_payload(0)
        if not isinstance(inner, Message):
            raise Unscannable(Reason.MALFORMED_MIME, f"{ctype} without a message inside")
        name = filename(part)
        inner_where = where.inside(name) if name else where
        if name:
            ctx.count_file(inner_where)
            if inner_where.depth > ctx.limits.max_archive_depth:
                ctx.unscannable(Reason.LIMIT_ARCHIVE_DEPTH, f"{name!r} nested too deeply", inner_where)
                return
        read_message(ctx, inner, inner_where, label if number else "1", depth + 1)
        return
    if part.is_multipart():
        if ctype == "multipart/encrypted":
            ctx.unscannable(Reason.ENCRYPTED_MESSAGE, "multipart/encrypted (PGP/MIME)", here)
            return
        _around(ctx, part, here)
        for i, sub in enumerate(part.get_payload(), 1):
            _walk(ctx, sub, where, f"{number}.{i}" if number else str(i), depth + 1, alt=alt)
        return
    if part.get_content_maintype() == "multipart" or any(isinstance(d, _BROKEN) for d in part.defects):
        ctx.unscannable(Reason.MALFORMED_MIME, f"{ctype} whose parts cannot be delimited; read as text", here)
    _leaf(ctx, part, where, label, ctype)


def _around(ctx: Context, part: Message, here: Where) -> None:
    """The text before the first and after the last boundary: not a part, yet it travels, and a
    client that does not speak MIME shows it."""
    for text, place in ((part.preamble, "MIME preamble"), (part.epilogue, "MIME epilogue")):
        if text and not text.isspace():
            ctx.text(_raw8(text), "hidden", here, field=place)


def _leaf(ctx: Context, part: Message, where: Where, label: str, ctype: str) -> None:
    here = dataclasses.replace(where, part=label)
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        payload = str(payload or "").encode("utf-8", "surrogateescape")
    ctx.take_bytes(len(payload), here)
    names = filenames(part)
    name = names[0] if names else ""
    disposition = (part.get_content_disposition() or "").lower()
    if ctype in _SIGNATURES and payload[:1] in (b"\x30", b"-"):
        return  # a detached signature carries no content of its own
    if ctype in _ENCRYPTED or (name.lower().endswith(".p7m")):
        ctx.unscannable(
            Reason.ENCRYPTED_MESSAGE, f"{ctype} (S/MIME or PGP encrypted)", here.inside(name) if name else here
        )
        return
    main = part.get_content_maintype()
    if not name and disposition != "attachment" and (main == "text" or main == "multipart"):
        sub = part.get_content_subtype()
        charset = part.get_content_charset()
        if sub in ("plain", "html", "calendar", "x-vcalendar", "enriched", "richtext") or main == "multipart":
            dec = decode(ctx, payload, charset, here)
            if b"-----BEGIN PGP MESSAGE-----" in payload:
                ctx.unscannable(Reason.ENCRYPTED_MESSAGE, "inline PGP message", here)
            if sub == "html":
                read_html(ctx, dec.text, "body", here, ctype, dec.charset)
                read_data_images(ctx, dec.text, here)
            elif sub in ("calendar", "x-vcalendar"):
                read_calendar(ctx, dec.text, "calendar", here, ctype)
            else:
                text = dec.text
                if "begin" in text:
                    text = read_uuencoded(ctx, text, here, read_file)
                read_plain_body(ctx, text, here, ctype, dec.charset)
            return
    name = name or f"part {label}"
    if len(names) > 1:
        ctx.text("\n".join(names[1:]), "filename", here.inside(name), field="file name")
    read_file(ctx, payload, name, ctype, here.inside(name))


# -- ambiguity ----------------------------------------------------------------------------------

_CT = re.compile(rb"^content-type\s*:", re.I)
_CTE = re.compile(rb"^content-transfer-encoding\s*:", re.I)
_BOUNDARY = re.compile(rb"""(?:^|;)\s*boundary\*?\s*=\s*(?:"([^"]*)"|([^;\s]+))""", re.I)


def _split(raw: bytes) -> tuple[list[bytes], bytes]:
    m = re.search(rb"\r?\n\r?\n", raw)
    head, body = (raw[: m.start()], raw[m.end() :]) if m else (raw, b"")
    fields: list[bytes] = []
    for line in re.split(rb"\r?\n", head):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += b" " + line.strip()
        else:
            fields.append(line)
    return fields, body


def alternatives(raw: bytes) -> list[tuple[Reason, bytes]]:
    """Other readings of a part whose headers are ambiguous. The parser used the first Content-Type
    and the first boundary; a mail client may use another, so each other one is read too."""
    fields, body = _split(raw)
    cts = [f for f in fields if _CT.match(f)]
    ctes = [f for f in fields if _CTE.match(f)]
    others = [f for f in fields if not _CT.match(f) and not _CTE.match(f)]
    out: list[tuple[Reason, bytes]] = []

    def build(ct: list[bytes], cte: list[bytes]) -> bytes:
        return b"\r\n".join([*others, *ct, *cte]) + b"\r\n\r\n" + body

    for alt in cts[1:]:
        if alt.split(b":", 1)[1].strip().lower() != cts[0].split(b":", 1)[1].strip().lower():
            out.append((Reason.DUPLICATE_CONTENT_TYPE, build([alt], ctes[:1])))
    if cts:
        value = cts[0].split(b":", 1)[1]
        bounds = [a if a is not None and (a or not b) else b for a, b in _BOUNDARY.findall(value)]
        distinct = list(dict.fromkeys(bounds))
        if len(bounds) > 1:
            ctype = value.split(b";", 1)[0].strip()
            if len(distinct) == 1:
                out.append((Reason.DUPLICATE_BOUNDARY, b""))
            for b in distinct[1:]:
                out.append(
                    (
                        Reason.DUPLICATE_BOUNDARY,
                        build([b"Content-Type: " + ctype + b'; boundary="' + b + b'"'], ctes[:1]),
                    )
                )
    for alt in ctes[1:]:
        if alt.split(b":", 1)[1].strip().lower() != ctes[0].split(b":", 1)[1].strip().lower():
            out.append((Reason.DUPLICATE_TRANSFER_ENCODING, build(cts[:1], [alt])))
    return out


def _ambiguity(ctx: Context, part: Message, where: Where, number: str, depth: int, raw: bytes | None) -> None:
    suspicious = (
        len(part.get_all("Content-Type") or []) > 1
        or len(part.get_all("Content-Transfer-Encoding") or []) > 1
        or str(part.get("Content-Type", "")).lower().count("boundary") > 1
    )
    if not suspicious:
        return
    here = dataclasses.replace(where, part=number or "1")
    if raw is None:
        try:
            raw = part.as_bytes(policy=compat32)
        except Exception as e:
            ctx.unscannable(Reason.MALFORMED_MIME, f"ambiguous part could not be re-read: {e}", here)
            return
    alts = alternatives(raw)
    if not alts:
        alts = [(Reason.DUPLICATE_CONTENT_TYPE, b"")]
    for reason, _ in alts:
        ctx.ambiguous(reason, f"{reason.value} in part {number or '1'}; every interpretation is read", here)
    for k, (_reason, variant) in enumerate([a for a in alts if a[1]][:_MAX_ALTERNATIVES], 2):
        alt_number = f"{number}#{k}"
        try:
            _walk(ctx, parse(variant), where, alt_number, depth + 1, variant, alt=True)
        except (LimitExceeded, Unscannable):
            raise
        except Exception as e:
            ctx.unscannable(Reason.MALFORMED_MIME, f"interpretation {k}: {type(e).__name__}: {e}", here)
