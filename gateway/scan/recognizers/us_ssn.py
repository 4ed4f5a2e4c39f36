"""US_SSN: 078-05-1123, 078.05.1123, 078 05 1123 (one separator throughout) or nine digits, with the
SSA's rules as python-stdnum applies them (no 000/666/9xx area, 00 group or 0000 serial, no published
specimen such as the Woolworth card's 078-05-1120). A context word (SSN, social security) is needed."""

from __future__ import annotations

from presidio_analyzer import Pattern
from stdnum.us import ssn

from gateway.scan.recognizers.base import NUM_LEAD, NUM_R, Recognizer, digits, lead


def valid_ssn(value: str) -> bool:
    d = digits(value)
    return len(d) == 9 and len(set(d)) > 1 and ssn.is_valid(f"{d[:3]}-{d[3:5]}-{d[5:]}")


class UsSsnRecognizer(Recognizer):
    ENTITY = "US_SSN"
    PATTERNS = (
        Pattern("ssn_dashed", NUM_LEAD + r"\d{2}-\d{2}-\d{4}" + NUM_R, 0.4),
        # dots or spaces: the same separator twice, and not a piece of a longer spaced number
        Pattern(
            "ssn_dotted",
            lead(r"\d", "[0-9][ .]", "[0-9]", "[0-9]-") + r"\d{2}(?P<s>[. ])\d{2}(?P=s)\d{4}(?![ .]?[0-9])",
            0.1,
        ),
        Pattern("ssn_plain", NUM_LEAD + r"\d{8}" + NUM_R, 0.05),
    )
    CONTEXT = ("SSN", "social security", "社会保障番号", "SS#", "SSN#", "soc sec")
    CONTEXT_BOOST = 0.5
    NEEDS_CONTEXT = ("ssn_dotted", "ssn_plain")

    def validate(self, value: str) -> bool | None:
        return valid_ssn(value)
