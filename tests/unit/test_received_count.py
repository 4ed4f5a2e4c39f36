"""The one count of Received: fields (gateway.message.received_count) used by receiving and delivery."""

from __future__ import annotations

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
