"""Strict parsing of the MAIL FROM / RCPT TO arguments (RFC 5321 §4.1.2, §4.5.3.1).

Python 3.11.7's email.utils.parseaddr/getaddresses lack the CVE-2023-27043 fix and aiosmtpd's own
parser (email._header_value_parser) silently drops source routes, so neither may decide what an
envelope address is. This module accepts a deliberately narrow subset of RFC 5321 and rejects the
rest; an outbound gateway has no need for the exotic forms and every one of them is a way to make
two parsers disagree about where mail goes.

Decisions:
- The path must be in angle brackets. `<>` (the null sender) is valid for MAIL FROM only.
- Local part: a dot-atom without `%` and `!` (old relay-routing forms). A quoted local part is
  accepted only when its unquoted content is itself such a dot-atom (`"john"@x` → `john@x`, which
  RFC 5321 §2.4 says is the same mailbox); every other quoted form (spaces, `@`, specials,
  backslash escapes of anything but a dot-atom character) is rejected.
- Domain: LDH hostname labels (IDN only as A-labels, `xn--...`), lower-cased. Non-ASCII (SMTPUTF8)
  is accepted only when the caller says the transaction is SMTPUTF8; the gateway does not
  advertise SMTPUTF8 yet, so in practice addresses are ASCII. Address literals (`[192.0.2.1]`)
  are rejected for senders and recipients alike. A trailing dot is rejected.
- Source routes (`<@a,@b:user@host>`), control characters, spaces, CR, LF, NUL and DEL anywhere are
  rejected. A mailbox without a domain (including RFC 5321's bare `<Postmaster>`) is rejected.
- Limits: local part 64 octets, domain 255 octets, whole path (with brackets) 256 octets.
"""

from __future__ import annotations

import re
from enum import Enum

from gateway.logsetup import mask_address

MAX_LOCAL = 64
MAX_DOMAIN = 255
MAX_PATH = 256

# RFC 5322 atext minus "%" and "!" (forbidden by policy), ASCII only.
_ATEXT = "A-Za-z0-9#$&'*+\\-/=?^_`{|}~"
_DOT_ATOM_ASCII = re.compile(rf"[{_ATEXT}]+(?:\.[{_ATEXT}]+)*\Z")
# With SMTPUTF8 (RFC 6531) atext also takes any non-ASCII character.
_DOT_ATOM_UTF8 = re.compile(rf"[{_ATEXT}\u0080-\U0010ffff]+(?:\.[{_ATEXT}\u0080-\U0010ffff]+)*\Z")
_LABEL_ASCII = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")
_LABEL_UTF8 = re.compile(r"[a-z0-9\u0080-\U0010ffff](?:[a-z0-9\u0080-\U0010ffff-]*[a-z0-9\u0080-\U0010ffff])?\Z")
_FORBIDDEN_CHARS = re.compile(r"[\x00-\x20\x7f]")
_ESMTP_KEYWORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*\Z")
_ESMTP_VALUE = re.compile(r"[\x21-\x3c\x3e-\x7e]+\Z")


class Problem(Enum):
    """Why an address was refused. The values are safe to log and to put in a reply (no address)."""

    SYNTAX = "malformed address"
    CONTROL = "control character or space in address"
    SOURCE_ROUTE = "source routes are not accepted"
    PERCENT_BANG = "'%' and '!' address forms are not accepted"
    QUOTED = "quoted local part not accepted"
    NULL = "null address not allowed here"
    NO_DOMAIN = "address has no domain"
    LOCAL = "invalid local part"
    DOMAIN = "invalid domain"
    LITERAL = "address literals are not accepted"
    NON_ASCII = "non-ASCII address without SMTPUTF8"
    TOO_LONG = "address too long"


class AddressError(ValueError):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.value)
        self.problem = problem


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


