"""Tables: a column's header classifies its values (氏名 → PERSON, メール → EMAIL_ADDRESS, ...).

Header words act as context for the pattern recognizers in that column; names and addresses, which
patterns cannot reliably see, count as found for every filled cell of a 氏名 / 住所 column. Header
cells are never values. A column without a telling header is read by its content
(`content_columns`): katakana readings or romaji names → PERSON, and in a table of people, dates of
birth spread over the years → DATE_OF_BIRTH. A first row that holds data rather than labels (a CSV
without a header row) is read as data (`headerless`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Container

from gateway.scan.model import Hit
from gateway.scan.recognizers.base import words_regex
from gateway.scan.recognizers.date_of_birth import parse_date

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
    (
        "PERSON",
        (
            "氏名",
            "名前",
            "お名前",
            "フリガナ",
            "ふりがな",
            "カナ氏名",
            "よみがな",
            "ヨミガナ",
            "name",
            "full name",
            "担当者名",
            "surname",
            "family name",
            "given name",
            "forename",
            "attendee",
            "participant",
            "applicant",
            "contact person",
            "受講者",
            "申込者",
            "参加者",
            "契約者",
        ),
    ),
)
# Whole-cell headers too short to look for inside longer words (名 is in 会社名, カナ in カナダ).
_EXACT_PERSON = frozenset(("姓", "名", "氏", "セイ", "メイ", "カナ", "ヨミ", "よみ", "last", "first"))
# Columns that look like names but hold organisations and things.
_NOT_PERSON = words_regex(
    ("会社名", "企業名", "法人名", "社名", "商品名", "品名", "製品名", "件名", "部署名", "店舗名", "銀行名", "支店名",
     "ファイル名", "company", "product", "file name", "user name", "username", "domain")
)  # fmt: skip
_CLASSIFIERS = [(entity, words_regex(words)) for entity, words in _HEADERS]
_EMPTY = re.compile(r"^[\s\-－—ー―/・.*]*$|^(?:なし|無し|不明|未定|未記入|N/?A|none|null|-)$", re.IGNORECASE)
# The first character of every value _EMPTY matches once stripped (it matches no empty value): its
# class and words, in both cases where the words are ASCII (re.IGNORECASE).
_EMPTY_STARTS = frozenset("-－—ー―/・.*なNn無不未")
_HAS_LETTER = re.compile(r"[A-Za-z\u3041-\u3096\u30a1-\u30fa\u4e00-\u9fff]")


def classify_header(cell: str) -> str | None:
    """The entity a header cell announces, or None."""
    if cell.strip().lower() in _EXACT_PERSON:
        return "PERSON"
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


# -- columns read by their content ------------------------------------------------------------------

PEOPLE = frozenset(("PERSON", "EMAIL_ADDRESS", "JP_PHONE_NUMBER", "PHONE_NUMBER", "JP_ADDRESS", "JP_MY_NUMBER"))
# a reading of a full name: two katakana words (one word alone is as often a product or a place)
_KANA_READING = re.compile(r"[\u30a1-\u30fa\u30fc]{1,12} [\u30a1-\u30fa\u30fc]{1,12}")
# Hepburn (and common passport) spellings of Japanese syllables: a romaji name is made of nothing else.
_ROMAJI_WORD = re.compile(
    r"(?:(?:ky|gy|sh|ch|j|ny|hy|by|py|my|ry)[aueo]h?|tsu|fu|shi|chi|ji|[kgsztdnhbpmrwy]?[aiueo]h?|n"
    r"|([kgstdhbpmrjf])(?=\1)|t(?=ch))+"
)
_ROMAJI_NAME = re.compile(r"[A-Za-z]{2,15}(?:,? [A-Za-z]{2,15}){1,2}")
_DATE_WORDS = words_regex((
    "日付", "注文日", "受付日", "登録日", "作成日", "更新日", "申込日", "入社日", "期限", "予定", "日時", "date",
    "updated", "created", "order", "due", "time",
))  # fmt: skip
COLUMN_SHARE = 0.8  # of a column's filled cells
COLUMN_MIN = 3
SAMPLE_CELLS = 200  # cells looked at to type a column


def romaji_name(value: str) -> bool:
    """Two or three words, each a sequence of Japanese syllables in Latin letters (Taro Yamada, YAMADA Taro)."""
    if not _ROMAJI_NAME.fullmatch(value):
        return False
    return all(_ROMAJI_WORD.fullmatch(w) for w in value.replace(",", "").lower().split())


def kana_reading(value: str) -> bool:
    return _KANA_READING.fullmatch(value) is not None


def read_cells(text: str, start: int, skip: Container[int] = ()) -> dict[int, list[tuple[int, str]]]:
    """Filled cells per column from offset `start` on: (offset of the stripped value, value); the
    columns in `skip` are left out."""
    cols: dict[int, list[tuple[int, str]]] = {}
    pos = start
    empty = _EMPTY.match
    starts = _EMPTY_STARTS
    for line in text[start:].split("\n"):
        cell_start = pos
        for i, cell in enumerate(line.split("\t")):
            if i not in skip:
                value = cell.strip()
                # only a value starting with one of _EMPTY_STARTS can be an empty marker (- なし N/A)
                if value and (value[0] not in starts or not empty(value)):
                    # strip() gives back the cell itself when there is nothing to strip
                    lead = 0 if value is cell else len(cell) - len(cell.lstrip())
                    got = cols.get(i)
                    if got is None:
                        got = cols[i] = []
                    got.append((cell_start + lead, value))
            cell_start += len(cell) + 1
        pos += len(line) + 1
    return cols


def _typed(cells: list[tuple[int, str]], test: Callable[[str], bool]) -> bool:
    """At least COLUMN_MIN cells and COLUMN_SHARE of the sample pass `test`; given up as soon as the
    cells that failed leave too few to pass (the same answer as counting them all)."""
    sample = cells[:SAMPLE_CELLS]
    n = len(sample)
    need = COLUMN_SHARE * n
    if n < COLUMN_MIN or n < need:
        return False
    room = n  # cells that may still pass
    for _, v in sample:
        if not test(v):
            room -= 1
            if room < COLUMN_MIN or room < need:
                return False
    return True


def _birth_dates(dates: list[dt.date | None]) -> bool:
    """Dates of people born over decades, not the days of an order list."""
    years = [d.year for d in dates if d is not None]
    if len(years) < COLUMN_MIN:
        return False
    today = dt.date.today()
    return max(years) - min(years) >= 10 and all(today.year - 110 <= y <= today.year for y in years)


def content_columns(
    text: str,
    start: int,
    header: tuple[str, ...],
    columns: dict[int, str],
    hits: list[Hit],
    threshold: Callable[[str], float],
) -> list[Hit]:
    """Hits for columns typed by their content (score 0.8, source 'column'); `columns` is updated.

    `start` is the offset of the first data row; `hits` the pattern hits of the table (any score).
    """
    # columns typed by their header are not read again (neither loop below looks at them)
    cols = read_cells(text, start, skip=set(columns))
    out: list[Hit] = []
    # cells where the name tokenizer saw a surname or a given name (at any score)
    # cells that begin with a name the tokenizer knows (a surname first, as Japanese names are written)
    named = {h.start for h in hits if h.entity == "PERSON" and h.source == "sudachi"}

    def in_dictionary(cells: list[tuple[int, str]]) -> bool:
        if not named:
            return False  # no cell of any column holds a name
        sample = cells[:SAMPLE_CELLS]
        good = sum(1 for a, _ in sample if a in named)
        return good >= COLUMN_MIN and good >= COLUMN_SHARE * len(sample)

    for i, cells in cols.items():
        if i in columns:
            continue
        if _typed(cells, kana_reading) or _typed(cells, romaji_name) or in_dictionary(cells):
            columns[i] = "PERSON"
            out.extend(Hit("PERSON", a, a + len(v), 0.8, v, "column") for a, v in cells)
    people = bool(set(columns.values()) & PEOPLE)
    if not people:
        rows: dict[str, set[int]] = {}
        for h in hits:
            if h.entity in PEOPLE and h.score >= threshold(h.entity):
                rows.setdefault(h.entity, set()).add(text.rfind("\n", 0, h.start))
        people = any(len(r) >= COLUMN_MIN for r in rows.values())
    if not people:
        return out
    dob_hits: dict[int, list[Hit]] = {}
    for h in hits:
        if h.entity == "DATE_OF_BIRTH" and h.start >= start:
            dob_hits.setdefault(column_at(text, h.start), []).append(h)
    for i, found in dob_hits.items():
        if i in columns or (i < len(header) and _DATE_WORDS is not None and _DATE_WORDS.search(header[i])):
            continue
        filled = len(cols.get(i, ()))
        many = len(found) >= COLUMN_MIN and len(found) >= COLUMN_SHARE * filled
        if many and _birth_dates([parse_date(h.value) for h in found[:SAMPLE_CELLS]]):
            columns[i] = "DATE_OF_BIRTH"
            out.extend(Hit(h.entity, h.start, h.end, 0.8, h.value, "column") for h in found)
    return out
