"""JP_BANK_ACCOUNT: a 7-digit account number after 普通/当座/貯蓄 or in 口座番号 context.

Accounts of companies (口座名義 株式会社…, カ)…, (株)) appear on every invoice and are not personal
data: a corporate marker on the line or the next two lines caps the score below the threshold.
"""

from __future__ import annotations

import re

from presidio_analyzer import Pattern

from gateway.scan.recognizers.base import NUM_LEAD, NUM_R, Recognizer

_CORPORATE = re.compile(
    r"株式会社|有限会社|合同会社|合資会社|一般社団|公益社団|財団法人|社団法人|医療法人|学校法人|\(株\)|\(有\)|"
    r"カ\)|\(カ|ユ\)|\(ユ|ド\)|Co\.|Ltd|Inc\.|Corp|LLC|K\.K\."
)


class BankAccountRecognizer(Recognizer):
    ENTITY = "JP_BANK_ACCOUNT"
    PATTERNS = (
        Pattern(
            "account_type",
            r"(?:普通|当座|貯蓄|総合)(?:預金)?\s?(?:口座)?\s?(?:番号)?\s?[:：]?\s?(?:No\.?\s?)?(?P<v>\d{7})" + NUM_R,
            0.7,
        ),
        Pattern("account_plain", NUM_LEAD + r"\d{6}" + NUM_R, 0.05),
    )
    CONTEXT = ("口座番号", "口座", "account number", "account no", "振込先", "振込口座")
    CONTEXT_BOOST = 0.6
    WINDOW_BEFORE = 20

    def adjust(self, text: str, start: int, end: int, value: str, score: float) -> float:
        line_start = text.rfind("\n", 0, start) + 1
        stop = end
        for _ in range(3):
            nxt = text.find("\n", stop + 1)
            stop = len(text) if nxt < 0 else nxt
        if _CORPORATE.search(text, max(line_start, start - 60), min(stop, end + 160)):
            score = min(score, 0.2)
        return score