def _unquote(quoted: str) -> str:
    """Content of a quoted-string (with the quotes), backslash escapes resolved."""
    body, out, i = quoted[1:-1], [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            if i + 1 >= len(body):
                raise AddressError(Problem.SYNTAX)
            ch = body[i + 1]
            i += 1
        elif ch == '"':
            raise AddressError(Problem.SYNTAX)
        out.append(ch)
        i += 1
    return "".join(out)


def _check_local(local: str, smtputf8: bool) -> str:
    if local.startswith('"'):
        if len(local) < 2 or not local.endswith('"'):
            raise AddressError(Problem.SYNTAX)
        content = _unquote(local)
        if "@" in content or not content:
            raise AddressError(Problem.QUOTED)
        if "%" in content or "!" in content:
            raise AddressError(Problem.PERCENT_BANG)
        dot_atom = _DOT_ATOM_UTF8 if smtputf8 else _DOT_ATOM_ASCII
        if not dot_atom.match(content):
            raise AddressError(Problem.QUOTED)
        local = content
    else:
        if '"' in local or "\\" in local:
            raise AddressError(Problem.QUOTED)
        if "%" in local or "!" in local:
            raise AddressError(Problem.PERCENT_BANG)
        dot_atom = _DOT_ATOM_UTF8 if smtputf8 else _DOT_ATOM_ASCII
        if not local or not dot_atom.match(local):
            raise AddressError(Problem.LOCAL)
    if len(local.encode("utf-8", "surrogateescape")) > MAX_LOCAL:
        raise AddressError(Problem.TOO_LONG)
    return local


def _check_domain(domain: str, smtputf8: bool) -> str:
    if not domain:
        raise AddressError(Problem.NO_DOMAIN)
    if domain.startswith("["):
        raise AddressError(Problem.LITERAL)
    domain = domain.lower()
    if len(domain.encode("utf-8", "surrogateescape")) > MAX_DOMAIN:
        raise AddressError(Problem.TOO_LONG)
    label_re = _LABEL_UTF8 if smtputf8 else _LABEL_ASCII
    for label in domain.split("."):
        if not label_re.match(label) or len(label.encode("utf-8", "surrogateescape")) > 63:
            raise AddressError(Problem.DOMAIN)
    return domain


def parse_path(path: str, *, allow_null: bool = False, smtputf8: bool = False) -> str:
    """`<local@domain>` -> `local@domain` normalised (domain lower-cased, redundant quotes removed).

    `<>` -> "" when allow_null (MAIL FROM). Raises AddressError with the reason otherwise.
    """
    if not (path.startswith("<") and path.endswith(">")) or len(path) < 2:
        raise AddressError(Problem.SYNTAX)
    if _FORBIDDEN_CHARS.search(path):
        raise AddressError(Problem.CONTROL)
    if not smtputf8 and not path.isascii():
        raise AddressError(Problem.NON_ASCII)
    if smtputf8 and any("\udc80" <= c <= "\udcff" for c in path):
        raise AddressError(Problem.SYNTAX)  # bytes that were not UTF-8 (aiosmtpd's surrogateescape)
    if len(path.encode("utf-8")) > MAX_PATH:
        raise AddressError(Problem.TOO_LONG)
    inner = path[1:-1]
    if not inner:
        if allow_null:
            return ""
        raise AddressError(Problem.NULL)
    if inner.startswith("@"):
        raise AddressError(Problem.SOURCE_ROUTE)
    if inner.startswith('"'):
        end = _closing_quote(inner)
        local, rest = inner[: end + 1], inner[end + 1 :]
        if not rest.startswith("@"):
            raise AddressError(Problem.NO_DOMAIN if not rest else Problem.SYNTAX)
        domain = rest[1:]
    else:
        if inner.count("@") > 1:
            # `a@b@c` or `a@b,@c:d` style: never guess which @ is meant.
            route = ":" in inner or "," in inner
            raise AddressError(Problem.SOURCE_ROUTE if route else Problem.SYNTAX)
        local, at, domain = inner.partition("@")
        if not at:
            raise AddressError(Problem.PERCENT_BANG if ("%" in local or "!" in local) else Problem.NO_DOMAIN)
    if domain.startswith("["):
        raise AddressError(Problem.LITERAL)
    if ":" in domain or "," in domain:
        raise AddressError(Problem.SOURCE_ROUTE)
    local = _check_local(local, smtputf8)
    domain = _check_domain(domain, smtputf8)
    return f"{local}@{domain}"


def parse_mailbox(mailbox: str, *, smtputf8: bool = False) -> str:
    """A bare `local@domain` (e.g. from a header, already split by another parser) checked with the
    same rules as an envelope path; returns it normalised. Raises AddressError."""
    if not mailbox:
        raise AddressError(Problem.NULL)
    return parse_path(f"<{mailbox}>", smtputf8=smtputf8)


def _closing_quote(inner: str) -> int:
    escaped = False
    for i in range(1, len(inner)):
        ch = inner[i]
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            return i
    raise AddressError(Problem.SYNTAX)


mask = mask_address  # logs mask addresses one way everywhere
