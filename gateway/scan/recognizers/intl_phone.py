"""PHONE_NUMBER: international numbers (+44 20 7946 0958), North American ones, and, next to a phone
word, national numbers of other countries (09-7625400 in Israel, 13812345678 in China), validated by
libphonenumber. Japanese numbers (+81, 0…) are JP_PHONE_NUMBER's."""

from __future__ import annotations

import phonenumbers
from presidio_analyzer import Pattern

from gateway.scan.recognizers.base import NUM_R, Recognizer, lead
from gateway.scan.recognizers.jp_phone import valid_jp_phone

# Regions whose national numbers are looked for when a phone word is near (presidio's defaults and
# the neighbours Japanese companies mail most).
REGIONS = ("US", "GB", "DE", "FR", "IT", "ES", "NL", "IL", "IN", "CA", "BR", "AU", "CN", "KR", "TW", "HK", "SG")


class IntlPhoneRecognizer(Recognizer):
    ENTITY = "PHONE_NUMBER"
    PATTERNS = (
        # look-behinds written after the first character (base.lead)
        Pattern("phone_plus", lead(r"\+", "[0-9+]") + r"(?!81)[1-9]\d{0,2}(?:[ .\-]?\(?\d{1,5}\)?){2,5}" + NUM_R, 0.6),
        Pattern(
            "phone_nanp",
            lead("[(2-9]", r"[0-9+\-]") + r"(?:(?<=\()[2-9]\d{2}\) ?|(?<=[2-9])\d{2}[.\-])[2-9]\d{2}[.\-]\d{4}" + NUM_R,
            0.3,
        ),
        Pattern("phone_national", lead(r"\d", r"[0-9+\-.]") + r"(?:[ \-]?\d){7,11}" + NUM_R, 0.2),
    )
    CONTEXT = ("phone", "tel", "mobile", "cell", "call", "電話", "携帯", "fax", "number is")
    ANTI_CONTEXT = (
        "注文",
        "伝票",
        "請求",
        "品番",
        "型番",
        "会員番号",
        "受付番号",
        "order",
        "invoice",
        "口座",
        "account",
    )
    CONTEXT_BOOST = 0.3
    NEEDS_CONTEXT = ("phone_national",)

    def rejects(self, value: str) -> bool:
        return value.startswith("0") and valid_jp_phone(value)  # JP_PHONE_NUMBER's, before any context

    def validate(self, value: str) -> bool | None:
        try:
            if value.startswith("+"):
                number = phonenumbers.parse(value, None)
                return number.country_code != 81 and phonenumbers.is_valid_number(number)
            if (value.startswith("0") and valid_jp_phone(value)) or phonenumbers.is_valid_number(
                phonenumbers.parse(value, "JP")
            ):
                return False  # JP_PHONE_NUMBER's (the cheap check first: libphonenumber parses slowly)
            return any(phonenumbers.is_valid_number(phonenumbers.parse(value, r)) for r in REGIONS)
        except phonenumbers.NumberParseException:
            return False
