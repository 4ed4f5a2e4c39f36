"""JP_PHONE_NUMBER: fixed lines, mobiles (070/080/090), IP phones (050), +81 forms.

Toll-free and shared-cost numbers (0120, 0800, 0570, 0180, 0990) belong to companies: never personal.
"""

from __future__ import annotations

from presidio_analyzer import Pattern

from gateway.scan.recognizers.base import NUM_R, Recognizer, digits, lead

COMPANY_PREFIXES = ("0120", "0800", "0570", "0180", "0990")
ELEVEN_DIGIT_PREFIXES = ("070", "080", "090", "050", "020")

_SEP = r"[- ]?"
# Groups joined by a hyphen, a dot (business cards, and OCR's reading of a hyphen) or a middle dot,
# each with an optional space around it as OCR puts it ("090.8364 8737", "090 - 8364 - 8737").
_JOIN = r" ?[-.・] ?"
_GROUPED = r"0\d{1,4}(?:" + _JOIN + r"|\(|\)|\) ?| )\d{1,4}(?:" + _JOIN + r"|\)|\) ?| )\d{4}"
_PAREN = r"\(0\d{1,4}\) ?\d{1,4}[-.]?\d{4}"
_PLAIN = r"0\d{9,10}"


def _starting(first: str) -> str:
    """`first` not inside a number nor after a '+' (NUM_L and (?<!\\+), base.lead)."""
    return lead(first, "[0-9]", "[0-9]-", r"\+")


_PLUS81 = r"\+81[- ]?\(?0?\)?[- ]?\d{1,4}[- )]?\d{1,4}[- ]?\d{4}"


def national(value: str) -> str:
    """The number as dialled inside Japan: '+81-90-1234-5678' → '09012345678'."""
    d = digits(value)
    if value.lstrip().startswith("+81"):
        d = d[2:]
        if not d.startswith("0"):
            d = "0" + d
    return d


def valid_jp_phone(value: str) -> bool:
    d = national(value)
    if d.startswith(COMPANY_PREFIXES):
        return False
    if len(d) == 11:
        return d.startswith(ELEVEN_DIGIT_PREFIXES)
    if len(d) == 10:
        return not d.startswith(ELEVEN_DIGIT_PREFIXES) and d[1] != "0"
    return False


class JpPhoneRecognizer(Recognizer):
    ENTITY = "JP_PHONE_NUMBER"
    PATTERNS = (
        Pattern(
            "jp_phone_grouped",
            "(?:" + _starting("0") + _GROUPED[1:] + "|" + _starting(r"\(") + _PAREN[2:] + ")" + NUM_R,
            0.6,
        ),
        Pattern("jp_phone_plus81", lead(r"\+", "[0-9]") + _PLUS81[2:] + NUM_R, 0.65),
        Pattern("jp_phone_plain", _starting("0") + _PLAIN[1:] + NUM_R, 0.35),
    )
    CONTEXT = ("電話", "TEL", "携帯", "連絡先", "phone", "mobile", "cell", "FAX", "ファックス", "ケータイ")
    ANTI_CONTEXT = ("注文", "伝票", "請求", "品番", "型番", "会員番号", "受付番号", "order", "invoice", "口座")
    CONTEXT_BOOST = 0.3

    def validate(self, value: str) -> bool | None:
        return valid_jp_phone(value)

    def adjust(self, text: str, start: int, end: int, value: str, score: float) -> float:
        if national(value).startswith(ELEVEN_DIGIT_PREFIXES):
            score += 0.1  # mobiles and IP phones belong to people more often than fixed lines
        return score
