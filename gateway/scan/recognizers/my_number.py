"""JP_MY_NUMBER: the 12-digit Individual Number (個人番号), validated by python-stdnum (`stdnum.jp.in_`).

About one random 12-digit number in ten passes the check digit, so a valid number alone scores low;
a context word (マイナンバー, 個人番号) on its line or the line above, a 個人番号 column, or a list of
three or more valid numbers (gateway.scan.evidence) makes it a finding.
"""

from __future__ import annotations

from presidio_analyzer import Pattern
from stdnum.jp import in_

from gateway.scan.recognizers.base import NUM_LEAD, NUM_R, Recognizer, digits


def check_digit(first11: str) -> int:
    """検査用数字 (総務省令第85号 第5条), as python-stdnum computes it."""
    return int(in_.calc_check_digit(first11))


def valid_my_number(value: str) -> bool:
    return in_.is_valid(digits(value))


class MyNumberRecognizer(Recognizer):
    ENTITY = "JP_MY_NUMBER"
    PATTERNS = (Pattern("my_number", NUM_LEAD + r"\d{3}[ -]?\d{4}[ -]?\d{4}" + NUM_R, 0.3),)
    CONTEXT = ("マイナンバー", "個人番号", "my number", "individual number", "mynumber")
    ANTI_CONTEXT = ("注文", "伝票", "請求", "口座", "免許", "会員番号", "受付番号", "order", "invoice", "tracking")
    CONTEXT_BOOST = 0.5

    def validate(self, value: str) -> bool | None:
        return valid_my_number(value)
