"""Notifier.build writes a notice with the email package's compat32 classes (fast); a mail reader must
see what the EmailMessage + set_content form it replaces produced: the same header values (the subject
exactly as written), the same decoded body, the same MIME type, charset and transfer encoding."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage, Message

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.config import Config
from gateway.hold.notify import FROM_NAME, SUBJECT_CHARS, NoticeSettings, Notifier
from gateway.mail.compose import own_headers
from gateway.mail.safe_text import one_line

NOW = 1_780_000_000.0


def reference_build(notifier: Notifier, to: str, subject: str, body: str) -> bytes:
    """The form Notifier.build had before (policy.default)."""
    mail = EmailMessage()
    own = own_headers(
        from_name=FROM_NAME,
        from_address=notifier.settings.postmaster,
        to=to,
        now=NOW,
        domain=notifier.settings.helo_name,
        auto_submitted="auto-generated",
        kind="notice",
    )
    for name, value in own:
        mail[name] = value
    mail["Subject"] = one_line(subject, SUBJECT_CHARS)
    mail["X-Auto-Response-Suppress"] = "All"
    mail.set_content(body, charset="utf-8", cte="base64")
    return mail.as_bytes(policy=mail.policy.clone(linesep="\r\n"))


def read(raw: bytes) -> tuple[dict[str, str], str, tuple[str, str | None, str]]:
    mail = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(mail, EmailMessage)
    headers = {k: str(v) for k, v in mail.items() if k != "Message-ID"}
    kind = (mail.get_content_type(), mail.get_content_charset(), mail["Content-Transfer-Encoding"])
    return headers, mail.get_content(), kind


def notifier() -> Notifier:
    return Notifier(None, NoticeSettings.of(Config()))  # type: ignore[arg-type]  # build needs no store


texts = st.lists(
    st.one_of(
        st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30),
        st.sampled_from(
            [
                "\n",
                "\r\n",
                "\r",
                "様",
                "保留",
                "\u3000",
                " ",
                "=?utf-8?b?",
                "?=",
                "=?utf-8?q?x?=",
                "\t",
                "\x0b",
                "\u2028",
                "[Not sent]",
            ]
        ),
    ),
    max_size=40,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(subject=texts, body=texts)
def test_build_reads_as_the_policy_default_form(subject: str, body: str) -> None:
    n = notifier()
    _, raw = n.build("yamada@example.co.jp", subject, body, now=NOW)
    headers, text, kind = read(raw)
    # The subject reads back exactly as written (policy.default's folding could drop the space
    # between two encoded words: "様 ¡" came back as "様¡").
    assert headers.pop("Subject") == one_line(subject, SUBJECT_CHARS)
    want_headers, want_text, want_kind = read(reference_build(n, "yamada@example.co.jp", subject, body))
    del want_headers["Subject"]
    assert (headers, text, kind) == (want_headers, want_text, want_kind)


def test_build_is_crlf_throughout_with_one_line_headers() -> None:
    n = notifier()
    subject = "【確認依頼】送信を保留しました: " + "お見積書の件（株式会社北斗物産 御中）" * 8
    _, raw = n.build("yamada@example.co.jp", subject, "山田様\n\n保留しました。\n", now=NOW)
    assert b"\n" not in raw.replace(b"\r\n", b"")
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")  # every header 7-bit: encoded words
    assert all(len(line) <= 78 for line in head.split("\r\n"))
    parsed: Message = email.message_from_bytes(raw, policy=email.policy.default)
    assert str(parsed["Subject"]).startswith("【確認依頼】送信を保留しました: お見積書の件")
    assert parsed["Auto-Submitted"] == "auto-generated"


def test_ascii_words_stay_readable_in_the_raw_subject() -> None:
    """As policy.default writes it: "[Not sent]" is there for a header filter or a person reading the
    raw header; only the Japanese run is an encoded word; an ASCII word that looks like an encoded word
    is encoded, so a reader cannot take it for one."""
    n = notifier()
    _, raw = n.build("yamada@example.co.jp", "[Not sent] 打ち合わせ =?utf-8?b?5pel?= end", "x\n", now=NOW)
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    assert "Subject: [Not sent] =?utf-8?b?" in head
    assert "=?utf-8?b?5pel?=" not in head
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert str(parsed["Subject"]) == "[Not sent] 打ち合わせ =?utf-8?b?5pel?= end"
