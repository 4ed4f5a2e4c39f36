"""JP_DRIVER_LICENSE: the 12-digit driving licence number (運転免許証番号), only in context.

The first two digits name the issuing public safety commission (10-97), never 0x.
"""

from __future__ import annotations

from presidio_analyzer import Pattern

from gateway.scan.recognizers.base import NUM_LEAD, NUM_R, Recognizer, digits


class DriverLicenseRecognizer(Recognizer):
    ENTITY = "JP_DRIVER_LICENSE"
    PATTERNS = (Pattern("license", NUM_LEAD + r"\d{3}[ -]?\d{4}[ -]?\d{4}" + NUM_R, 0.2),)
    CONTEXT = ("免許証", "運転免許", "免許番号", "driver's license", "driving licence", "license no", "licence no")
    CONTEXT_BOOST = 0.55

    def validate(self, value: str) -> bool | None:
        d = digits(value)
        return len(d) == 12 and 10 <= int(d[:2]) <= 97
