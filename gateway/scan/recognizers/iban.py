"""IBAN_CODE: every country of the SWIFT IBAN registry that python-stdnum knows (its registry copy
gives each country's length and BBAN format; mod 97 and the national check digits where stdnum has
them). Groups of four may be separated by spaces or hyphens."""

from __future__ import annotations

import re
from collections.abc import Iterator

from presidio_analyzer import Pattern
from stdnum import iban

from gateway.scan.recognizers.base import Recognizer


def valid_iban(value: str) -> bool:
    return iban.is_valid(value.replace("-", " "))


class IbanRecognizer(Recognizer):
    ENTITY = "IBAN_CODE"
    PATTERNS = (
        Pattern(
            "iban",
            r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:(?P<s>[ -]?)[A-Z0-9]{4})(?:(?P=s)[A-Z0-9]{4}){1,7}"
            r"(?:(?P=s)[A-Z0-9]{1,3})?(?![A-Za-z0-9])",
            0.8,
        ),
    )
    CONTEXT = ("IBAN", "口座", "account", "bank")
    CONTEXT_BOOST = 0.1

    def validate(self, value: str) -> bool | None:
        return valid_iban(value)

    def shorter(self, value: str) -> Iterator[str]:
        cuts = [m.start() for m in _GAP.finditer(value)]
        return (value[:c] for c in reversed(cuts) if c >= 15)


_GAP = re.compile(r"[ -]")
