"""CREDIT_CARD: 13-19 digits with a Luhn check and a card brand's prefix."""

from __future__ import annotations

import re

from presidio_analyzer import Pattern

from gateway.scan.recognizers.base import NUM_L, NUM_R, Recognizer, digits

_BRAND = re.compile(
    r"4|5[1-5]|2(?:2[2-9][1-9]|2[3-9]|[3-6]|7[01]|720)|3[47]|35(?:2[89]|[3-8])|3(?:0[0-5]|[68])|6(?:011|5)"
)


def luhn(number: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(number)):
        n = int(c)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def valid_card(value: str) -> bool:
    d = digits(value)
    return 13 <= len(d) <= 19 and _BRAND.match(d) is not None and luhn(d) and len(set(d)) > 1


class CreditCardRecognizer(Recognizer):
    ENTITY = "CREDIT_CARD"
    PATTERNS = (
        Pattern(
            "card_grouped", NUM_L + r"(?:\d{4}[ -]\d{4}[ -]\d{4}[ -]\d{1,7}|\d{4}[ -]\d{6}[ -]\d{4,5})" + NUM_R, 0.6
        ),
        Pattern("card_plain", NUM_L + r"\d{13,19}" + NUM_R, 0.4),
    )
    CONTEXT = ("カード", "クレジット", "card", "VISA", "Mastercard", "JCB", "AMEX", "Diners", "有効期限", "expiry")
    ANTI_CONTEXT = ("注文", "伝票", "追跡", "口座", "order", "tracking", "invoice", "問い合わせ番号")

    def validate(self, value: str) -> bool | None:
        return valid_card(value)
