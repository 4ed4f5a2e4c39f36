"""US_SSN: 123-45-6789 with the SSA's impossible ranges excluded; a context word is needed."""

from __future__ import annotations

from presidio_analyzer import Pattern

from gateway.scan.recognizers.base import NUM_L, NUM_R, Recognizer, digits


def valid_ssn(value: str) -> bool:
    d = digits(value)
    if len(d) != 9 or len(set(d)) == 1:
        return False
    area, group, serial = d[:3], d[3:5], d[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


class UsSsnRecognizer(Recognizer):
    ENTITY = "US_SSN"
    PATTERNS = (
        Pattern("ssn_dashed", NUM_L + r"\d{3}-\d{2}-\d{4}" + NUM_R, 0.4),
        Pattern("ssn_plain", NUM_L + r"\d{9}" + NUM_R, 0.05),
    )
    CONTEXT = ("SSN", "social security", "社会保障番号", "SS#")
    CONTEXT_BOOST = 0.5

    def validate(self, value: str) -> bool | None:
        return valid_ssn(value)
