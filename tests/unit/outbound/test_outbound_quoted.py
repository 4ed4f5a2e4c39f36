"""The cached quoting of MAIL/RCPT addresses writes what aiosmtplib's quote_address wrote, and raises
the same errors, every time (errors are never cached)."""

from __future__ import annotations

import pytest
from aiosmtplib.email import quote_address

from gateway.outbound import client
from gateway.outbound.client import _command

ADDRESSES = [
    "a@example.com",
    "",
    "Taro.Yamada@Example.co.jp",
    '"john doe"@example.com',
    "<a@example.com>",
    "Name <a@example.com>",
    "a@[192.0.2.1]",
    "a@example.com\r\nRCPT TO:<b@example.com>",
    "a\n@example.com",
    "a@exa\rmple.com",
    "ünïcode@example.com",
    "a@例え.jp",
    " spaced@example.com ",
    "a@example.com\x00",
]


def _old_command(verb: bytes, prefix: bytes, address: str, options: list[str], encoding: str) -> bytes:
    args = [verb, prefix + quote_address(address).encode(encoding), *(o.encode("ascii") for o in options)]
    for arg in args:
        if client.COMMAND_INJECTION_REGEX.search(arg):
            raise ValueError("Command arg contains a prohibited control character")
    return b" ".join(args) + b"\r\n"


def _outcome(fn: object, *args: object) -> tuple[str, object]:
    try:
        return "ok", fn(*args)  # type: ignore[operator]
    except Exception as e:
        return type(e).__name__, None


@pytest.mark.parametrize("encoding", ["ascii", "utf-8"])
def test_command_equals_the_uncached_form(encoding: str) -> None:
    client._quoted.cache_clear()
    for _ in range(3):  # first call, cached answer, and errors raised again
        for address in ADDRESSES:
            for verb, prefix, options in ((b"MAIL", b"FROM:", ["SIZE=10", "BODY=8BITMIME"]), (b"RCPT", b"TO:", [])):
                args = (verb, prefix, address, options, encoding)
                assert _outcome(_command, *args) == _outcome(_old_command, *args), (address, encoding)


def test_quoted_cache_is_bounded() -> None:
    for i in range(5000):
        client._quoted(f"user{i}@example.com", "ascii")
    info = client._quoted.cache_info()
    assert info.maxsize is not None and info.currsize <= info.maxsize
