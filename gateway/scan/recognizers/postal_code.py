"""JP_POSTAL_CODE: 〒123-4567. Without 〒, a context word, a following prefecture or a following
municipality that Japan Post gives this code to, 123-4567 is as likely an order or part number, so
it scores below any sensible threshold."""

from __future__ import annotations

import re

from presidio_analyzer import Pattern

from gateway.scan.gazetteer import fold, gazetteer
from gateway.scan.recognizers.base import NUM_R, Recognizer, digits, lead
from gateway.scan.recognizers.jp_address import PREFECTURES

_PREF_AFTER = re.compile(r"\s{0,2}(?:" + PREFECTURES + ")")
_SPACE = re.compile(r"\s{0,2}")


class PostalCodeRecognizer(Recognizer):
    ENTITY = "JP_POSTAL_CODE"
    PATTERNS = (
        Pattern("postal_mark", r"〒\s?(?P<v>\d{3}-?\d{4})" + NUM_R, 0.85),
        Pattern("postal_plain", lead(r"\d", "[0-9]", "[0-9]-", "〒", "〒 ") + r"\d{2}-\d{4}" + NUM_R, 0.15),
    )
    CONTEXT = ("郵便番号", "郵便", "〒", "住所", "zip", "postal", "post code", "postcode")
    ANTI_CONTEXT = (
        "注文",
        "品番",
        "型番",
        "請求",
        "伝票",
        "管理番号",
        "受付番号",
        "会員番号",
        "商品",
        "order",
        "invoice",
    )
    CONTEXT_BOOST = 0.45

    def __init__(self) -> None:
        super().__init__()
        self.gazetteer = gazetteer()

    def adjust(self, text: str, start: int, end: int, value: str, score: float) -> float:
        if _PREF_AFTER.match(text, end) or self._place_after(text, end, digits(value)):
            score += 0.5
        return score

    def _place_after(self, text: str, end: int, code: str) -> bool:
        """A municipality right after the code that Japan Post gives the code to (〒330-0854 さいたま市…)."""
        at = _SPACE.match(text, end)
        pos = at.end() if at else end
        found = self.gazetteer.municipality_starting_at(fold(text[pos : pos + self.gazetteer.longest_name]), 0)
        return found is not None and any(i in found[1] for i, _ in self.gazetteer.places_of_code(code))
