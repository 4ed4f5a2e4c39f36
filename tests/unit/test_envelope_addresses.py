"""The strict envelope address parser: table-driven, plus properties that must hold for any input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.mail.addresses import AddressError, Problem, mask, parse_mailbox, parse_path
from gateway.smtp.arguments import parse_esmtp_params, split_path_and_params

VALID = [
    ("<user@example.com>", "user@example.com"),
    ("<User.Name@Example.COM>", "User.Name@example.com"),
    ("<a+tag@sub.example.co.jp>", "a+tag@sub.example.co.jp"),
    ("<o'brien@example.ie>", "o'brien@example.ie"),
    ("<x_y-z=1#{}~^`|&$*/?@example.com>", "x_y-z=1#{}~^`|&$*/?@example.com"),
    ('<"john"@example.com>', "john@example.com"),  # redundant quotes removed (RFC 5321 §2.4)
    ('<"john.doe"@example.com>', "john.doe@example.com"),
    ('<"j\\ohn"@example.com>', "john@example.com"),  # a quoted-pair of an atext character
    ("<user@xn--r8jz45g.jp>", "user@xn--r8jz45g.jp"),  # IDN as A-label
    ("<user@localhost>", "user@localhost"),  # single label: syntactically fine
    ("<user@1.example>", "user@1.example"),
    (f"<{'a' * 64}@example.com>", f"{'a' * 64}@example.com"),
]

INVALID = [
    # (path, problem)
    ("user@example.com", Problem.SYNTAX),  # no angle brackets
    ("<user@example.com", Problem.SYNTAX),
    ("<>", Problem.NULL),  # null only for MAIL FROM
    ("<@a.example,@b.example:user@c.example>", Problem.SOURCE_ROUTE),
    ("<@a.example:user@c.example>", Problem.SOURCE_ROUTE),
    ("<user@c.example,@d.example>", Problem.SOURCE_ROUTE),
    ("<user%victim.example@relay.example>", Problem.PERCENT_BANG),
    ("<victim.example!user@relay.example>", Problem.PERCENT_BANG),
    ("<victim.example!user>", Problem.PERCENT_BANG),
    ("<user%victim.example>", Problem.PERCENT_BANG),
    ('<"user%x"@relay.example>', Problem.PERCENT_BANG),
    ('<"attacker@evil.example"@good.example>', Problem.QUOTED),
    ('<"a@b"@c.example>', Problem.QUOTED),
    ('<"john doe"@example.com>', Problem.CONTROL),  # space
    ('<"john,doe"@example.com>', Problem.QUOTED),
    ('<"john\\"doe"@example.com>', Problem.QUOTED),
    ('<""@example.com>', Problem.QUOTED),
    ('<jo"hn@example.com>', Problem.QUOTED),
    ("<user@example.com\r\nRCPT TO:<x@evil.example>>", Problem.CONTROL),
    ("<user\r@example.com>", Problem.CONTROL),
    ("<user\n@example.com>", Problem.CONTROL),
    ("<user\x00@example.com>", Problem.CONTROL),
    ("<user\x7f@example.com>", Problem.CONTROL),
    ("<user\t@example.com>", Problem.CONTROL),
    ("<us er@example.com>", Problem.CONTROL),
    ("<user@[192.0.2.1]>", Problem.LITERAL),
    ("<user@[IPv6:2001:db8::1]>", Problem.LITERAL),
    ("<@example.com>", Problem.SOURCE_ROUTE),  # empty local part, looks like a route
    ("<user@>", Problem.NO_DOMAIN),
    ("<user>", Problem.NO_DOMAIN),
    ("<Postmaster>", Problem.NO_DOMAIN),
    ("<a@b@example.com>", Problem.SYNTAX),
    ("<.user@example.com>", Problem.LOCAL),
    ("<user.@example.com>", Problem.LOCAL),
    ("<us..er@example.com>", Problem.LOCAL),
    ("<us(er)@example.com>", Problem.LOCAL),
    ("<us[er@example.com>", Problem.LOCAL),
    ("<user@example.com.>", Problem.DOMAIN),
    ("<user@.example.com>", Problem.DOMAIN),
    ("<user@exa..mple.com>", Problem.DOMAIN),
    ("<user@-example.com>", Problem.DOMAIN),
    ("<user@example-.com>", Problem.DOMAIN),
    ("<user@exa_mple.com>", Problem.DOMAIN),
    ("<user@exam%ple.com>", Problem.DOMAIN),
    (f"<user@{'a' * 64}.com>", Problem.DOMAIN),  # label over 63
    ("<ユーザー@example.jp>", Problem.NON_ASCII),
    ("<user@例え.jp>", Problem.NON_ASCII),
    (f"<{'a' * 65}@example.com>", Problem.TOO_LONG),
    (f"<a@{'.'.join(['b' * 63] * 4)}>", Problem.TOO_LONG),  # path over 256
]


@pytest.mark.parametrize(("path", "expected"), VALID)
def test_valid(path: str, expected: str) -> None:
    assert parse_path(path) == expected


@pytest.mark.parametrize(("path", "problem"), INVALID)
def test_invalid(path: str, problem: Problem) -> None:
    with pytest.raises(AddressError) as e:
        parse_path(path)
    assert e.value.problem is problem
    assert "@" not in str(e.value)  # reasons are safe to log and to put in a reply


def test_null_sender_only_when_allowed() -> None:
    assert parse_path("<>", allow_null=True) == ""
    with pytest.raises(AddressError):
        parse_path("<>")


def test_smtputf8_allows_utf8() -> None:
    assert parse_path("<ユーザー@例え.JP>", smtputf8=True) == "ユーザー@例え.jp"
    with pytest.raises(AddressError):
        parse_path("<ユーザー@例え.jp>")
    with pytest.raises(AddressError):  # bytes that were not UTF-8 (surrogateescape)
        parse_path("<us\udcfeer@example.jp>", smtputf8=True)


SPLITS = [
    ("<a@b.example>", ("<a@b.example>", [])),
    ("<a@b.example> SIZE=100 BODY=8BITMIME", ("<a@b.example>", ["SIZE=100", "BODY=8BITMIME"])),
    ('<"a>b"@c.example> SIZE=1', ('<"a>b"@c.example>', ["SIZE=1"])),
    ("<>", ("<>", [])),
    ("  <a@b.example>  ", ("<a@b.example>", ["", ""])),
]


@pytest.mark.parametrize(("arg", "expected"), SPLITS)
def test_split(arg: str, expected: tuple[str, list[str]]) -> None:
    path, params = split_path_and_params(arg)
    assert path == expected[0]
    assert [p for p in params if p] == [p for p in expected[1] if p]


@pytest.mark.parametrize("arg", ["a@b.example", "<a@b.example>SIZE=1", "<a@b.example", '<"a>@b', ""])
def test_split_rejects(arg: str) -> None:
    with pytest.raises(AddressError):
        split_path_and_params(arg)


def test_esmtp_params() -> None:
    assert parse_esmtp_params(["size=10", "BODY=8BITMIME", "SMTPUTF8", ""]) == {
        "SIZE": "10",
        "BODY": "8BITMIME",
        "SMTPUTF8": None,
    }
    for bad in (["SIZE="], ["SI_ZE=1"], ["-X"], ["SIZE=1", "size=2"], ["X=a=b"]):
        with pytest.raises(ValueError):
            parse_esmtp_params(bad)


def test_mask() -> None:
    assert mask("yamada@example.co.jp") == "ya***@example.co.jp"
    assert mask("") == "<>"


@given(st.text(max_size=80))
def test_any_input_parses_or_raises_address_error(text: str) -> None:
    for path in (text, f"<{text}>"):
        try:
            out = parse_path(path, allow_null=True)
        except AddressError:
            continue
        # Whatever passes is a plain mailbox: no routing characters, no controls, one @.
        assert out == "" or out.count("@") == 1
        assert not any(c in out for c in '%!,:;<>"\\ \r\n\t\x00')
        assert len(out) <= 254


@given(st.from_regex(r"[a-z0-9]{1,10}(\.[a-z0-9]{1,10}){0,2}@[a-z]{1,10}\.[a-z]{2,5}", fullmatch=True))
def test_simple_addresses_round_trip(address: str) -> None:
    assert parse_path(f"<{address}>") == address


def test_parse_mailbox() -> None:
    assert parse_mailbox("Alice@Example.CO.JP") == "Alice@example.co.jp"
    for bad in ("", "<a@b.example>", "a%b@c.example", "@a:b@c.example", "a@b@c.example", "a"):
        with pytest.raises(AddressError):
            parse_mailbox(bad)
