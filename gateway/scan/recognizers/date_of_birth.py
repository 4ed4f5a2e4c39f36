"""DATE_OF_BIRTH: a real past date (western or 和暦: 昭和55年3月12日, S55.3.12, 平成元年…) next to
生年月日 / 誕生日 / birth. Dates are everywhere in business mail: without context they do not count."""

from __future__ import annotations

import datetime as dt
import re

from presidio_analyzer import Pattern

from gateway.scan.recognizers.base import NUM_LEAD, NUM_R, Recognizer, lead

ERAS = {
    "明治": 1867,
    "M": 1867,
    "大正": 1911,
    "T": 1911,
    "昭和": 1925,
    "S": 1925,
    "平成": 1988,
    "H": 1988,
    "令和": 2018,
    "R": 2018,
}
MONTHS = {
    m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)
}

# NUM_L and (?<![A-Za-z]) written after the first character (base.lead)
_WESTERN = "(?P<y>(?:" + lead("1", "[0-9]", "[0-9]-") + "9|" + lead("2", "[0-9]", "[0-9]-") + r"0)\d{2})"
_WESTERN += r"(?:[/.\-]|年 ?)(?P<m>\d{1,2})(?:[/.\-]|月 ?)(?P<d>\d{1,2})日?" + NUM_R
_WAREKI = (
    "(?P<era>明治|大正|昭和|平成|令和|" + "|".join(lead(c, "[A-Za-z]") for c in "MTSHR") + r")\s?(?P<y>\d{1,2}|元)"
    r"(?:[./\-]|年 ?)(?P<m>\d{1,2})(?:[./\-]|月 ?)(?P<d>\d{1,2})日?" + NUM_R
)
_US = "(?P<m>" + NUM_LEAD + r"\d?)/(?P<d>\d{1,2})/(?P<y>(?:19|20)\d{2})" + NUM_R
_EN = (
    r"(?P<mn>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)(?<![A-Za-z][A-Za-z]{3})[a-z]*\.? "
    r"(?P<d>\d{1,2}),? (?P<y>(?:19|20)\d{2})" + NUM_R
)
_EN2 = (
    "(?P<d>"
    + NUM_LEAD
    + r"\d?) (?P<mn>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.? (?P<y>(?:19|20)\d{2})"
    + NUM_R
)
_ALL = [re.compile(p) for p in (_WESTERN, _WAREKI, _US, _EN, _EN2)]


def parse_date(value: str) -> dt.date | None:
    for rx in _ALL:
        m = rx.fullmatch(value)
        if m is None:
            continue
        g = m.groupdict()
        try:
            year = int(g["y"]) if not g.get("era") else ERAS[g["era"]] + (1 if g["y"] == "元" else int(g["y"]))
            month = MONTHS[g["mn"].lower()[:3]] if g.get("mn") else int(g["m"])
            return dt.date(year, month, int(g["d"]))
        except (ValueError, KeyError):
            return None
    return None


class DateOfBirthRecognizer(Recognizer):
    ENTITY = "DATE_OF_BIRTH"
    PATTERNS = tuple(
        Pattern(name, rx, 0.1)
        for name, rx in zip(("western", "wareki", "us", "en", "en2"), (_WESTERN, _WAREKI, _US, _EN, _EN2), strict=True)
    )
    CONTEXT = ("生年月日", "誕生日", "生まれ", "birth", "DOB", "born", "birthday")
    CONTEXT_BOOST = 0.7
    WINDOW_BEFORE = 16

    def validate(self, value: str) -> bool | None:
        date = parse_date(value)
        if date is None:
            return False
        today = dt.date.today()
        return today.year - 120 <= date.year and date <= today
