"""Pure parts of delivery: back-off schedule, reply classification, MX ordering, notices, masking."""

from __future__ import annotations

import base64
import email
import email.policy
import random
import time
from email.message import Message

import pytest

from gateway.config import RetryConfig
from gateway.message import Envelope, QueuedMessage, received_count
from gateway.outbound import retry
from gateway.outbound.client import Outcome, classify
from gateway.outbound.dsn import FailedRecipient, build_dsn, failures_of, wants_notice
from gateway.outbound.nexthop import order_mx, recipient_domain
from gateway.outbound.worker import mask_address

POSTFIX_LIKE = RetryConfig()  # 300 s doubling to 3600 s, 5 days


# -- retry ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempts", "delay"), [(0, 300), (1, 300), (2, 600), (3, 1200), (4, 2400), (5, 3600), (6, 3600), (500, 3600)]
)
def test_backoff_doubles_up_to_the_maximum(attempts: int, delay: float) -> None:
    assert retry.backoff(attempts, POSTFIX_LIKE) == delay


def test_expiry_counts_from_received_at() -> None:
    received = 1_000_000.0
    assert not retry.expired(received, received + 5 * 86400 - 1, POSTFIX_LIKE)
    assert retry.expired(received, received + 5 * 86400, POSTFIX_LIKE)


def test_next_attempt_never_after_the_lifetime() -> None:
    received = 1_000_000.0
    assert retry.next_attempt_at(received, 1, received + 10, POSTFIX_LIKE) == received + 310
    late = received + 5 * 86400 - 60
    assert retry.next_attempt_at(received, 9, late, POSTFIX_LIKE) == received + 5 * 86400
    after = received + 6 * 86400
    assert retry.next_attempt_at(received, 9, after, POSTFIX_LIKE) == after + 3600


@pytest.mark.parametrize(
    ("lifetime", "text"),
    [(5 * 86400, "5 days"), (86400, "1 day"), (1.5 * 86400, "1.5 days"), (7200, "2 hours"), (30, "30 seconds")],
)
def test_lifetime_text(lifetime: float, text: str) -> None:
    assert retry.lifetime_text(RetryConfig(lifetime=lifetime)) == text


# -- replies --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "message", "outcome", "status", "text"),
    [
        (250, "2.0.0 Ok: queued as X", Outcome.DELIVERED, "2.0.0", "Ok: queued as X"),
        (250, "Ok", Outcome.DELIVERED, "2.0.0", "Ok"),
        (550, "5.1.1 <a@b>: No such user", Outcome.PERMANENT, "5.1.1", "<a@b>: No such user"),
        (554, "Rejected", Outcome.PERMANENT, "5.0.0", "Rejected"),
        (451, "4.3.0 Try later", Outcome.TEMPORARY, "4.3.0", "Try later"),
        (421, "5.0.0 odd server", Outcome.TEMPORARY, "4.0.0", "5.0.0 odd server"),  # class must agree
        (300, "what", Outcome.TEMPORARY, "4.0.0", "what"),  # anything unexpected is retried
        (550, "5.7.1 line one\nline two\r", Outcome.PERMANENT, "5.7.1", "line one line two"),
    ],
)
def test_classify(code: int, message: str, outcome: Outcome, status: str, text: str) -> None:
    result = classify(code, message)
    assert (result.outcome, result.code, result.status, result.text) == (outcome, code, status, text)


# -- MX order -------------------------------------------------------------------------------------


def test_mx_lowest_preference_first_random_among_equals() -> None:
    records = [(20, "c."), (10, "a."), (10, "b."), (30, "d."), (20, "c.")]
    seen = set()
    for seed in range(40):
        ordered = order_mx(records, random.Random(seed))
        assert sorted(ordered[:2]) == ["a.", "b."]
        assert ordered[2:] == ["c.", "d."]
        seen.add(tuple(ordered[:2]))
    assert seen == {("a.", "b."), ("b.", "a.")}


def test_recipient_domain() -> None:
    assert recipient_domain("Taro@Example.CO.JP") == "example.co.jp"
    assert recipient_domain("a@[127.0.0.1]") == "[127.0.0.1]"


# -- notices --------------------------------------------------------------------------------------

ORIGINAL = (
    b"From: =?UTF-8?B?5bGx55Sw?= <taro@example.co.jp>\r\n"
    b"To: a@partner.example\r\n"
    b"Subject: report\r\n"
    b"Message-ID: <orig-7@example.co.jp>\r\n"
    b"\r\n"
    b"Customer list: 5572 rows SECRET\r\n"
)


def _original(**kwargs: object) -> QueuedMessage:
    fields: dict[str, object] = {
        "id": "q1",
        "envelope": Envelope("taro@example.co.jp", ("a@partner.example", "b@partner.example")),
        "received_at": time.time() - 60,
        "failed": {"a@partner.example": "550 5.1.1 No such user"},
    }
    fields.update(kwargs)
    return QueuedMessage(**fields)  # type: ignore[arg-type]


def _parts(raw: bytes) -> tuple[Message, list[Message]]:
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    return message, _sub(message)


