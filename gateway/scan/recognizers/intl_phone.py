"""PHONE_NUMBER: international numbers (+44 20 7946 0958) and North American ones in context,
validated by libphonenumber. Japanese numbers (+81, 0…) are JP_PHONE_NUMBER's."""

from __future__ import annotations

import phonenumbers
from presidio_analyzer import Pattern

from gateway.scan.recognizers.base import NUM_R, Recognizer


class IntlPhoneRecognizer(Recognizer):
    ENTITY = "PHONE_NUMBER"
    PATTERNS = (
        Pattern("phone_plus", r"(?<![0-9+])\+(?!81)[1-9]\d{0,2}(?:[ .\-]?\(?\d{1,5}\)?){2,5}" + NUM_R, 0.6),
        Pattern("phone_nanp", r"(?<![0-9+\-])(?:\([2-9]\d{2}\) ?|[2-9]\d{2}[.\-])[2-9]\d{2}[.\-]\d{4}" + NUM_R, 0.3),
    )
    CONTEXT = ("phone", "tel", "mobile", "cell", "call", "電話", "携帯", "fax")
    CONTEXT_BOOST = 0.3

    def validate(self, value: str) -> bool | None:
        try:
            number = phonenumbers.parse(value, None if value.startswith("+") else "US")
        except phonenumbers.NumberParseException:
            return False
        return number.country_code != 81 and phonenumbers.is_valid_number(number)
