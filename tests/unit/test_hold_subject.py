"""A held message is not parsed again for its details: the pipeline's header parse gives the Subject,
decoded exactly as a parse with the default policy decodes it."""

from __future__ import annotations

import email.parser
import email.policy
from email.header import Header
from pathlib import Path

import pytest

from gateway.flow import parse_headers
from gateway.hold.details import decode_subject, details_of, subject_field
from gateway.verdict import Action, Verdict

SAMPLES = sorted(Path(__file__).resolve().parents[1].rglob("*.eml"))
SUBJECTS = [
    b"Subject: plain ascii",
    b"Subject: =?utf-8?b?5bGx55Sw5qeY44Gu6KaL56mN?=",
    b"Subject: =?iso-2022-jp?b?GyRCOyQ7dhsoQg==?= and text",
    b"Subject: folded\r\n  over two lines",
    b"Subject: =?utf-8?q?broken",
    b"Subject: raw 8bit \xe5\xb1\xb1\xe7\x94\xb0",
    b"X-Other: 1",
    b"Subject: first\r\nSubject: second",
    ("Subject: " + Header("見積書の送付について（ご確認ください）", "utf-8").encode()).encode(),
]


def _default(raw: bytes) -> str:
    message = email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(raw)
    try:
        return str(message.get("Subject", "") or "")
    except (ValueError, LookupError, TypeError):
        return ""


@pytest.mark.parametrize("raw", [s + b"\r\n\r\nbody\r\n" for s in SUBJECTS] + [p.read_bytes() for p in SAMPLES])
def test_subject_from_the_pipelines_parse_is_the_default_policys(raw: bytes) -> None:
    assert decode_subject(subject_field(parse_headers(raw))) == _default(raw)


def test_details_take_the_subject_from_the_verdict_without_the_message() -> None:
    verdict = Verdict(Action.HOLD_SENDER, subject="=?utf-8?q?=E8=A6=8B=E7=A9=8D=E6=9B=B8=0D=0ABcc:_forged?=")
    assert details_of(verdict, b"")["subject"] == "見積書 Bcc: forged"  # decoded, one safe line


def test_details_of_a_verdict_from_elsewhere_read_the_header_block() -> None:
    raw = b"Subject: =?utf-8?b?5bGx55Sw?=\r\n\r\n" + b"x" * 1000
    assert details_of(Verdict(Action.HOLD_SENDER), raw)["subject"] == "山田"
