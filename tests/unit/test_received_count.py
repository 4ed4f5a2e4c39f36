"""The one count of Received: fields (gateway.message.received_count) used by receiving and delivery."""

from __future__ import annotations

import random
import re

import pytest

from gateway.message import received_count, too_many_hops


@pytest.mark.parametrize(
    ("raw", "count"),
    [
        (b"Received: a\r\nreceived: b\r\nSubject: x\r\n\r\nReceived: in the body\r\n", 2),
        (b"RECEIVED : a\r\nReceived\t: b\r\nSubject: x\r\n\r\n", 2),  # obsolete blanks before ':'
        (b"Received: a\r\n\tby b;\r\n Received: not a field, a continuation\r\n\r\n", 1),
        (b"Received: a\nReceived: b\n\nReceived: body\n", 2),  # bare LF
        (b"\r\nReceived: only a body\r\n", 0),  # no header section
        (b"X-Received: a\r\nReceived-SPF: pass\r\nReceivedx: y\r\n\r\n", 0),  # other field names
        (b"Received: no body, no empty line", 1),
        (b"", 0),
    ],
)
def test_received_count(raw: bytes, count: int) -> None:
    assert received_count(raw) == count


def test_limit_is_inclusive() -> None:
    at_limit = b"Received: x\r\n" * 5 + b"\r\nbody\r\n"
    assert not too_many_hops(at_limit, 5)
    assert too_many_hops(b"Received: y\r\n" + at_limit, 5)


def _split_count(raw: bytes) -> int:
    """The plain form: every line of the message split off, counted up to the first empty one."""
    count = 0
    for line in re.split(rb"\r?\n", raw):
        if not line:
            break
        count += bool(re.match(rb"received[ \t]*:", line, re.IGNORECASE))
    return count


def test_same_count_as_splitting_every_line() -> None:
    """Only the header section is walked now; on random mixes of CR, LF, blanks and field names the
    count is the one splitting the whole message gives."""
    rng = random.Random(5)
    pieces = [b"Received: a", b"received :", b"X-Received: b", b"\r\n", b"\n", b"\r", b" ", b"\t", b"body", b""]
    for _ in range(5000):
        raw = b"".join(rng.choice(pieces) for _ in range(rng.randrange(0, 12)))
        assert received_count(raw) == _split_count(raw), raw
