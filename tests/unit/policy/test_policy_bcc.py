"""rewrite_to_bcc: external To/Cc addresses leave the header; everything else stays byte for byte."""

from __future__ import annotations

import email
import email.policy

from gateway.mail.bcc import rewrite_to_bcc

BODY = b"\r\n\r\nline one\r\nTo: not-a-header@partner.example\r\n"


def msg(*headers: bytes) -> bytes:
    return b"\r\n".join((b"From: taro@example.co.jp", *headers, b"Subject: hello")) + BODY


def test_moves_external_addresses_and_keeps_the_rest() -> None:
    raw = msg(
        b"To: =?UTF-8?B?55Sw5Lit?= <tanaka@partner.example>, boss@example.co.jp",
        b'Cc: "Sato, H." <SATO@Other.example>,\r\n suzuki@example.co.jp',
    )
    out = rewrite_to_bcc(raw, {"tanaka@partner.example", "sato@other.example"})
    assert out == msg(b"To: boss@example.co.jp", b"Cc: suzuki@example.co.jp")
    assert out.endswith(BODY)


def test_display_names_of_kept_addresses_survive() -> None:
    raw = msg(b'To: "Yamada, T." <yamada@example.co.jp>, a@x.example')
    assert rewrite_to_bcc(raw, {"a@x.example"}) == msg(b'To: "Yamada, T." <yamada@example.co.jp>')


def test_all_removed_gives_undisclosed_recipients() -> None:
    raw = msg(b"To: a@x.example, b@y.example", b"Cc: c@z.example")
    out = rewrite_to_bcc(raw, {"a@x.example", "b@y.example", "c@z.example"})
    assert out == msg(b"To: undisclosed-recipients:;")
    parsed = email.message_from_bytes(out, policy=email.policy.default)
    assert parsed["Cc"] is None and parsed.get_content().startswith("line one")


def test_nothing_to_move_returns_the_same_bytes() -> None:
    raw = msg(b"To: a@example.co.jp")
    assert rewrite_to_bcc(raw, {"x@partner.example"}) is raw


def test_unreadable_field_is_left_alone() -> None:
    raw = msg(b"To: a@x.example, <broken")
    assert rewrite_to_bcc(raw, {"a@x.example"}) == raw


def test_lf_only_messages_and_groups() -> None:
    raw = b"To: team: a@x.example, b@example.co.jp;\nSubject: s\n\nbody\n"
    assert rewrite_to_bcc(raw, {"a@x.example"}) == b"To: b@example.co.jp\nSubject: s\n\nbody\n"


def test_only_the_top_level_header_changes() -> None:
    inner = b"Content-Type: message/rfc822\r\n\r\nTo: a@x.example\r\n\r\nforwarded\r\n"
    raw = b"To: a@x.example, b@example.co.jp\r\nMIME-Version: 1.0\r\n" + inner
    out = rewrite_to_bcc(raw, {"a@x.example"})
    assert out == b"To: b@example.co.jp\r\nMIME-Version: 1.0\r\n" + inner
