"""PERSON in English text, on patterns (an English spaCy model is optional): 'Mr. John Smith', and
capitalised names after 'Name:'. A bare 'John Smith' without context does not count."""

from __future__ import annotations

from presidio_analyzer import Pattern

from gateway.scan.recognizers.base import Recognizer, lead

_NAME = r"[A-Z][a-z]{1,20}(?:[ \-][A-Z][a-z]{1,20}){0,2}"
# Mr|Mrs|Ms|Miss|Dr|Prof not inside a word, the look-behind after the first letter (base.lead)
_TITLE = lead("M", "[A-Za-z]") + "(?:r|rs|s|iss)|" + lead("D", "[A-Za-z]") + "r|" + lead("P", "[A-Za-z]") + "rof"


class EnglishNameRecognizer(Recognizer):
    ENTITY = "PERSON"
    PATTERNS = (
        Pattern("title_name", "(?:" + _TITLE + r")\.? (?P<v>" + _NAME + r")(?![A-Za-z])", 0.45),
        Pattern("capitalised", lead("[A-Z]", "[A-Za-z]") + r"[a-z]{1,20} [A-Z][a-z]{1,20}(?![A-Za-z])", 0.1),
    )
    CONTEXT = ("name", "full name", "patient", "customer", "employee", "applicant", "氏名", "名前")
    CONTEXT_BOOST = 0.5
    WINDOW_BEFORE = 14
    WINDOW_AFTER = 0
