"""IBAN_CODE: country, check digits, account; the ISO 13616 mod-97 check and the country's length."""

from __future__ import annotations

from presidio_analyzer import Pattern

from gateway.scan.recognizers.base import Recognizer

LENGTHS = {
    "AD": 24, "AE": 23, "AT": 20, "BE": 16, "BG": 22, "BH": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22,
    "DK": 18, "EE": 20, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GI": 23, "GL": 18, "GR": 27,
    "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IS": 26, "IT": 27, "LI": 21, "LT": 20, "LU": 20, "LV": 21,
    "MC": 27, "MT": 31, "NL": 18, "NO": 15, "PL": 28, "PT": 25, "RO": 24, "SA": 24, "SE": 24, "SI": 19,
    "SK": 24, "SM": 27, "TR": 26,
}  # fmt: skip


def valid_iban(value: str) -> bool:
    s = value.replace(" ", "").upper()
    if LENGTHS.get(s[:2]) != len(s):
        return False
    moved = s[4:] + s[:4]
    number = "".join(str(int(c, 36)) for c in moved)
    return int(number) % 97 == 1


class IbanRecognizer(Recognizer):
    ENTITY = "IBAN_CODE"
    PATTERNS = (
        Pattern("iban", r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,6}(?: ?[A-Z0-9]{1,4})?(?![A-Za-z0-9])", 0.8),
    )
    CONTEXT = ("IBAN", "口座", "account", "bank")
    CONTEXT_BOOST = 0.1

    def validate(self, value: str) -> bool | None:
        return valid_iban(value)
