"""normalise_content searches for a bare CR or LF; it must answer as the counting form it replaced."""

from __future__ import annotations

import random

from gateway.smtp.handler import R_BARE_CR, R_NUL, normalise_content


def counting_form(raw: bytes) -> bytes | str:
    if b"\0" in raw:
        return R_NUL
    crlf = raw.count(b"\r\n")
    if raw.count(b"\r") != crlf:
        return R_BARE_CR
    if raw.count(b"\n") != crlf:
        raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return raw


def test_random_content_agrees_with_the_counting_form() -> None:
    rng = random.Random(4)
    pieces = [b"a", b".", b"\r\n", b"\r\n", b"\r", b"\n", b"\n\r", b"\r\r\n", b"\0", b"\xe3\x81\x82"]
    kinds = set()
    for _ in range(30_000):
        raw = b"".join(rng.choice(pieces) for _ in range(rng.randrange(0, 12)))
        expected = counting_form(raw)
        assert normalise_content(raw) == expected, raw
        kinds.add(expected if isinstance(expected, str) else expected == raw)
    assert kinds == {R_NUL, R_BARE_CR, True, False}
