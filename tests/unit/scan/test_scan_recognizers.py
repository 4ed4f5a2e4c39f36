"""Each recognizer, table-driven: what must be found (with context), and look-alikes that must not."""

from __future__ import annotations

import pytest

from gateway.content import Segment
from gateway.scan.engine import Scanner
from gateway.scan.recognizers.credit_card import luhn
from gateway.scan.recognizers.iban import valid_iban
from gateway.scan.recognizers.my_number import check_digit, valid_my_number

FOUND = [
    # (entity, text, value that must be found)
    ("JP_MY_NUMBER", "マイナンバー：123456789018", "123456789018"),
    ("JP_MY_NUMBER", "個人番号 1234 5678 9018 です", "1234 5678 9018"),
    ("JP_MY_NUMBER", "個人番号は１２３４５６７８９０１８", "123456789018"),
    ("JP_PHONE_NUMBER", "携帯090-1234-5678まで", "090-1234-5678"),
    ("JP_PHONE_NUMBER", "TEL:03-1234-5678", "03-1234-5678"),
    ("JP_PHONE_NUMBER", "電話 (06)1234-5678", "(06)1234-5678"),
    ("JP_PHONE_NUMBER", "IP電話 050-1234-5678", "050-1234-5678"),
    ("JP_PHONE_NUMBER", "連絡先 +81-90-1234-5678", "+81-90-1234-5678"),
    ("JP_PHONE_NUMBER", "携帯電話: 09012345678", "09012345678"),
    ("JP_PHONE_NUMBER", "電話：０９０－１２３４－５６７８", "090-1234-5678"),
    # As OCR reads them (a hyphen seen as a dot or a space, spaces around hyphens), and business cards.
    ("JP_PHONE_NUMBER", "電話番号 090.8364 8737", "090.8364 8737"),
    ("JP_PHONE_NUMBER", "TEL 03.3456.7890", "03.3456.7890"),
    ("JP_PHONE_NUMBER", "携帯 090 - 8364 - 8737", "090 - 8364 - 8737"),
    ("JP_PHONE_NUMBER", "電話 080・1234・5678", "080・1234・5678"),
    ("JP_PHONE_NUMBER", "電話 (03) 3456.7890", "(03) 3456.7890"),
    ("JP_POSTAL_CODE", "〒150-0001 東京都渋谷区", "150-0001"),
    ("JP_POSTAL_CODE", "郵便番号 530-0001", "530-0001"),
    ("JP_POSTAL_CODE", "150-0001 東京都渋谷区神宮前1-2-3", "150-0001"),
    ("JP_ADDRESS", "住所は東京都渋谷区神宮前1-2-3です", "東京都渋谷区神宮前1-2-3"),
    ("JP_ADDRESS", "大阪府大阪市北区梅田2丁目4番9号", "大阪府大阪市北区梅田2丁目4番9号"),
    ("JP_ADDRESS", "自宅: 横浜市西区みなとみらい3-5-1", "横浜市西区みなとみらい3-5-1"),
    ("EMAIL_ADDRESS", "メールはtaro@example.co.jpまで", "taro@example.co.jp"),
    ("EMAIL_ADDRESS", "宛先：ｈａｎａｋｏ＠ｅｘａｍｐｌｅ．ｃｏｍ", "hanako@example.com"),
    ("CREDIT_CARD", "カード番号4111-1111-1111-1111", "4111-1111-1111-1111"),
    ("CREDIT_CARD", "VISA 4012888888881881 有効期限 12/27", "4012888888881881"),
    ("JP_BANK_ACCOUNT", "みずほ銀行 渋谷支店 普通 1234567", "1234567"),
    ("JP_BANK_ACCOUNT", "口座番号：7654321", "7654321"),
    ("JP_PENSION_NUMBER", "基礎年金番号 1234-567890", "1234-567890"),
    ("JP_DRIVER_LICENSE", "運転免許証番号：301234567890", "301234567890"),
    ("JP_PASSPORT", "旅券番号 TK1234567", "TK1234567"),
    ("DATE_OF_BIRTH", "生年月日：昭和55年3月12日", "昭和55年3月12日"),
    ("DATE_OF_BIRTH", "生年月日 平成元年1月8日", "平成元年1月8日"),
    ("DATE_OF_BIRTH", "生年月日: S55.3.12", "S55.3.12"),
    ("DATE_OF_BIRTH", "Date of birth: 1985/04/12", "1985/04/12"),
    ("DATE_OF_BIRTH", "DOB: March 5, 1979", "March 5, 1979"),
    ("US_SSN", "SSN: 078-05-1123", "078-05-1123"),
    ("IBAN_CODE", "IBAN DE89 3704 0044 0532 0130 00", "DE89 3704 0044 0532 0130 00"),
    ("IBAN_CODE", "口座はGB82WEST12345698765432です", "GB82WEST12345698765432"),
    ("PHONE_NUMBER", "Tel: +44 20 7946 0958", "+44 20 7946 0958"),
    ("PHONE_NUMBER", "phone (650) 253-0000", "(650) 253-0000"),
    ("PERSON", "氏名：山田 太郎", "山田 太郎"),
    ("PERSON", "担当の高橋一郎さんより", "高橋一郎"),
    ("PERSON", "Name: John Smith", "John Smith"),
    ("PERSON", "Patient Mr. Robert Brown was admitted", "Robert Brown"),
]

