"""PERSON after a name label: 氏名：山田太郎, お名前 鈴木 一郎 様, a label on the line above its value.

The label says what the value is, so a name the dictionary does not know (吉田陽子 run together,
佐々木 零) is still found. Placeholders (未定, 不明, 同上 ...) are not names.
"""

from __future__ import annotations

import re

from presidio_analyzer import Pattern

from gateway.scan.recognizers.base import Recognizer

LABELS = (
    "氏名", "お名前", "名前", "申込者氏名", "契約者氏名", "被保険者氏名", "会員氏名", "患者氏名", "受取人氏名",
    "受取人", "宛名", "患者名", "利用者名", "入居者名", "保護者氏名", "生徒氏名", "社員氏名", "従業員氏名", "口座名義",
)  # fmt: skip
_LABEL = "|".join(sorted(LABELS, key=len, reverse=True))
_KANJI = r"[\u4e00-\u9fff\u3005\u30f6]"
_NAME = _KANJI + r"{1,4} ?[\u4e00-\u9fff\u3005\u3041-\u3096\u30a1-\u30fa\u30fc]{1,6}"
# an organisation written where a name was asked for (氏名\n株式会社さくら商事)
_ORGANISATION = re.compile(r"会社|株式|有限|法人|協会|組合|事務所|病院|学校|大学|支店|営業所|店$")
PLACEHOLDERS = frozenset(
    ("未定", "不明", "未記入", "なし", "無し", "同上", "省略", "別紙", "上記", "下記", "記入例", "本人")
)


class LabelledNameRecognizer(Recognizer):
    ENTITY = "PERSON"
    LITERALS = ("氏名", "名前", "受取人", "宛名", "名義", "患者名", "利用者名", "入居者名")
    PATTERNS = (
        Pattern(
            "name_labelled",
            rf"(?m)(?<!{_KANJI})(?:{_LABEL})(?:[ \t]*[:：][ \t]*|[ \t]+|[ \t]*\n[ \t]*)(?P<v>{_NAME})"
            r"(?=[ \t]*(?:様|さん|殿)?[ \t]*(?:$|[、。,)）(（\t]))",
            0.8,
        ),
    )

    def validate(self, value: str) -> bool | None:
        compact = value.replace(" ", "")
        return compact not in PLACEHOLDERS and _ORGANISATION.search(compact) is None
