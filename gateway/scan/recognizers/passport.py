"""JP_PASSPORT: two letters and seven digits (TK1234567), only in context."""

from __future__ import annotations

from presidio_analyzer import Pattern

from gateway.scan.recognizers.base import NUM_R, Recognizer, lead


class PassportRecognizer(Recognizer):
    ENTITY = "JP_PASSPORT"
    PATTERNS = (Pattern("passport", lead("[A-Z]", "[A-Za-z0-9]") + r"[A-Z]\d{7}" + NUM_R, 0.2),)
    CONTEXT = ("旅券", "パスポート", "passport")
    CONTEXT_BOOST = 0.55
