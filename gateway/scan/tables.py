"""Tables: a column's header classifies its values (氏名 → PERSON, メール → EMAIL_ADDRESS, ...).

Header words act as context for the pattern recognizers in that column; names and addresses, which
patterns cannot reliably see, count as found for every filled cell of a 氏名 / 住所 column.
"""

from __future__ import annotations

import re

from gateway.scan.model import Hit
from gateway.scan.recognizers.base import words_regex

_HEADERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("JP_MY_NUMBER", ("個人番号", "マイナンバー", "my number")),
    ("JP_POSTAL_CODE", ("郵便番号", "〒", "zip", "postal code", "postcode")),
    ("JP_PENSION_NUMBER", ("基礎年金番号", "年金番号", "pension")),
    ("JP_DRIVER_LICENSE", ("免許証番号", "運転免許", "免許番号", "license", "licence")),
    ("JP_PASSPORT", ("旅券番号", "パスポート", "passport")),
    ("JP_BANK_ACCOUNT", ("口座番号", "口座", "account number", "account no")),
    ("CREDIT_CARD", ("カード番号", "クレジットカード", "card number", "credit card")),
    ("DATE_OF_BIRTH", ("生年月日", "誕生日", "birth", "DOB", "birthday")),
    ("EMAIL_ADDRESS", ("メールアドレス", "メール", "e-mail", "email", "mail")),
    ("JP_PHONE_NUMBER", ("電話番号", "電話", "携帯", "TEL", "phone", "mobile", "FAX", "連絡先")),
    ("JP_ADDRESS", ("住所", "現住所", "所在地", "address", "お届け先")),
    ("PERSON", ("氏名", "名前", "お名前", "フリガナ", "ふりがな", "カナ氏名", "name", "full name", "担当者名")),
)
# Columns that look like names but hold organisations and things.
_NOT_PERSON = words_regex(
    ("会社名", "企業名", "法人名", "社名", "商品名", "品名", "製品名", "件名", "部署名", "店舗名", "銀行名", "支店名",
     "ファイル名", "company", "product", "file name", "user name", "username", "domain")
)  # fmt: skip
_CLASSIFIERS = [(entity, words_regex(words)) for entity, words in _HEADERS]
_EMPTY = re.compile(r"^[\s\-－—ー―/・.*]*$|^(?:なし|無し|不明|未定|未記入|N/?A|none|null|-)$", re.IGNORECASE)
_HAS_LETTER = re.compile(r"[A-Za-z\u3041-\u3096\u30a1-\u30fa\u4e00-\u9fff]")


def classify_header(cell: str) -> str | None:
    """The entity a header cell announces, or None."""
    if _NOT_PERSON is not None and _NOT_PERSON.search(cell):
        return None
    for entity, rx in _CLASSIFIERS:
        if rx is not None and rx.search(cell):
            return entity
    return None


def column_at(text: str, offset: int) -> int:
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\t", line_start, offset)


def cell_hits(text: str, columns: dict[int, str]) -> list[Hit]:
    """A hit for every filled cell of a PERSON or JP_ADDRESS column (score 0.8, source 'column')."""
    wanted = {i: e for i, e in columns.items() if e in ("PERSON", "JP_ADDRESS")}
    if not wanted:
        return []
    hits: list[Hit] = []
    pos = 0
    for line in text.split("\n"):
        cells = line.split("\t")
        start = pos
        for i, cell in enumerate(cells):
            entity = wanted.get(i)
            if entity is not None:
                value = cell.strip()
                if value and not _EMPTY.match(value) and _HAS_LETTER.search(value):
                    lead = len(cell) - len(cell.lstrip())
                    hits.append(Hit(entity, start + lead, start + lead + len(value), 0.8, value, "column"))
            start += len(cell) + 1
        pos += len(line) + 1
    return hits
