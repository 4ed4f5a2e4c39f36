"""EMAIL_ADDRESS, found next to kana and kanji (メールはtaro@example.co.jpまで). Role addresses
(info@, support@, noreply@ ...) belong to organisations and score below the threshold."""

from __future__ import annotations

from presidio_analyzer import Pattern

from gateway.scan.recognizers.base import Recognizer

_ROLES = (
    "info support noreply no-reply no_reply donotreply do-not-reply sales contact admin administrator "
    "webmaster postmaster hostmaster abuse help helpdesk service office inquiry inquiries toiawase "
    "otoiawase press pr recruit recruiting hr jobs billing accounts accounting invoice keiri soumu "
    "newsletter news marketing mailer-daemon security privacy legal customer customers cs team "
    "hello reception"
)
ROLE_LOCAL_PARTS = frozenset(_ROLES.split())

_EMAIL = (
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9][A-Za-z0-9._%+\-]{0,63}@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![A-Za-z0-9\-])"
)


class EmailRecognizer(Recognizer):
    ENTITY = "EMAIL_ADDRESS"
    PATTERNS = (Pattern("email", _EMAIL, 0.9),)
    CONTEXT = ("メール", "mail", "e-mail", "email", "アドレス")
    CONTEXT_BOOST = 0.05

    def adjust(self, text: str, start: int, end: int, value: str, score: float) -> float:
        local = value.partition("@")[0].lower()
        if local in ROLE_LOCAL_PARTS or local.split("+")[0] in ROLE_LOCAL_PARTS:
            return 0.2
        return score
