"""One recognizer per file; `pattern_recognizers()` lists the fast-stage pattern recognizers."""

from __future__ import annotations

from gateway.scan.recognizers.bank_account import BankAccountRecognizer
from gateway.scan.recognizers.base import Recognizer
from gateway.scan.recognizers.credit_card import CreditCardRecognizer
from gateway.scan.recognizers.date_of_birth import DateOfBirthRecognizer
from gateway.scan.recognizers.driver_license import DriverLicenseRecognizer
from gateway.scan.recognizers.email_address import EmailRecognizer
from gateway.scan.recognizers.iban import IbanRecognizer
from gateway.scan.recognizers.intl_phone import IntlPhoneRecognizer
from gateway.scan.recognizers.jp_address import JpAddressRecognizer
from gateway.scan.recognizers.jp_phone import JpPhoneRecognizer
from gateway.scan.recognizers.my_number import MyNumberRecognizer
from gateway.scan.recognizers.passport import PassportRecognizer
from gateway.scan.recognizers.pension import PensionNumberRecognizer
from gateway.scan.recognizers.person_en import EnglishNameRecognizer
from gateway.scan.recognizers.person_ja import JapaneseNameRecognizer
from gateway.scan.recognizers.person_kana import KanaNameRecognizer
from gateway.scan.recognizers.person_labelled import LabelledNameRecognizer
from gateway.scan.recognizers.postal_code import PostalCodeRecognizer
from gateway.scan.recognizers.us_ssn import UsSsnRecognizer

PATTERN_RECOGNIZERS: tuple[type[Recognizer], ...] = (
    MyNumberRecognizer,
    JpPhoneRecognizer,
    PostalCodeRecognizer,
    JpAddressRecognizer,
    EmailRecognizer,
    CreditCardRecognizer,
    BankAccountRecognizer,
    PensionNumberRecognizer,
    DriverLicenseRecognizer,
    PassportRecognizer,
    DateOfBirthRecognizer,
    UsSsnRecognizer,
    IbanRecognizer,
    IntlPhoneRecognizer,
    EnglishNameRecognizer,
    KanaNameRecognizer,
    LabelledNameRecognizer,
)

ENTITIES: tuple[str, ...] = tuple(dict.fromkeys([r.ENTITY for r in PATTERN_RECOGNIZERS] + ["PERSON"]))


def pattern_recognizers(entities: list[str] | None = None) -> list[Recognizer]:
    return [r() for r in PATTERN_RECOGNIZERS if not entities or r.ENTITY in entities]


__all__ = ["ENTITIES", "JapaneseNameRecognizer", "Recognizer", "pattern_recognizers"]
