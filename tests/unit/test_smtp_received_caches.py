"""The receive side's caches give what the uncached forms gave: the Received header's date (made once
per second) and the client's address (parsed once per address text)."""

from __future__ import annotations

import email.utils
import ipaddress
import os
import time
from collections.abc import Iterator
from datetime import datetime

import pytest

from gateway.mail.addresses import AddressError, parse_path
from gateway.smtp import handler
from gateway.smtp.handler import address_of, received_date


@pytest.fixture(params=["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"])
def local_zone(request: pytest.FixtureRequest) -> Iterator[str]:
    old = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    handler._date_cache = (-1, "")
    try:
        yield request.param
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        time.tzset()
        handler._date_cache = (-1, "")


def _old_form(now: float) -> str:
    """What received_header wrote before: format_datetime(datetime.now().astimezone()) at `now`."""
    return email.utils.format_datetime(datetime.fromtimestamp(now).astimezone())


def test_received_date_equals_the_uncached_form_around_offset_changes(local_zone: str) -> None:
    # 2024's changes in Europe and the US (and Lord Howe's half-hour one), and plain times.
    changes = [1711846800, 1729990800, 1710054000, 1730613600, 1712415600, 1728144000, 1700000000, 1735689599]
    for change in changes:
        for step in range(-3, 4):
            for fraction in (0.0, 0.001, 0.5, 0.999999):
                now = change + step + fraction
                assert received_date(now) == _old_form(now), (local_zone, now)
        # Back and forth over the change: the one-entry cache never answers for another second.
        for now in (change - 1.5, change + 0.5, change - 1.2, change + 0.7, change + 0.9):
            assert received_date(now) == _old_form(now)


def test_received_date_now_matches_datetime_now() -> None:
    before = email.utils.format_datetime(datetime.now().astimezone())
    got = received_date(time.time())
    after = email.utils.format_datetime(datetime.now().astimezone())
    assert got in (before, after)


def _old_address_of(peer: object) -> object:
    if not isinstance(peer, tuple) or not peer:
        return None
    try:
        ip = ipaddress.ip_address(str(peer[0]).split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


PEERS: list[object] = [
    ("127.0.0.1", 25),
    ("10.1.2.3", 40000),
    ("::1", 25, 0, 0),
    ("::ffff:192.0.2.7", 25, 0, 0),
    ("fe80::1%eth0", 25, 0, 2),
    ("2001:db8::1", 1),
    ("not an address", 25),
    ("", 25),
    ("1.2.3.256", 25),
    (b"127.0.0.1", 25),
    (None, 25),
    ("/run/socket",),
    (),
    None,
    "127.0.0.1",
    ["127.0.0.1", 25],
]


def test_address_of_equals_the_uncached_form() -> None:
    for _ in range(2):  # first parse and cached answer
        for peer in PEERS:
            got, want = address_of(peer), _old_address_of(peer)
            assert got == want and type(got) is type(want), peer


def test_address_cache_is_bounded() -> None:
    for i in range(3000):
        address_of((f"10.0.{i // 256}.{i % 256}", 25))
    info = handler._ip_of.cache_info()
    assert info.maxsize is not None and info.currsize <= info.maxsize


PATHS = [
    "<a@example.com>",
    "<>",
    "<A@Example.COM>",
    '<"a"@example.com>',
    '<"a b"@example.com>',
    "<@route:a@example.com>",
    "<a@example.com",
    "a@example.com",
    "<a@>",
    "<a@[192.0.2.1]>",
    "<a\x00@example.com>",
    "<ü@example.com>",
    "<" + "a" * 300 + "@example.com>",
]


def _outcome(path: str, allow_null: bool, cached: bool) -> tuple[str, str]:
    try:
        if cached:
            return "ok", handler._parse_path(path, allow_null)
        return "ok", parse_path(path, allow_null=allow_null)
    except AddressError as e:
        return "error", str(e.problem)


def test_cached_parse_path_equals_parse_path() -> None:
    handler._parse_path.cache_clear()
    for _ in range(3):  # first call, cached answer, errors raised again
        for path in PATHS:
            for allow_null in (False, True):
                assert _outcome(path, allow_null, True) == _outcome(path, allow_null, False), (path, allow_null)
    info = handler._parse_path.cache_info()
    assert info.maxsize is not None and info.currsize <= info.maxsize
