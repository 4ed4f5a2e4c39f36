"""data_payload must give exactly the bytes aiosmtplib's own DATA preparation gives, on any input it
does not hand back to aiosmtplib (it hands back only messages with a lone CR or LF)."""

from __future__ import annotations

import random

from aiosmtplib.protocol import PERIOD_REGEX, normalize_message_line_endings

from gateway.outbound.client import data_payload
from gateway.smtp.handler import normalise_content


def aiosmtplib_payload(message: bytes) -> bytes:
    """What aiosmtplib 5.1's SMTPProtocol.execute_data_command writes after DATA."""
    return PERIOD_REGEX.sub(b"..", normalize_message_line_endings(message)) + b".\r\n"


PIECES = [
    b"a",
    b"\xe3\x81\x82",
    b".",
    b"..",
    b"\r\n",
    b"\r\n",
    b"\r\n",
    b".\r\n",
    b"\r\n.\r\n",
    b"\r",
    b"\n",
    b"\0",
    b" ",
]


def has_lone_cr_or_lf(message: bytes) -> bool:
    return message.count(b"\r") != message.count(b"\r\n") or message.count(b"\n") != message.count(b"\r\n")


def test_random_messages_match_aiosmtplib() -> None:
    rng = random.Random(5)
    fast = 0
    for _ in range(20_000):
        message = b"".join(rng.choice(PIECES) for _ in range(rng.randrange(0, 25)))
        got = data_payload(message)
        if got is None:
            assert has_lone_cr_or_lf(message), message
        else:
            fast += 1
            assert not has_lone_cr_or_lf(message), message
            assert got == aiosmtplib_payload(message), message
    assert fast > 5000


def test_stored_messages_always_take_the_fast_path() -> None:
    """What the receive side stores (normalise_content) never falls back to aiosmtplib's path."""
    rng = random.Random(6)
    for _ in range(5000):
        message = b"".join(rng.choice(PIECES) for _ in range(rng.randrange(0, 25)))
        stored = normalise_content(message)
        if isinstance(stored, bytes):
            assert data_payload(stored) == aiosmtplib_payload(stored), stored


def test_edges() -> None:
    for message in [b"", b".", b"..", b".\r\n", b"\r\n.", b"a\r\n.\r\n", b"x", b"a\r\n\r\n", b".a\r\n.b\r\n..c"]:
        assert data_payload(message) == aiosmtplib_payload(message), message
    for message in [b"\r", b"\n", b"a\rb", b"a\nb\r\n", b"a\r\r\n", b"a\r\n\n", b"\n.\r\n"]:
        assert data_payload(message) is None, message
