"""PERSON written in kana: the reading of a name (フリガナ：ヤマダ タロウ, ふりがな やまだ たろう), a reading
line under its label, and a katakana reading in brackets right after a name in kanji (山田太郎（ヤマダ タロウ）).

Sudachi tags only some katakana readings as names, so a reading is found by where it is written,
not by the dictionary.
"""

from __future__ import annotations

import re

from presidio_analyzer import Pattern

from gateway.scan.recognizers.base import Recognizer, lead

_KATA = r"[\u30a1-\u30fa\u30fc]{1,12}"
_HIRA = r"[\u3041-\u3096\u30fc]{1,12}"
_READING = rf"(?:{_KATA}(?: {_KATA})?|{_HIRA}(?: {_HIRA})?)"
LABELS = (
    "フリガナ", "ふりがな", "カナ氏名", "氏名カナ", "氏名(カナ)", "氏名(フリガナ)", "カナ", "よみがな", "ヨミガナ",
    "読み仮名", "読みがな", "セイメイ", "お名前(カナ)", "お名前(フリガナ)", "名前(カナ)",
)  # fmt: skip
_LABELS = sorted((lbl.replace("(", r"\(").replace(")", r"\)") for lbl in LABELS), key=len, reverse=True)
# a label not inside a longer katakana word (カナダ), then a colon or a space; the look-behind after
# each label's first character (base.lead)
_LABEL = "|".join(lead(lbl[0], r"[\u30a1-\u30fa\u30fc]") + lbl[1:] for lbl in _LABELS)
_AFTER_LABEL = rf"(?:{_LABEL})(?:\s*[:：]\s*|\s+)"


# the reading of an organisation, not of a person (株式会社さくら商事（カブシキガイシャ サクラショウジ）)
_ORGANISATION = re.compile(r"会社|商事|法人|組合|銀行|支店|協会|事務所|カブシキ|ユウゲン|ゴウドウ|ザイダン|シャダン")


class KanaNameRecognizer(Recognizer):
    ENTITY = "PERSON"
    PATTERNS = (
        Pattern("reading_labelled", rf"{_AFTER_LABEL}(?P<v>{_READING})(?![\u3041-\u30ff])", 0.85),
        # (?<=kanji) ?\( with the look-behind after the first character
        Pattern(
            "reading_bracketed", rf"(?: (?<=[\u4e00-\u9fff] )\(|\((?<=[\u4e00-\u9fff]\())(?P<v>{_KATA} {_KATA})\)", 0.7
        ),
        # a reading alone on its line: a name only with a label on the line above (or a フリガナ column)
        Pattern("reading_line", rf"(?m)^[ \t]*(?P<v>{_KATA} {_KATA})[ \t]*$", 0.2),
    )
    CONTEXT = LABELS
    CONTEXT_BOOST = 0.6
    NEEDS_CONTEXT = ("reading_line",)

    def adjust(self, text: str, start: int, end: int, value: str, score: float) -> float:
        before = text[max(text.rfind("\n", 0, start) + 1, start - 16) : start]
        return 0.0 if _ORGANISATION.search(value) or _ORGANISATION.search(before) else score
