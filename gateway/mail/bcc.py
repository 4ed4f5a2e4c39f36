"""rewrite_bcc: move external addresses shown in To/Cc out of sight (the envelope keeps them, so
they still receive the message as Bcc recipients). A pure function over the raw bytes: only the
To and Cc header fields change; the body and every other header stay byte for byte.
"""

from __future__ import annotations

import re

from gateway.mail.addresses import AddressError, parse_address, parse_address_list

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_FIELD = re.compile(rb"^(To|Cc)[ \t]*:", re.IGNORECASE)
UNDISCLOSED = b"undisclosed-recipients:;"


def _fields(head: bytes) -> list[bytes]:
    """Header fields with their folded continuation lines, line endings kept."""
    lines = head.splitlines(keepends=True)
    fields: list[bytes] = []
    for line in lines:
        if fields and line[:1] in (b" ", b"\t"):
            fields[-1] += line
        else:
            fields.append(line)
    return fields


def _normalised(address: str) -> str:
    try:
        return parse_address(address).normalised
    except AddressError:
        return address.lower()


def _split(value: str) -> tuple[list[str], bool]:
    """Top-level comma-separated elements (quotes, comments and <...> respected); and whether the
    value uses group syntax (name: a, b;)."""
    items, cur, depth, quoted, angle, group = [], [], 0, False, False, False
    i = 0
    while i < len(value):
        c = value[i]
        if quoted:
            if c == "\\" and i + 1 < len(value):
                cur.append(value[i : i + 2])
                i += 2
                continue
            quoted = c != '"'
        elif c == '"':
            quoted = True
        elif c == "(":
            depth += 1
        elif c == ")" and depth:
            depth -= 1
        elif c == "<" and not depth:
            angle = True
        elif c == ">" and not depth:
            angle = False
        elif c in ":;" and not depth and not angle:
            group = True
        elif c == "," and not depth and not angle:
            items.append("".join(cur))
            cur = []
            i += 1
            continue
        cur.append(c)
        i += 1
    items.append("".join(cur))
    return [x.strip() for x in items if x.strip()], group


def _keep(value: str, external: set[str]) -> list[str] | None:
    """The address texts to keep, or None if nothing is removed (leave the field untouched)."""
    parsed = parse_address_list(value)
    if parsed.errors:
        return None  # never rewrite what we cannot read exactly; the rules see header_unparseable
    if not any(a.normalised in external for a in parsed.addresses):
        return None
    elements, group = _split(value)
    if group:  # rare in outbound mail: keep the remaining addresses, without the group
        return [a.normalised for a in parsed.addresses if a.normalised not in external]
    kept = []
    for element in elements:
        addresses = parse_address_list(element).addresses
        if not any(a.normalised in external for a in addresses):
            kept.append(element)
    return kept


def rewrite_to_bcc(raw: bytes, external: set[str]) -> bytes:
    """Remove `external` addresses (any case) from the To and Cc fields of the top-level header.

    A field left empty is dropped; if neither To nor Cc remains, 'To: undisclosed-recipients:;' is
    added so the message stays valid (RFC 5322 allows a message without To, but many clients show it
    badly). Bcc header fields are never added: the envelope carries the recipients.
    """
    match = _HEADER_END.search(raw)
    head, rest = (raw[: match.start()], raw[match.start() :]) if match else (raw, b"")
    wanted = {_normalised(a) for a in external}
    eol = b"\r\n" if b"\r\n" in head else b"\n"
    out: list[bytes] = []
    changed = False
    kept_recipient_field = False
    first_addr_field = -1
    for field in _fields(head):
        m = _FIELD.match(field)
        if not m:
            out.append(field)
            continue
        if first_addr_field < 0:
            first_addr_field = len(out)
        value = field[m.end() :].decode("utf-8", "surrogateescape")
        keep = _keep(value.replace("\r\n", "").replace("\n", ""), wanted)
        if keep is None:
            out.append(field)
            kept_recipient_field = True
            continue
        changed = True
        if keep:
            text = (", " + eol.decode() + " ").join(keep)
            out.append(m.group(1) + b": " + text.encode("utf-8", "surrogateescape") + eol)
            kept_recipient_field = True
    if not changed:
        return raw
    if not kept_recipient_field:
        out.insert(max(first_addr_field, 0), b"To: " + UNDISCLOSED + eol)
    new_head = b"".join(out)
    if new_head.endswith(eol) and rest.startswith(eol):
        new_head = new_head[: -len(eol)]
    return new_head + rest
