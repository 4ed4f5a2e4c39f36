"""JP_PENSION_NUMBER: the Basic Pension Number (基礎年金番号), 4 + 6 digits, only in context."""

from __future__ import annotations

from presidio_analyzer import Pattern

from gateway.scan.recognizers.base import NUM_LEAD, NUM_R, Recognizer


class PensionNumberRecognizer(Recognizer):
    ENTITY = "JP_PENSION_NUMBER"
    PATTERNS = (Pattern("pension", NUM_LEAD + r"\d{3}-?\d{6}" + NUM_R, 0.15),)
    CONTEXT = ("基礎年金番号", "年金番号", "年金手帳", "pension")
    CONTEXT_BOOST = 0.65
