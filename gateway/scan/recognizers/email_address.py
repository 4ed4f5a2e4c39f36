"""EMAIL_ADDRESS, found next to kana and kanji (メールはtaro@example.co.jpまで), with internationalised
domains: punycode labels (user@xn--80ak6aa92e.com, a@xn--d1acufc.xn--p1ai) and Unicode labels
(taro@例え.jp, user@пример.рф). A Unicode top-level domain must be one the public suffix list knows
(publicsuffixlist, offline), so kana after an address is not read as a TLD. Role addresses (info@,
support@, noreply@ ...) belong to organisations and score below the threshold."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache

from presidio_analyzer import Pattern
from publicsuffixlist import PublicSuffixList

from gateway.scan.recognizers.base import Recognizer

_ROLES = (
    "info support noreply no-reply no_reply donotreply do-not-reply sales contact admin administrator "
    "webmaster postmaster hostmaster abuse help helpdesk service office inquiry inquiries toiawase "
    "otoiawase press pr recruit recruiting hr jobs billing accounts accounting invoice keiri soumu "
    "newsletter news marketing mailer-daemon security privacy legal customer customers cs team "
    "hello reception"
)
ROLE_LOCAL_PARTS = frozenset(_ROLES.split())

# letters of a domain label: ASCII, Latin with accents, Greek, Cyrillic, Arabic, Thai, kana, kanji, hangul
_L = (
    r"[A-Za-z0-9\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff\u0600-\u06ff\u0e00-\u0e7f\u3041-\u30ff"
    r"\u4e00-\u9fff\uac00-\ud7af]"
)
_LABEL = _L + r"(?:(?:" + _L + r"|-){0,61}" + _L + r")?"
_EMAIL = (
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9][A-Za-z0-9._%+\-]{0,63}@"
    r"(?:" + _LABEL + r"\.)+"
    r"(?:[A-Za-z]{2,24}(?![A-Za-z0-9\-])|xn--[A-Za-z0-9\-]{1,59}(?![A-Za-z0-9\-])|"
    r"[^\W\d_A-Za-z]{2,24})"
)
_ASCII_TLD = re.compile(r"\.(?:[A-Za-z]{2,24}|xn--[A-Za-z0-9\-]+)$")


@cache
def _psl() -> PublicSuffixList:
    return PublicSuffixList(accept_unknown=False)


def known_tld(domain: str) -> bool:
    """A Unicode top-level domain the public suffix list knows (ASCII ones are always taken)."""
    if _ASCII_TLD.search(domain):
        return True
    return _psl().publicsuffix(domain.lower()) is not None


class EmailRecognizer(Recognizer):
    ENTITY = "EMAIL_ADDRESS"
    PATTERNS = (Pattern("email", _EMAIL, 0.9),)
    CONTEXT = ("メール", "mail", "e-mail", "email", "アドレス")
    CONTEXT_BOOST = 0.05

    def validate(self, value: str) -> bool | None:
        return known_tld(value.rpartition("@")[2])

    def shorter(self, value: str) -> Iterator[str]:
        """A Unicode TLD followed by more letters (例え.みんなです): the longest known TLD."""
        dot = value.rfind(".")
        return (value[:k] for k in range(len(value) - 1, dot + 2, -1))

    def adjust(self, text: str, start: int, end: int, value: str, score: float) -> float:
        local = value.partition("@")[0].lower()
        if local in ROLE_LOCAL_PARTS or local.split("+")[0] in ROLE_LOCAL_PARTS:
            return 0.2
        return score