def _sub(message: Message) -> list[Message]:
    payload = message.get_payload()
    assert isinstance(payload, list)
    return [p for p in payload if isinstance(p, Message)]


def test_dsn_structure() -> None:
    original = _original()
    notice, raw = build_dsn(
        original, ORIGINAL, failures_of(original), postmaster="postmaster@example.co.jp", reporting_mta="gw.test"
    )
    assert notice.envelope.mail_from == ""
    assert notice.envelope.rcpt_tos == ("taro@example.co.jp",) == notice.pending
    assert notice.is_notice
    assert raw.isascii()  # 7-bit: any next hop takes it
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only
    message, (human, status, headers) = _parts(raw)
    assert message.get_content_type() == "multipart/report"
    assert message.get_param("report-type") == "delivery-status"
    assert message["From"] == "Mail Delivery System <postmaster@example.co.jp>"
    assert message["To"] == "<taro@example.co.jp>"
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["In-Reply-To"] == "<orig-7@example.co.jp>"
    text = base64.b64decode(str(human.get_payload())).decode("utf-8")
    assert "配送できませんでした" in text and "could not be delivered" in text
    assert "a@partner.example" in text and "b@partner.example" not in text
    assert status.get_content_type() == "message/delivery-status"
    blocks = _sub(status)
    assert blocks[0]["Reporting-MTA"] == "dns; gw.test"
    assert dict(blocks[1].items()) == {
        "Final-Recipient": "rfc822; a@partner.example",
        "Action": "failed",
        "Status": "5.1.1",
        "Diagnostic-Code": "smtp; 550 5.1.1 No such user",
    }
    assert headers.get_content_type() == "text/rfc822-headers"
    assert "Message-ID: <orig-7@example.co.jp>" in str(headers.get_payload())
    assert b"SECRET" not in raw  # never the body


def test_dsn_never_about_a_notice_or_to_the_null_sender() -> None:
    assert wants_notice(_original())
    assert not wants_notice(_original(is_notice=True))
    assert not wants_notice(_original(envelope=Envelope("", ("a@partner.example",))))
    assert not wants_notice(_original(envelope=Envelope("<>", ("a@partner.example",))))
    with pytest.raises(ValueError):
        build_dsn(_original(is_notice=True), ORIGINAL, [FailedRecipient("a@x", "5.0.0", "550 no")],
                  postmaster="p@x", reporting_mta="gw")  # fmt: skip


def test_dsn_keeps_utf8_headers_7bit_and_stops_at_malformed_lines() -> None:
    raw = "Subject: 月次報告\r\nX-Test: a\r\n continued\r\nthis is not a header\r\nSecret: body\r\n".encode()
    original = _original()
    _, dsn = build_dsn(original, raw, failures_of(original), postmaster="p@example.co.jp", reporting_mta="gw")
    assert dsn.isascii()
    _, (_, _, headers) = _parts(dsn)
    assert headers["Content-Transfer-Encoding"] == "base64"
    decoded = base64.b64decode(str(headers.get_payload())).decode("utf-8")
    assert decoded == "Subject: 月次報告\r\nX-Test: a\r\n continued\r\n"


def test_dsn_sanitises_what_the_remote_said() -> None:
    original = _original(failed={"a@partner.example": "550 5.7.1 bad\r\nBcc: injected\x00 ünïcode"})
    _, dsn = build_dsn(original, ORIGINAL, failures_of(original), postmaster="p@example.co.jp", reporting_mta="gw")
    assert b"\r\nBcc: injected" not in dsn
    _, (_, status, _) = _parts(dsn)
    blocks = _sub(status)
    assert blocks[1]["Diagnostic-Code"] == "smtp; 550 5.7.1 bad Bcc: injected ?n?code"


def test_dsn_internationalised_recipient() -> None:
    original = _original(failed={"山田@例え.jp": "550 5.1.1 no"})
    _, dsn = build_dsn(original, ORIGINAL, failures_of(original), postmaster="p@example.co.jp", reporting_mta="gw")
    assert b"Final-Recipient: utf-8; \\x{5C71}\\x{7530}@\\x{4F8B}\\x{3048}.jp" in dsn


def test_failures_of_parses_stored_replies() -> None:
    original = _original(failed={"a@x": "550 5.1.1 No such user", "b@x": "451 4.4.7 gave up after 5 days", "c@x": "?"})
    assert [(f.address, f.status) for f in failures_of(original)] == [
        ("a@x", "5.1.1"),
        ("b@x", "4.4.7"),
        ("c@x", "5.0.0"),
    ]


# -- logging helpers ------------------------------------------------------------------------------


def test_mask_address() -> None:
    assert mask_address("taro.yamada@example.co.jp") == "ta***@example.co.jp"
    assert mask_address("a@example.co.jp") == "a***@example.co.jp"
    assert mask_address("no-at-sign") == "***"


def test_received_count_only_in_headers() -> None:
    raw = b"Received: a\r\nreceived: b\r\nSubject: x\r\n\r\nReceived: in the body\r\n"
    assert received_count(raw) == 2
