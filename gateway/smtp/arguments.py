"""The arguments of MAIL FROM / RCPT TO (RFC 5321 §4.1.2): `<path> [SP esmtp-params]`.

The path itself is read by the one address parser (gateway.mail.addresses.parse_path).
"""

from __future__ import annotations

import re

from gateway.mail.addresses import AddressError, Problem

_ESMTP_KEYWORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*\Z")
_ESMTP_VALUE = re.compile(r"[\x21-\x3c\x3e-\x7e]+\Z")


def split_path_and_params(arg: str) -> tuple[str, list[str]]:
    """Split `<path> [SP params]` (what follows `FROM:`/`TO:`) into the path and the parameters.

    Only the bracket structure is checked here (quotes may hide a `>`); the path itself is left to
    parse_path. Raises AddressError(SYNTAX) without angle brackets or with junk after `>`.
    """
    arg = arg.lstrip(" ")
    if not arg.startswith("<"):
        raise AddressError(Problem.SYNTAX)
    in_quote = escaped = False
    for i, ch in enumerate(arg):
        if escaped:
            escaped = False
        elif in_quote and ch == "\\":
            escaped = True
        elif ch == '"':
            in_quote = not in_quote
        elif ch == ">" and not in_quote:
            rest = arg[i + 1 :]
            if rest and not rest.startswith(" "):
                raise AddressError(Problem.SYNTAX)
            return arg[: i + 1], rest.split(" ") if rest.strip(" ") else []
    raise AddressError(Problem.SYNTAX)


def parse_esmtp_params(params: list[str]) -> dict[str, str | None]:
    """RFC 5321 esmtp-param list -> {KEYWORD (upper-case): value or None}. ValueError if malformed."""
    out: dict[str, str | None] = {}
    for param in params:
        if not param:
            continue  # several spaces between parameters
        key, eq, value = param.partition("=")
        if not _ESMTP_KEYWORD.match(key) or (eq and not _ESMTP_VALUE.match(value)):
            raise ValueError("malformed parameter")
        key = key.upper()
        if key in out:
            raise ValueError("duplicate parameter")
        out[key] = value if eq else None
    return out
