"""The stdlib email parser (compat32) at a fraction of its cost on large bodies, with the same result.

The feed parser handles a message line by line in Python: a 500 KB base64 attachment is 6,700
lines, each popped, matched against every open boundary and appended. Most of those lines cannot
change anything the parser does: a line that is not empty, does not start with white space or "-"
(no boundary, no continuation, no blank separator), has no ":" (no header field) and does not start
with "From " is, in every state of the parser, either the first body line after a header block
(where it ends the headers the same way any such line does) or a line appended to a payload, a
preamble or an epilogue. A run of such lines is therefore parsed as one placeholder line that keeps
the run's last line ending, and the run is put back in place of the placeholder afterwards: the tree,
its headers, payloads, preambles, epilogues and defects are those of parsing the whole text (tested
against the plain parse on generated messages in tests/unit/mail/test_mimeparse.py).
"""

from __future__ import annotations

import email.parser
import re
import secrets
from email.message import Message
from email.policy import compat32

# A run of at least _MIN_RUN inert lines, from the start of a line; the last line ending is kept out.
_MIN_RUN = 16
_RUN = re.compile(rb"(?<=\n)(?:(?!From )[^\r\n:\s\-][^\r\n:]*(?:\r\n|\n)){%d,}" % _MIN_RUN)


# A line that cannot be in a run starts with white space, "-", ":" or "From " (an empty line too), or
# holds a ":" or a CR that ends no line; the first line and an unended last line are not in one either.
_BAD_START = re.compile(rb"\n(?=[\t\n\x0b\x0c\r \-:]|From )")
_LONE_CR = re.compile(rb"\r(?!\n)")
_MAX_MARKS = 4096  # past this many lines found one by one, the regex over the whole text is cheaper


def runs(raw: bytes) -> list[tuple[int, int]]:
    """The spans of `_RUN.finditer(raw)`: the lines that cannot be in a run are found with memchr and
    literal-prefix searches (few in a message: its header fields, MIME headers, boundaries and blank
    lines), and every stretch of at least `_MIN_RUN` lines between two of them is a run; the regex
    tried every position of the text, 1 ms per 300 KB of base64."""
    n = len(raw)
    bad = {0}  # start offsets of the lines that cannot be in a run
    at = raw.find(b":")
    while at != -1:
        start = raw.rfind(b"\n", 0, at) + 1
        bad.add(start)
        if len(bad) > _MAX_MARKS:
            return [m.span() for m in _RUN.finditer(raw)]
        end = raw.find(b"\n", at)
        at = raw.find(b":", end) if end != -1 else -1
    bad.update(m.end() for m in _BAD_START.finditer(raw))
    if _LONE_CR.search(raw) is not None:
        bad.update(raw.rfind(b"\n", 0, m.start()) + 1 for m in _LONE_CR.finditer(raw))
    if len(bad) > _MAX_MARKS:
        return [m.span() for m in _RUN.finditer(raw)]
    if not raw.endswith(b"\n"):
        bad.add(raw.rfind(b"\n") + 1)
    out: list[tuple[int, int]] = []
    starts = sorted(bad)
    for i, start in enumerate(starts):
        end = raw.find(b"\n", start)
        if end == -1:
            break
        first, last = end + 1, starts[i + 1] if i + 1 < len(starts) else n
        if first < last and _has_lines(raw, first, last):
            out.append((first, last))
    return out


def _has_lines(raw: bytes, first: int, last: int) -> bool:
    """`raw.count(b"\n", first, last) >= _MIN_RUN` without counting the rest of a long stretch (the
    8,000 lines of a 600 KB base64 part): the first _MIN_RUN line ends found one by one."""
    at = first
    for _ in range(_MIN_RUN):
        at = raw.find(b"\n", at, last)
        if at == -1:
            return False
        at += 1
    return True


def parse_bytes(raw: bytes, headersonly: bool = False) -> Message:
    """`email.message_from_bytes(raw, policy=compat32)` (or the header-only parser), the same tree."""
    spans = runs(raw)
    parser = email.parser.BytesParser(policy=compat32)
    if not spans:
        return parser.parsebytes(raw, headersonly=headersonly)
    token = _token(raw)
    pieces: list[bytes] = []
    originals: list[str] = []
    at = 0
    for n, (start, end) in enumerate(spans):
        body = raw[start:end]
        ending = b"\r\n" if body.endswith(b"\r\n") else b"\n"
        pieces += [raw[at:start], b"%s%d" % (token, n), ending]
        originals.append(body[: -len(ending)].decode("ascii", "surrogateescape"))
        at = end
    pieces.append(raw[at:])
    msg = parser.parsebytes(b"".join(pieces), headersonly=headersonly)
    _restore(msg, token.decode("ascii"), originals)
    return msg


_BLANK_LINE = re.compile(rb"\n\r?\n")


def parse_header_block(raw: bytes) -> Message:
    """The header-only parse (`BytesHeaderParser`, compat32): the same header fields and defects, with
    the text only up to the first blank line as its payload (the header-only parse keeps the rest of
    the message there; nothing reads it). The parser's header block ends at the first line that is no
    header field, at the latest at the first blank line: nothing after that line changes it."""
    blank = _BLANK_LINE.search(raw)
    head = raw[: blank.end()] if blank else raw
    return email.parser.BytesParser(policy=compat32).parsebytes(head, headersonly=True)


_PLACEHOLDER = re.compile(r"(GWRUN[0-9a-f]{16}N)(\d+)")


def _token(raw: bytes) -> bytes:
    while True:
        token = b"GWRUN" + secrets.token_hex(8).encode("ascii") + b"N"
        if token not in raw:
            return token


def _restore(msg: Message, token: str, originals: list[str]) -> None:
    def put_back(m: re.Match[str]) -> str:
        return originals[int(m.group(2))] if m.group(1) == token else m.group(0)

    for part in msg.walk():
        payload = part._payload  # type: ignore[attr-defined]
        if isinstance(payload, str) and token in payload:
            part._payload = _PLACEHOLDER.sub(put_back, payload)  # type: ignore[attr-defined]
        for place in ("preamble", "epilogue"):
            text = getattr(part, place)
            if isinstance(text, str) and token in text:
                setattr(part, place, _PLACEHOLDER.sub(put_back, text))
