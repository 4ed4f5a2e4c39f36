"""CREDIT_CARD: 12-19 digits in a card brand's published IIN range (card_iin.py) with a valid Luhn
check digit (python-stdnum). Context: card words, and an expiry date (exp 01/30, 有効期限) or a CVV
on the line or the line below. A 13-digit number that is a valid JAN/EAN-13 code (45/49) is a
product, not a card."""

from __future__ import annotations

import re

from presidio_analyzer import Pattern
from stdnum import ean
from stdnum import luhn as _luhn

from gateway.scan.recognizers.base import NUM_LEAD, NUM_R, Recognizer, digits
from gateway.scan.recognizers.card_iin import brand_of


def luhn(number: str) -> bool:
    return _luhn.is_valid(number)


def valid_card(value: str) -> bool:
    """Luhn-valid, in a brand's IIN range, or 14-19 digits of an issuer not in the table (those count
    only next to a card word: see UNKNOWN_BRAND_PENALTY); a JAN code is not a card."""
    d = digits(value)
    if not 12 <= len(d) <= 19 or len(set(d)) == 1 or not luhn(d):
        return False
    if brand_of(d) is None and len(d) < 14:
        return False
    return not (len(d) == 13 and d.startswith(("45", "49")) and ean.is_valid(d))


# A Luhn-valid number outside every published range (a new or private issuer, or a generator's
# approximation of a range) scores this much lower: below the threshold unless a card word is near.
UNKNOWN_BRAND_PENALTY = 0.25


class CreditCardRecognizer(Recognizer):
    ENTITY = "CREDIT_CARD"
    PATTERNS = (
        Pattern(
            "card_grouped",
            NUM_LEAD + r"\d{3}(?:(?P<s>[ -])\d{4}(?P=s)\d{4}(?P=s)\d{1,7}|(?P<t>[ -])\d{6}(?P=t)\d{4,5})" + NUM_R,
            0.6,
        ),
        Pattern("card_plain", NUM_LEAD + r"\d{11,18}" + NUM_R, 0.4),
    )
    CONTEXT = (
        "カード", "クレジット", "card", "VISA", "Mastercard", "JCB", "AMEX", "Diners", "Maestro", "UnionPay",
        "銀聯", "有効期限", "expiry", "expires", "exp", "valid thru", "CVV", "CVC", "CVV2", "セキュリティコード",
        "セキュリティーコード",
    )  # fmt: skip
    # an expiry date written as MM/YY or MM/YYYY next to the number
    CONTEXT_PATTERN = re.compile(r"(?<![0-9/.])(?:0[1-9]|1[0-2]) ?/ ?(?:20)?[0-9]{2}(?![0-9/.])")
    ANTI_CONTEXT = (
        "注文", "伝票", "追跡", "口座", "order", "tracking", "invoice", "問い合わせ番号", "JAN", "商品コード",
    )  # fmt: skip
    LINE_BELOW = True

    def validate(self, value: str) -> bool | None:
        return valid_card(value)

    def adjust(self, text: str, start: int, end: int, value: str, score: float) -> float:
        return score if brand_of(digits(value)) is not None else score - UNKNOWN_BRAND_PENALTY
