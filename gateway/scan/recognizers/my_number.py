"""JP_MY_NUMBER: the 12-digit Individual Number (個人番号) with its official check digit.

About one random 12-digit number in eleven passes the check, so a valid number alone scores low;
a context word (マイナンバー, 個人番号) or a 個人番号 column makes it a finding.
"""

from __future__ import annotations

from presidio_analyzer import Pattern

from gateway.scan.recognizers.base import NUM_L, NUM_R, Recognizer, digits


def check_digit(first11: str) -> int:
    """検査用数字 (総務省令第85号 第5条): weights 2..7, 2..6 from the right, modulus 11."""
    total = 0
    for n in range(1, 12):
        p = int(first11[11 - n])
        q = n + 1 if n <= 6 else n - 5
        total += p * q
    r = total % 11
    return 0 if r <= 1 else 11 - r


def valid_my_number(value: str) -> bool:
    d = digits(value)
    return len(d) == 12 and int(d[11]) == check_digit(d[:11])


class MyNumberRecognizer(Recognizer):
    ENTITY = "JP_MY_NUMBER"
    PATTERNS = (Pattern("my_number", NUM_L + r"\d{4}[ -]?\d{4}[ -]?\d{4}" + NUM_R, 0.3),)
    CONTEXT = ("マイナンバー", "個人番号", "my number", "individual number", "mynumber")
    ANTI_CONTEXT = ("注文", "伝票", "請求", "口座", "免許", "会員番号", "受付番号", "order", "invoice", "tracking")
    CONTEXT_BOOST = 0.5

    def validate(self, value: str) -> bool | None:
        return valid_my_number(value)