NOT_FOUND = [
    # (entity, text): look-alikes and company data
    ("JP_MY_NUMBER", "マイナンバー：123456789012"),  # bad check digit
    ("JP_MY_NUMBER", "注文番号 123456789018"),  # valid check digit, no context
    ("JP_MY_NUMBER", "1234567890180"),  # 13 digits
    ("JP_PHONE_NUMBER", "フリーダイヤル 0120-123-456"),
    ("JP_PHONE_NUMBER", "0800-123-4567 (通話料無料)"),
    ("JP_PHONE_NUMBER", "ナビダイヤル 0570-012-345"),
    ("JP_PHONE_NUMBER", "注文番号 0312345678"),
    ("JP_PHONE_NUMBER", "090-1234-56789"),
    ("JP_PHONE_NUMBER", "価格 2024.03.15 版 0.12.3456"),
    ("JP_POSTAL_CODE", "注文番号 123-4567"),
    ("JP_POSTAL_CODE", "品番 123-4567 ¥1,280"),
    ("JP_ADDRESS", "東京都港区で開催"),
    ("JP_ADDRESS", "会場: 東京都港区芝公園1-2-3 芝ビル8F"),
    ("EMAIL_ADDRESS", "info@example.co.jp までお問い合わせください"),
    ("EMAIL_ADDRESS", "noreply@example.com"),
    ("CREDIT_CARD", "カード番号 4111-1111-1111-1112"),  # Luhn fails
    ("CREDIT_CARD", "注文番号 1234567890123452"),  # no brand prefix
    ("JP_BANK_ACCOUNT", "普通 1234567 口座名義 カ)サクラショウジ"),
    ("JP_BANK_ACCOUNT", "商品コード 1234567"),
    ("JP_PENSION_NUMBER", "伝票 1234-567890"),
    ("JP_DRIVER_LICENSE", "追跡番号 301234567890"),
    ("JP_PASSPORT", "型番 AB1234567"),
    ("DATE_OF_BIRTH", "会議は2025年7月10日です"),
    ("DATE_OF_BIRTH", "生年月日：2099/01/01"),
    ("DATE_OF_BIRTH", "生年月日: 1985/02/30"),
    ("US_SSN", "SSN 000-12-3456"),
    ("US_SSN", "部品 123-45-6789"),
    ("IBAN_CODE", "IBAN DE89 3704 0044 0532 0130 01"),
    ("PHONE_NUMBER", "+81 90 1234 5678"),  # Japanese: JP_PHONE_NUMBER's
    ("PHONE_NUMBER", "version 123-456-7890"),
    ("PERSON", "鈴木部長にも共有します"),  # a colleague by surname
    ("PERSON", "Best Regards"),
]


def _found(scanner: Scanner, text: str) -> list[tuple[str, str]]:
    return [(h.entity, h.value) for _, h, _ in scanner.find([Segment(text=text, kind="attachment")])]


@pytest.mark.parametrize(("entity", "text", "value"), FOUND, ids=[f"{e}:{t}" for e, t, _ in FOUND])
def test_found(scanner: Scanner, entity: str, text: str, value: str) -> None:
    import unicodedata

    assert (entity, unicodedata.normalize("NFKC", value)) in _found(scanner, text)


@pytest.mark.parametrize(("entity", "text"), NOT_FOUND, ids=[f"{e}:{t}" for e, t in NOT_FOUND])
def test_not_found(scanner: Scanner, entity: str, text: str) -> None:
    assert entity not in {e for e, _ in _found(scanner, text)}


@pytest.mark.parametrize(
    "text",
    ["メールはtaro@example.co.jpまで", "電話は090-1234-5678へ", "カードは4111111111111111で"],
)
def test_no_word_boundary_needed_next_to_kana(scanner: Scanner, text: str) -> None:
    """Presidio's built-in \\b patterns find nothing here."""
    assert _found(scanner, text)


def test_my_number_check_digit() -> None:
    assert check_digit("12345678901") == 8
    assert valid_my_number("123456789018") and not valid_my_number("123456789011")
    bases = range(0, 10**11, 10**11 // 997)
    hits = sum(valid_my_number(f"{n:011d}" + str(d)) for n in bases for d in range(10))
    assert hits == len(bases)  # exactly one check digit in ten: ~10% of random 12-digit numbers pass


def test_luhn_and_iban() -> None:
    assert luhn("4111111111111111") and not luhn("4111111111111112")
    assert valid_iban("GB82 WEST 1234 5698 7654 32") and not valid_iban("GB82 WEST 1234 5698 7654 33")


def test_recognizers_are_presidio_recognizers() -> None:
    from presidio_analyzer import EntityRecognizer

    from gateway.scan.recognizers import pattern_recognizers

    for r in pattern_recognizers():
        assert isinstance(r, EntityRecognizer)
        results = r.analyze("マイナンバー: 123456789018 メール a.b@example.jp 携帯 090-1234-5678", [r.ENTITY])
        assert all(res.entity_type == r.ENTITY for res in results)
