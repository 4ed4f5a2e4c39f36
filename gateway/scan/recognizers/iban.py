"""IBAN_CODE: every country of the SWIFT IBAN registry that python-stdnum knows (its registry copy
gives each country's length and BBAN format; mod 97 and the national check digits where stdnum has
them). Groups of four may be separated by spaces or hyphens."""

from __future__ import annotations

import re
from collections.abc import Iterator

from presidio_analyzer import Pattern
from stdnum import iban
from stdnum.exceptions import ValidationError

from gateway.scan.recognizers.base import Recognizer, lead


def valid_iban(value: str) -> bool:
    """Registry length and BBAN format, and mod 97. stdnum's national modules are not applied: some
    check bank codes against lists (BE68 5390 0754 7034, the textbook Belgian IBAN, fails there)."""
    try:
        iban.validate(value.replace("-", " "), check_country=False)
    except ValidationError:
        return False
    return True


class IbanRecognizer(Recognizer):
    ENTITY = "IBAN_CODE"
    PATTERNS = (
        Pattern(
            "iban",
            lead("[A-Z]", "[A-Za-z0-9]") + r"[A-Z]\d{2}(?:(?P<s>[ -]?)[A-Z0-9]{4})(?:(?P=s)[A-Z0-9]{4}){1,7}"
            r"(?:(?P=s)[A-Z0-9]{1,3})?(?![A-Za-z0-9])",
            0.8,
        ),
    )
    CONTEXT = ("IBAN", "口座", "account", "bank")
    CONTEXT_BOOST = 0.1
    CLAIMS_SHAPE = True

    def validate(self, value: str) -> bool | None:
        return valid_iban(value)

    def shorter(self, value: str) -> Iterator[str]:
        cuts = [m.start() for m in _GAP.finditer(value)]
        return (value[:c] for c in reversed(cuts) if c >= 15)


_GAP = re.compile(r"[ -]")
