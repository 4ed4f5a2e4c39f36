"""Names people read for the scanner's entities (reasons say 'メールアドレス 5,572件'; pages and
notices about held mail show them too, through gateway.hold.labels). Beside the scanner, so that
both the rules and the hold pages can read them.

Keys are the entity names of gateway.scan.recognizers (a unit test keeps the two in step); a rule
naming an entity that is not here (`pii.count.JP_MYNUMBER`) is a load error."""

from __future__ import annotations

from gateway.scan.model import BULK

ENTITY_NAMES: dict[str, tuple[str, str]] = {
    # entity: (ja, en)
    "PERSON": ("氏名", "personal names"),
    "EMAIL_ADDRESS": ("メールアドレス", "e-mail addresses"),
    "JP_PHONE_NUMBER": ("電話番号", "phone numbers"),
    "PHONE_NUMBER": ("電話番号 (国際)", "international phone numbers"),
    "JP_ADDRESS": ("住所", "postal addresses"),
    "JP_POSTAL_CODE": ("郵便番号", "postal codes"),
    "JP_MY_NUMBER": ("マイナンバー", "My Numbers (individual numbers)"),
    "CREDIT_CARD": ("クレジットカード番号", "credit card numbers"),
    "JP_BANK_ACCOUNT": ("銀行口座番号", "bank account numbers"),
    "IBAN_CODE": ("IBAN", "IBANs"),
    "JP_PENSION_NUMBER": ("基礎年金番号", "pension numbers"),
    "JP_DRIVER_LICENSE": ("運転免許証番号", "driver's licence numbers"),
    "JP_PASSPORT": ("旅券番号", "passport numbers"),
    "DATE_OF_BIRTH": ("生年月日", "dates of birth"),
    "US_SSN": ("米国社会保障番号", "US Social Security numbers"),
    BULK: ("大量の個人情報", "bulk personal data"),
}


def entity_name(entity: str, lang: str) -> str:
    ja, en = ENTITY_NAMES.get(entity, (entity, entity))
    return ja if lang == "ja" else en
