"""gateway.mail.mimeparse gives exactly the tree of the stdlib parser (compat32): same parts, headers,
payloads, preambles, epilogues and defects, on generated messages that mix long runs of body lines
with every kind of line the parser treats specially (boundaries, header fields, continuations, blank
lines, "From " lines, lone CRs, 8-bit bytes), and on the messages of the extraction fixtures."""

from __future__ import annotations

import base64
import email
import email.parser
from email.message import Message
from email.policy import compat32
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.mail import mimeparse
from gateway.mail.mimeparse import parse_bytes, parse_header_block


def signature(msg: Message) -> list[object]:
    out: list[object] = []
    for part in msg.walk():
        payload = part._payload  # type: ignore[attr-defined]
        out.append(
            (
                part.get_unixfrom(),
                list(part._headers),  # type: ignore[attr-defined]
                payload if isinstance(payload, str) else len(payload),
                part.preamble,
                part.epilogue,
                [(type(d).__name__, str(d)) for d in part.defects],
                part.get_default_type(),
            )
        )
    return out


def same(raw: bytes) -> None:
    assert signature(parse_bytes(raw)) == signature(email.message_from_bytes(raw, policy=compat32))
    headers = email.parser.BytesParser(policy=compat32).parsebytes(raw, headersonly=True)
    assert signature(parse_bytes(raw, headersonly=True)) == signature(headers)
    block = parse_header_block(raw)
    assert block.get_unixfrom() == headers.get_unixfrom()
    assert block.items() == headers.items()
    assert [(type(d), str(d)) for d in block.defects] == [(type(d), str(d)) for d in headers.defects]


B64 = st.binary(min_size=1, max_size=200).map(lambda b: base64.b64encode(b)[:76])
SPECIAL = st.sampled_from(
    [
        b"",
        b"\r",
        b"--b1",
        b"--b1--",
        b"--b2",
        b"--b2--  ",
        b"-- signature",
        b"From someone",
        b"From: a@example.com",
        b"X-Field: value",
        b"Content-Type: multipart/mixed; boundary=b2",
        b"Content-Type: message/rfc822",
        b"Content-Type: message/delivery-status",
        b"Content-Transfer-Encoding: base64",
        b" continued",
        b"\tcontinued",
        b"plain text line",
        b"text with a colon: here",
        b"lone\rcarriage return",
        b"8-bit \xe5\xb1\xb1\xe7\x94\xb0",
        b"\x0cform feed",
        b"GWRUN0123N0",
        b"GWRUN0123456789abcdefN0",  # a placeholder of another parse
    ]
)
HEADERS = st.sampled_from(
    [
        b"Subject: x\r\nContent-Type: multipart/mixed; boundary=b1\r\n",
        b"From sender Mon Jan  1 00:00:00 2024\r\nSubject: x\r\nContent-Type: multipart/mixed; boundary=b1\r\n",
        b"Content-Type: message/rfc822\r\n",
        b"Content-Type: message/delivery-status\r\n",
        b"Content-Type: multipart/alternative\r\n",  # no boundary
        b"Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n",
        b"",
    ]
)


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    crlf = draw(st.booleans())
    lines: list[bytes] = []
    for _ in range(draw(st.integers(1, 8))):
        if draw(st.booleans()):
            lines.extend(draw(st.lists(B64, min_size=14, max_size=40)))  # a run, or nearly one
        else:
            lines.extend(draw(st.lists(SPECIAL, min_size=1, max_size=4)))
    head = draw(HEADERS)
    sep = draw(st.sampled_from([b"\r\n", b""]))
    body = (b"\r\n" if crlf else b"\n").join(lines)
    end = draw(st.sampled_from([b"", b"\r\n", b"\n"]))
    raw = head + sep + body + end
    return raw if crlf else raw.replace(b"\r\n", b"\n")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages())
def test_same_tree_as_the_stdlib_parser(raw: bytes) -> None:
    same(raw)


LINE_BYTES = st.sampled_from(
    [b"a", b"Z", b"0", b"+", b":", b"-", b" ", b"\t", b"\r", b"\n", b"\r\n", b"From ", b"\x0b", b"\x0c", b"\xe5"]
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(messages(), st.lists(LINE_BYTES, max_size=80).map(b"".join)))
def test_the_runs_are_the_regex_matches(raw: bytes) -> None:
    """`runs` finds the lines that cannot be in a run one by one: the same spans as the regex."""
    assert mimeparse.runs(raw) == [m.span() for m in mimeparse._RUN.finditer(raw)]


def test_the_runs_of_a_text_with_many_marks_are_the_regex_matches() -> None:
    """Past `_MAX_MARKS` lines that cannot be in a run, the regex gives them; the same either way."""
    raw = b"Subject: x\r\n\r\n" + b"".join(
        (b"key: value\r\n" if i % 40 == 0 else b"QUJDREVGR0hJSktMTU5PUA==\r\n") for i in range(400_000)
    )
    assert mimeparse.runs(raw) == [m.span() for m in mimeparse._RUN.finditer(raw)]
    many = b"\n".join(b" indented" if i % 20 == 0 else b"abc" for i in range(200_000))
    assert mimeparse.runs(many) == [m.span() for m in mimeparse._RUN.finditer(many)]


def test_long_runs_are_parsed_as_placeholders_and_put_back() -> None:
    data = base64.encodebytes(bytes(range(256)) * 200).replace(b"\n", b"\r\n")
    raw = (
        b"Subject: x\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\npreamble\r\n--b1\r\n"
        b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + data
        + b"--b1--\r\n"
        + data
    )
    same(raw)
    msg = parse_bytes(raw)
    attachment = msg.get_payload(0)
    assert isinstance(attachment, Message)
    assert attachment.get_payload(decode=True) == bytes(range(256)) * 200
    assert msg.epilogue == data.decode("ascii")


def test_the_fixture_messages_parse_the_same() -> None:
    root = Path(__file__).resolve().parents[1]
    emls = [p for p in root.rglob("*.eml") if p.is_file()]
    assert emls
    for path in emls:
        same(path.read_bytes())


def test_stretches_about_the_least_run_length() -> None:
    """Stretches of inert lines of _MIN_RUN - 1, _MIN_RUN and _MIN_RUN + 1 lines (LF and CRLF, the
    last line ended or not): runs found where the regex finds them."""
    for n in range(mimeparse._MIN_RUN - 2, mimeparse._MIN_RUN + 3):
        for end in (b"\n", b"\r\n"):
            body = b"".join(b"QUJD%d" % k + end for k in range(n))
            for tail in (b"", b"-- x" + end, b"QUJD"):
                raw = b"Subject: x" + end + end + body + tail
                assert mimeparse.runs(raw) == [m.span() for m in mimeparse._RUN.finditer(raw)], (n, end, tail)
