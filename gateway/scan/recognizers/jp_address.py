"""JP_ADDRESS: prefecture, municipality (市区町村郡), locality, and a block number (1-2-3, 一丁目2番3号).

A block number is required (a bare city name is not an address of a person). Business venues and
offices (本社, 会場, ... ビル, 5F) lower the score: the gateway guards people's addresses.
"""

from __future__ import annotations

import re

from presidio_analyzer import Pattern

from gateway.scan.recognizers.base import Recognizer, words_regex

PREFECTURES = (
    "北海道|東京都|京都府|大阪府|"
    "(?:青森|岩手|宮城|秋田|山形|福島|茨城|栃木|群馬|埼玉|千葉|神奈川|新潟|富山|石川|福井|山梨|長野|岐阜|静岡|"
    "愛知|三重|滋賀|兵庫|奈良|和歌山|鳥取|島根|岡山|広島|山口|徳島|香川|愛媛|高知|福岡|佐賀|長崎|熊本|大分|宮崎|"
    "鹿児島|沖縄)県"
)
_KANJI = r"\u3005\u30f6\u4e00-\u9fff"
_WORD = rf"[{_KANJI}\u3041-\u3096\u30a1-\u30fa\u30fc]"
_CITY = rf"[{_KANJI}\u30a1-\u30fa\u30fc]{{1,7}}?[市区町村郡]"
_NUM = r"(?:\d{1,4}|[一二三四五六七八九十]{1,3})"
_BLOCK = rf"{_NUM}(?:丁目|番地|番|号|-|の){_NUM}?(?:(?:番地|番|号|-|の)\d{{1,4}})*(?:号)?"

_OFFICE_AFTER = re.compile(r"\s?[^\n\t]{0,12}?(?:ビル|タワー|\d+F|\d+階|会館|センター|ホール)")
_OFFICE_BEFORE = words_regex(
    ("本社", "支社", "支店", "営業所", "事務所", "オフィス", "会場", "所在地", "工場", "店舗", "venue", "office")
)


class JpAddressRecognizer(Recognizer):
    ENTITY = "JP_ADDRESS"
    PATTERNS = (
        Pattern("address_with_prefecture", rf"(?:{PREFECTURES})\s?{_CITY}{_WORD}{{0,14}}?{_BLOCK}", 0.8),
        Pattern("address_city", rf"(?<![{_KANJI}]){_CITY}{_WORD}{{0,14}}?{_BLOCK}", 0.45),
    )
    CONTEXT = ("住所", "現住所", "自宅", "居住", "〒", "address", "お届け先", "送付先")
    CONTEXT_BOOST = 0.3
    WINDOW_BEFORE = 30

    def adjust(self, text: str, start: int, end: int, value: str, score: float) -> float:
        if _OFFICE_AFTER.match(text, end):
            score -= 0.35
        line_start = text.rfind("\n", 0, start) + 1
        if _OFFICE_BEFORE is not None and _OFFICE_BEFORE.search(text, max(line_start, start - 20), start):
            score -= 0.35
        return score
