"""Display names from To/Cc (misaddressed._display_names) skip the RFC 2047 decoder when a value holds
no encoded word ("=?"), since the decoder gives such text back unchanged; and parse_address_list uses
compiled patterns. Differential: the same answers as the former forms over a table of header values
(plain, quoted, encoded words good and bad, raw UTF-8, folded, control characters, "=?" that is no
encoded word)."""

from __future__ import annotations

import email.header
import email.message
import re

import pytest

from gateway.mail import addresses
from gateway.mail.mimeparse import parse_header_block
from gateway.recipients.misaddressed import _NAME_ADDR, _display_names

VALUES = [
    "<partner@partner.example>",
    "partner@partner.example",
    "Taro Yamada <taro@partner.example>",
    '"Yamada, Taro" <taro@partner.example>, Hanako <hanako@other.example>',
    '"Quoted \\"inner\\" name" <q@partner.example>',
    "=?utf-8?b?5bGx55Sw5aSq6YOO?= <taro@partner.example>",
    "=?iso-2022-jp?b?GyRCOzNFRBsoQg==?= <taro@partner.example>",
    "=?utf-8?q?Yamada=20Taro?= <taro@partner.example>",
    "=?utf-8?b?!!!notbase64?= <taro@partner.example>",
    "=?bogus-charset?q?x?= <taro@partner.example>",
    "a =? b <taro@partner.example>",
    "=?= <taro@partner.example>",
    "山田 太郎 <taro@partner.example>",
    "Taro\r\n Yamada <taro@partner.example>",
    "Group: a <a@partner.example>, b <b@partner.example>;",
    "Bad\x01Name <taro@partner.example>",
    "undisclosed-recipients:;",
    "<taro@partner.example>, <TARO@partner.example>",
    "",
]
WANTED = {
    "taro@partner.example",
    "hanako@other.example",
    "q@partner.example",
    "a@partner.example",
    "b@partner.example",
    "partner@partner.example",
}


def _old_display_names(headers: email.message.Message | None, wanted: set[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    if headers is None or not wanted:
        return out
    for name in ("to", "cc"):
        for value in headers.get_all(name) or []:
            try:
                text = str(email.header.make_header(email.header.decode_header(str(value))))
            except Exception:
                continue
            for m in _NAME_ADDR.finditer(text):
                display = (m.group(1) if m.group(1) is not None else m.group(2) or "").strip()
                addr = m.group(3).strip().lower()
                if display and addr in wanted and addr not in out:
                    out[addr] = display.replace('\\"', '"')[:100]
    return out


def _old_parse_address_list(value: str) -> addresses.ParsedAddressList:
    text = re.sub(r"\r?\n(?=[ \t])", "", addresses._repair(str(value)))
    if re.search(r"[\x00-\x08\x0a-\x1f\x7f]", text):
        return addresses.ParsedAddressList(errors=["control characters in header"])
    return addresses.parse_address_list(text)  # unfolded and clean: the rest of the function is unchanged


def _headers(to: str, cc: str = "") -> email.message.Message:
    raw = f"From: s@example.co.jp\r\nTo: {to}\r\n" + (f"Cc: {cc}\r\n" if cc else "") + "Subject: x\r\n\r\nbody\r\n"
    return parse_header_block(raw.encode("utf-8", "surrogateescape"))


@pytest.mark.parametrize("value", VALUES)
def test_display_names_as_before(value: str) -> None:
    headers = _headers(value, cc=VALUES[3])
    assert _display_names(headers, WANTED) == _old_display_names(headers, WANTED)


def test_display_names_as_before_in_every_pairing() -> None:
    for to in VALUES:
        for cc in VALUES[:8]:
            headers = _headers(to, cc)
            assert _display_names(headers, WANTED) == _old_display_names(headers, WANTED), (to, cc)


def test_raw_8bit_header_as_before() -> None:
    raw = "To: 山田 <taro@partner.example>\r\nCc: =?utf-8?b?6Iqx5a2Q?= <hanako@other.example>\r\n\r\nx\r\n".encode()
    headers = parse_header_block(raw)
    assert _display_names(headers, WANTED) == _old_display_names(headers, WANTED)
    assert _display_names(headers, WANTED)["hanako@other.example"] == "花子"


@pytest.mark.parametrize("value", [*VALUES, "a@b.example\r\n\tc@d.example", "x\ny@z.example", "a@b.example\x7f"])
def test_parse_address_list_as_before(value: str) -> None:
    new, old = addresses.parse_address_list(value), _old_parse_address_list(value)
    assert [a.normalised for a in new.addresses] == [a.normalised for a in old.addresses]
    assert new.errors == old.errors
