"""The one strict address parser of the gateway, for every security decision.

Python 3.11.7's `email.utils.parseaddr`/`getaddresses` can be made to return an address other than
the one a mail client shows (CVE-2023-27043), and aiosmtpd's own parser (email._header_value_parser)
silently drops source routes, so neither may decide what an address is. Every address the gateway
routes, compares or records goes through this module. Two grammars, one set of rules and errors:

- `parse_path` reads an SMTP envelope path (RFC 5321 §4.1.2: MAIL FROM / RCPT TO), deliberately
  narrow: angle brackets required, `<>` only for MAIL FROM, a dot-atom local part (a quoted one only
  when its content is itself a dot-atom: `"john"@x` is `john@x`), LDH domain labels (non-ASCII only
  under SMTPUTF8), no address literals, no trailing dot; local part 64, domain 255, path 256 octets.
- `parse_address` reads one RFC 5322 addr-spec from a header, the config or a list (UTF-8 local parts
  and IDN domains, which it turns into A-labels; quoted local parts kept as given), and
  `parse_address_list` a To/Cc/Bcc value: display names, quoted strings, comments, groups; an element
  it cannot read exactly is reported as an error, never guessed at.

Both reject source routes, `%` and `!` relaying forms, address literals, control characters and
anything ambiguous: every one of those is a way to make two parsers disagree about where mail goes.
`AddressError.problem` says why, in words that are safe to log and to put in an SMTP reply.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from enum import Enum
from types import ModuleType

from gateway.logsetup import mask_address

_idna: ModuleType | None
try:  # IDNA 2008 + UTS 46 when the `idna` package is there (it comes with most installs) ...
    import idna as _idna
except ImportError:  # pragma: no cover - ... else the standard library's IDNA 2003 codec
    _idna = None

MAX_LOCAL = 64
MAX_DOMAIN = 255
MAX_PATH = 256


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
    """Not an address this gateway will route. The message says why and never holds the address."""

    def __init__(self, problem: Problem | str) -> None:
        if isinstance(problem, Problem):
            super().__init__(problem.value)
            self.problem = problem
        else:
            super().__init__(problem)
            self.problem = Problem.SYNTAX


# RFC 5322 atext minus "%" and "!" (forbidden by policy), ASCII only.
_ATEXT_PATH = "A-Za-z0-9#$&'*+\\-/=?^_`{|}~"
_DOT_ATOM_ASCII = re.compile(rf"[{_ATEXT_PATH}]+(?:\.[{_ATEXT_PATH}]+)*\Z")
# With SMTPUTF8 (RFC 6531) atext also takes any non-ASCII character.
_DOT_ATOM_UTF8 = re.compile(rf"[{_ATEXT_PATH}\u0080-\U0010ffff]+(?:\.[{_ATEXT_PATH}\u0080-\U0010ffff]+)*\Z")
_LABEL_UTF8 = re.compile(r"[a-z0-9\u0080-\U0010ffff](?:[a-z0-9\u0080-\U0010ffff-]*[a-z0-9\u0080-\U0010ffff])?")
_FORBIDDEN_CHARS = re.compile(r"[\x00-\x20\x7f]")


_ATEXT_5322 = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+")
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


@functools.lru_cache(maxsize=4096)
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


def _check_addr_spec_local(local: str) -> None:
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
        if ascii_part and not _ATEXT_5322.fullmatch(ascii_part):
            raise AddressError("character not allowed in a local part")
        if any(not c.isascii() and (not c.isprintable() or c.isspace()) for c in atom):
            raise AddressError("non-printable character in local part")


@functools.lru_cache(maxsize=4096)
def parse_address(text: str) -> Address:
    """One addr-spec, no display name and no angle brackets: 'taro@example.co.jp'.

    Raises AddressError for anything that is not exactly one plain address. The same addresses come
    back in message after message (and several times in one: envelope, headers, history), so valid
    ones are remembered (bounded; an Address is immutable; an error is never cached).
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
    _check_addr_spec_local(local)
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


_FOLD = re.compile(r"\r?\n(?=[ \t])")  # a folded line: unfolded
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # what may not remain in a header value once unfolded


def parse_address_list(value: str) -> ParsedAddressList:
    """The addresses of a To/Cc/Bcc header value (raw or decoded), with an error per bad element."""
    result = ParsedAddressList()
    text = _FOLD.sub("", _repair(str(value)))
    if _CONTROL.search(text):
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


# --- SMTP envelope paths (RFC 5321) ---


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


def _check_path_local(local: str, smtputf8: bool) -> str:
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


def _check_path_domain(domain: str, smtputf8: bool) -> str:
    if not domain:
        raise AddressError(Problem.NO_DOMAIN)
    if domain.startswith("["):
        raise AddressError(Problem.LITERAL)
    domain = domain.lower()
    if len(domain.encode("utf-8", "surrogateescape")) > MAX_DOMAIN:
        raise AddressError(Problem.TOO_LONG)
    label_re = _LABEL_UTF8 if smtputf8 else _LDH
    for label in domain.split("."):
        if not label_re.fullmatch(label) or len(label.encode("utf-8", "surrogateescape")) > 63:
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
        end = _quoted_end(inner, 0)
        if end < 0:
            raise AddressError(Problem.SYNTAX)
        local, rest = inner[:end], inner[end:]
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
    local = _check_path_local(local, smtputf8)
    domain = _check_path_domain(domain, smtputf8)
    return f"{local}@{domain}"


def parse_mailbox(mailbox: str, *, smtputf8: bool = False) -> str:
    """A bare `local@domain` (e.g. from a header, already split by another parser) checked with the
    same rules as an envelope path; returns it normalised. Raises AddressError."""
    if not mailbox:
        raise AddressError(Problem.NULL)
    return parse_path(f"<{mailbox}>", smtputf8=smtputf8)


mask = mask_address  # logs mask addresses one way everywhere
