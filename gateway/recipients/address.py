"""A strict address parser for security decisions.

Python 3.11.7's `email.utils.parseaddr`/`getaddresses` can be made to return an address other than
the one a mail client shows (CVE-2023-27043), so nothing here uses them. `parse_address` accepts one
addr-spec (RFC 5321/5322, with UTF-8 local parts and IDN domains for SMTPUTF8) and rejects source
routes, `%` and `!` relaying forms, address literals, control characters and anything ambiguous.
`parse_address_list` reads a To/Cc/Bcc header value: display names, quoted strings, comments,
groups; an element it cannot read exactly is reported as an error, never guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import ModuleType

from gateway.logsetup import mask_address

_idna: ModuleType | None
try:  # IDNA 2008 + UTS 46 when the `idna` package is there (it comes with most installs) ...
    import idna as _idna
except ImportError:  # pragma: no cover - ... else the standard library's IDNA 2003 codec
    _idna = None


class AddressError(ValueError):
    """Not an address this gateway will route: the message says why (no address in it)."""


_ATEXT = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+")
_LDH = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\x80-\x9f]")


@dataclass(frozen=True)
class Address:
    local: str  # as given (quoted form kept); compared in lower case
    domain: str  # ASCII (A-labels), lower case, no trailing dot

    @property
    def normalised(self) -> str:
        return f"{self.local.lower()}@{self.domain}"

    def __str__(self) -> str:
        return self.normalised


def normalise_domain(domain: str) -> str:
    """'Example.CO.JP' -> 'example.co.jp'; '例え.jp' -> 'xn--r8jz45g.jp'. Raises AddressError."""
    if not domain or _CONTROL.search(domain) or any(c.isspace() for c in domain):
        raise AddressError("empty domain or control/space characters in it")
    if domain.startswith("[") or domain.endswith("."):
        raise AddressError("address literals and trailing dots are not accepted")
    if not domain.isascii():
        try:
            if _idna is not None:
                domain = _idna.encode(domain, uts46=True).decode("ascii")
            else:  # pragma: no cover
                domain = domain.encode("idna").decode("ascii")
        except (UnicodeError, ValueError) as e:
            raise AddressError(f"not a valid internationalised domain ({e.__class__.__name__})") from None
    domain = domain.lower()
    labels = domain.split(".")
    if len(domain) > 253 or len(labels) < 2:
        raise AddressError("a domain needs at least two labels and at most 253 characters")
    for label in labels:
        if not _LDH.fullmatch(label):
            raise AddressError("domain labels are letters, digits and inner hyphens, 1-63 long")
        if label.startswith("xn--"):
            unicode_label(label)  # raises on broken punycode
    if labels[-1].isdigit():
        raise AddressError("the top-level domain is numeric (an IP address?)")
    return domain


def unicode_label(label: str) -> str:
    """'xn--r8jz45g' -> '例え'. Raises AddressError on broken punycode."""
    if not label.startswith("xn--"):
        return label
    try:
        return label[4:].encode("ascii").decode("punycode")
    except (UnicodeError, ValueError):
        raise AddressError("broken punycode label") from None


def unicode_domain(domain: str) -> str:
    """The readable form of an ASCII domain ('xn--r8jz45g.jp' -> '例え.jp'); unchanged if broken."""
    try:
        return ".".join(unicode_label(lab) for lab in domain.split("."))
    except AddressError:
        return domain


def _check_local(local: str) -> None:
    if not local:
        raise AddressError("empty local part")
    if len(local.encode("utf-8")) > 64:
        raise AddressError("local part longer than 64 octets")
    if "%" in local or "!" in local:
        raise AddressError("'%' and '!' routing forms are not accepted")
    if local.startswith('"'):
        if len(local) < 2 or not local.endswith('"'):
            raise AddressError("unterminated quoted local part")
        body = local[1:-1]
        i = 0
        while i < len(body):
            c = body[i]
            if c == "\\":
                if i + 1 >= len(body) or not (" " <= body[i + 1] <= "~"):
                    raise AddressError("bad escape in quoted local part")
                i += 2
                continue
            if c == '"' or not (" " <= c <= "~" or (ord(c) > 0x9F)):
                raise AddressError("bad character in quoted local part")
            i += 1
        return
    for atom in local.split("."):
        if not atom:
            raise AddressError("empty atom in local part (leading, trailing or double dot)")
        ascii_part = "".join(c for c in atom if c.isascii())
        if ascii_part and not _ATEXT.fullmatch(ascii_part):
            raise AddressError("character not allowed in a local part")
        if any(not c.isascii() and (not c.isprintable() or c.isspace()) for c in atom):
            raise AddressError("non-printable character in local part")


def parse_address(text: str) -> Address:
    """One addr-spec, no display name and no angle brackets: 'taro@example.co.jp'.

    Raises AddressError for anything that is not exactly one plain address.
    """
    if not text or len(text) > 320:
        raise AddressError("empty or overlong address")
    if _CONTROL.search(text):
        raise AddressError("control characters in address")
    if text.startswith("@") or text.startswith("<") or text.endswith(">"):
        raise AddressError("source routes and angle brackets are not accepted here")
    if text.startswith('"'):
        end = _quoted_end(text, 0)
        if end < 0 or end >= len(text) or text[end] != "@":
            raise AddressError("a quoted local part must be followed by '@domain'")
        local, domain = text[:end], text[end + 1 :]
    else:
        local, sep, domain = text.rpartition("@")
        if not sep:
            raise AddressError("no '@' in address")
    if "@" in domain or (not local.startswith('"') and ("@" in local or '"' in local)):
        raise AddressError("more than one '@' in address")
    if any(c.isspace() for c in local if not local.startswith('"')) or ":" in domain:
        raise AddressError("spaces or ':' in address")
    _check_local(local)
    return Address(local, normalise_domain(domain))


def _quoted_end(text: str, start: int) -> int:
    """Index just after the quoted string that starts at text[start] == '"', or -1 if unterminated."""
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == '"':
            return i + 1
        i += 1
    return -1


def _comment_end(text: str, start: int) -> int:
    """Index just after the (possibly nested) comment starting at text[start] == '(' or -1."""
    depth, i = 0, start
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return -1


@dataclass
class ParsedAddressList:
    addresses: list[Address] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # one line per element not understood (no addresses)


def _repair(value: str) -> str:
    """Header values parsed from bytes may carry undecoded UTF-8 as surrogates: decode them."""
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def parse_address_list(value: str) -> ParsedAddressList:
    """The addresses of a To/Cc/Bcc header value (raw or decoded), with an error per bad element."""
    result = ParsedAddressList()
    text = re.sub(r"\r?\n(?=[ \t])", "", _repair(str(value)))
    if re.search(r"[\x00-\x08\x0a-\x1f\x7f]", text):
        result.errors.append("control characters in header")
        return result

    phrase: list[str] = []  # text outside angle brackets, comments removed
    unquoted: list[str] = []  # the same without quoted strings (to check a display name)
    angle: str | None = None  # content of <...> once closed
    in_group = False
    bad = ""

    def flush() -> None:
        nonlocal phrase, unquoted, angle, bad
        outside = "".join(phrase).strip()
        try:
            if bad:
                raise AddressError(bad)
            if angle is not None and any(ch in '@()[]\\"' for ch in unquoted):
                raise AddressError("special characters in an unquoted display name")
            if angle is not None:
                result.addresses.append(parse_address(angle.strip()))
            elif outside:
                result.addresses.append(parse_address(outside))
        except AddressError as e:
            result.errors.append(str(e))
        phrase, unquoted, angle, bad = [], [], None, ""

    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            end = _quoted_end(text, i)
            if end < 0:
                bad = "unterminated quoted string"
                break
            phrase.append(text[i:end])
            i = end
            continue
        if c == "(":
            end = _comment_end(text, i)
            if end < 0:
                bad = "unterminated comment"
                break
            phrase.append(" ")
            i = end
            continue
        if c == "<":
            close = _angle_end(text, i)
            if close < 0:
                bad = "unterminated '<'"
                break
            if angle is not None:
                bad = bad or "two angle addresses in one element"
            angle = text[i + 1 : close]
            phrase.append(" ")
            i = close + 1
            continue
        if c in ">)":
            bad = bad or f"unexpected {c!r}"
        elif c == ":" and angle is None:
            if in_group:
                bad = bad or "nested group"
            else:  # group display name ends here; members follow
                in_group = True
                phrase, unquoted = [], []
                i += 1
                continue
        elif c == ";":
            if not in_group:
                bad = bad or "';' outside a group"
            flush()
            in_group = False
            i += 1
            continue
        elif c == ",":
            flush()
            i += 1
            continue
        elif angle is not None and not c.isspace():
            bad = bad or "text after an angle address"
        phrase.append(c)
        unquoted.append(c)
        i += 1
    if bad or in_group:
        bad = bad or "unterminated group"
    if bad or phrase or angle is not None:
        flush()
    return result


def _angle_end(text: str, start: int) -> int:
    """Index of the '>' closing the '<' at text[start], skipping quoted strings; -1 if none."""
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == '"':
            end = _quoted_end(text, i)
            if end < 0:
                return -1
            i = end
            continue
        if c == ">":
            return i
        if c == "<":
            return -1
        i += 1
    return -1


mask = mask_address  # logs mask addresses one way everywhere
