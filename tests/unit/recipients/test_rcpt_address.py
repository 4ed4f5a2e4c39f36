"""The strict address parser: envelope addr-specs and To/Cc/Bcc header values."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.mail.addresses import (
    AddressError,
    mask,
    normalise_domain,
    parse_address,
    parse_address_list,
    unicode_domain,
)

VALID = [
    ("taro@example.co.jp", "taro@example.co.jp"),
    ("Taro.Yamada@Example.CO.JP", "taro.yamada@example.co.jp"),
    ("a+tag@sub.example.com", "a+tag@sub.example.com"),
    ("o'brien@example.ie", "o'brien@example.ie"),
    ('"john doe"@example.com', '"john doe"@example.com'),
    ("user@例え.jp", "user@xn--r8jz45g.jp"),
    ("ユーザー@example.jp", "ユーザー@example.jp"),  # SMTPUTF8 local part
    ("x@xn--r8jz45g.jp", "x@xn--r8jz45g.jp"),
]

INVALID = [
    ("", "empty"),
    ("taro", "no at"),
    ("taro@", "empty domain"),
    ("@example.com", "empty local"),
    ("@relay.example:taro@example.com", "source route"),
    ("taro%example.com@relay.example", "percent hack"),
    ("relay.example!taro@example.com", "bang path"),
    ("taro@[192.0.2.1]", "address literal"),
    ("taro@example", "single label"),
    ("taro@example.com.", "trailing dot"),
    ("taro@exa_mple.com", "underscore in domain"),
    ("taro@-example.com", "leading hyphen"),
    ("ta ro@example.com", "space"),
    ("taro@example.com\r\nRCPT TO:<x@evil.example>", "CRLF injection"),
    ("taro\x00@example.com", "NUL"),
    ("a@b@example.com", "two at"),
    ("<taro@example.com>", "angle brackets"),
    ("taro..yamada@example.com", "double dot"),
    (".taro@example.com", "leading dot"),
    ('"unterminated@example.com', "open quote"),
    ("taro@192.0.2.1", "numeric tld"),
    ("x@xn--zz.jp", "broken punycode"),
    ("a" * 65 + "@example.com", "local part too long"),
]


@pytest.mark.parametrize(("text", "expected"), VALID)
def test_valid_addresses(text: str, expected: str) -> None:
    assert parse_address(text).normalised == expected


@pytest.mark.parametrize(("text", "why"), INVALID)
def test_invalid_addresses(text: str, why: str) -> None:
    with pytest.raises(AddressError):
        parse_address(text)


HEADERS = [
    ("a@example.com", ["a@example.com"]),
    ("a@example.com, b@example.org", ["a@example.com", "b@example.org"]),
    ('"Yamada, Taro" <taro@example.co.jp>', ["taro@example.co.jp"]),
    ("Yamada Taro <taro@example.co.jp>, hanako@example.co.jp", ["taro@example.co.jp", "hanako@example.co.jp"]),
    ("=?UTF-8?B?5bGx55Sw?= <taro@example.co.jp>", ["taro@example.co.jp"]),
    ("taro@example.co.jp (Taro, sales)", ["taro@example.co.jp"]),
    ("Team: a@example.com, b@example.com;, c@example.com", ["a@example.com", "b@example.com", "c@example.com"]),
    ("undisclosed-recipients:;", []),
    ("a@example.com,,b@example.com,", ["a@example.com", "b@example.com"]),
    ("a@example.com,\r\n b@example.com", ["a@example.com", "b@example.com"]),
    ('"<evil@attacker.example>" <good@example.com>', ["good@example.com"]),
    ("山田 太郎 <taro@example.co.jp>", ["taro@example.co.jp"]),
    ("", []),
]


@pytest.mark.parametrize(("value", "expected"), HEADERS)
def test_header_address_lists(value: str, expected: list[str]) -> None:
    parsed = parse_address_list(value)
    assert [a.normalised for a in parsed.addresses] == expected
    assert parsed.errors == []


BAD_HEADERS = [
    # The CVE-2023-27043 shape: getaddresses() returns the wrong address for these.
    ("alice@example.org)<bob@example.com>", "stray ')'"),
    ('"alice@example.org" <bob@example.com', "unterminated angle"),
    ("a@example.com <b@example.com>", "address then angle address"),
    ("<a@example.com> <b@example.com>", "two angle addresses"),
    ("Group: a@example.com", "unterminated group"),
    ("a@example.com; b@example.com", "';' outside group"),
    ("<@relay.example:a@example.com>", "source route in angle address"),
    ('"unterminated <a@example.com>', "unterminated quote"),
    ("a@example.com (unterminated comment", "unterminated comment"),
    ("a@example.com\x00", "NUL"),
]


@pytest.mark.parametrize(("value", "why"), BAD_HEADERS)
def test_bad_header_elements_are_errors_not_guesses(value: str, why: str) -> None:
    parsed = parse_address_list(value)
    assert parsed.errors, why


def test_one_bad_element_does_not_hide_the_good_ones() -> None:
    parsed = parse_address_list("ok@example.com, bad@@example.com, fine@example.org")
    assert [a.normalised for a in parsed.addresses] == ["ok@example.com", "fine@example.org"]
    assert len(parsed.errors) == 1


def test_undecoded_utf8_surrogates_are_repaired() -> None:
    raw = "山田 <taro@example.co.jp>".encode().decode("ascii", "surrogateescape")
    assert [a.normalised for a in parse_address_list(raw).addresses] == ["taro@example.co.jp"]


def test_domains() -> None:
    assert normalise_domain("EXAMPLE.co.jp") == "example.co.jp"
    assert normalise_domain("例え.jp") == "xn--r8jz45g.jp"
    assert unicode_domain("xn--r8jz45g.jp") == "例え.jp"
    assert unicode_domain("example.com") == "example.com"


def test_mask_never_shows_the_local_part() -> None:
    assert mask("taro.yamada@example.co.jp") == "ta***@example.co.jp"
    assert "yamada" not in mask("taro.yamada@example.co.jp")
    assert mask("garbage") == "***"


@given(st.text(max_size=80))
def test_parser_never_raises_anything_but_address_error(text: str) -> None:
    try:
        a = parse_address(text)
    except AddressError:
        return
    forbidden = set("%!\r\n\x00 ") | {chr(c) for c in range(32)}
    assert not (set(a.local) & forbidden) or a.local.startswith('"')
    assert "%" not in a.local and "!" not in a.local
    assert a.domain.isascii() and ":" not in a.domain


@given(st.text(alphabet=st.sampled_from(list('ab@.<>,;:"()\\ \tx-')), max_size=60))
def test_header_parser_is_total(value: str) -> None:
    parsed = parse_address_list(value)
    for a in parsed.addresses:
        assert parse_address(a.normalised) == a
