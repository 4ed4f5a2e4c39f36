"""JP_ADDRESS: prefecture, municipality, town, block number, building and room.

Two ways to an address, the better one wins:

- the gazetteer (Japan Post's data, gateway.scan.gazetteer): a real municipality (あきる野市, さいたま市
  大宮区, 西多摩郡瑞穂町), a town Japan Post lists for it (北3条西 = 北三条西), Kyoto street directions
  (河原町通三条上る), then a block number (条・丁目・番地・号, 1-2-3, 一丁目2番3号, 123) and an optional
  building and room (コーポ桜 201号室). A prefecture that agrees with the municipality and a postal
  code that Japan Post gives to that place are strong evidence;
- patterns: a prefecture, something ending in 市区町村郡, words and a block number (addresses whose
  town is not in the data, or whose city and prefecture do not agree).

A block number is required (a bare city name is not an address of a person). Business venues and
offices (本社, 会場, ... ビル 5F) lower the score: the gateway guards people's addresses. The scores
are tabled in docs/scan.md ("Addresses").
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from presidio_analyzer import Pattern

from gateway.scan.gazetteer import Gazetteer, fold, gazetteer, kanji_number
from gateway.scan.model import Hit
from gateway.scan.recognizers.base import ContextFn, Recognizer, words_regex

# Every name in full (not (?:青森|...)県): an alternation of literals lets the regex engine skip ahead
# to the characters that can start one.
_KEN = (
    "青森", "岩手", "宮城", "秋田", "山形", "福島", "茨城", "栃木", "群馬", "埼玉", "千葉",
    "神奈川", "新潟", "富山", "石川", "福井", "山梨", "長野", "岐阜", "静岡", "愛知", "三重",
    "滋賀", "兵庫", "奈良", "和歌山", "鳥取", "島根", "岡山", "広島", "山口", "徳島", "香川",
    "愛媛", "高知", "福岡", "佐賀", "長崎", "熊本", "大分", "宮崎", "鹿児島", "沖縄",
)  # fmt: skip
PREFECTURES = "北海道|東京都|京都府|大阪府|" + "|".join(f"{p}県" for p in _KEN)
_KANJI = r"\u3005\u30f6\u4e00-\u9fff"
_WORD = rf"[{_KANJI}\u3041-\u3096\u30a1-\u30fa\u30fc]"
_CITY = rf"[{_KANJI}\u30a1-\u30fa\u30fc]{{1,7}}?[市区町村郡]"
_NUM = r"(?:\d{1,4}|[一二三四五六七八九十]{1,3})"
_BLOCK = rf"{_NUM}(?:丁目|番地|番|号|-|の){_NUM}?(?:(?:番地|番|号|-|の)\d{{1,4}})*(?:号)?"

_OFFICE_AFTER = re.compile(r"\s?[^\n\t]{0,12}?(?:ビル|タワー|\d+F|\d+階|会館|センター|ホール)")
# Before an address (on its line, or on a short label line above it): an organisation's place.
_OFFICE_BEFORE = words_regex(
    (
        "本社",
        "支社",
        "支店",
        "本店",
        "営業所",
        "事務所",
        "オフィス",
        "会場",
        "開催地",
        "場所",
        "所在地",
        "工場",
        "店舗",
        "株式会社",
        "有限会社",
        "合同会社",
        "(株)",
        "(有)",
        "御中",
        "弊社",
        "当社",
        "貴社",
        "御社",
        "店:",
        "ホテル",
        "役所",
        "役場",
        "venue",
        "office",
        "headquarters",
    )
)

# -- the gazetteer way (on folded text: ヶ→ケ, dashes → '-') -------------------------------------------

_MUNICIPALITY_END = re.compile("[市区町村]")
_N = r"(?:[0-9]{1,5}|[〇一二三四五六七八九十百千]{1,8})"
_SEP = r"(?:丁目|条(?:通|[東西南北])?|番地の?|番|号|線[東西南北]?|地割|-|ー|の)"
_BLOCK_G = re.compile(
    rf" ?(?P<block>(?:[甲乙丙丁] ?)?(?:[0-9]{{1,5}}|{_N}(?= ?{_SEP} ?[甲乙丙丁]?{_N}|丁目|番地|番|号))"
    rf"(?: ?{_SEP} ?[甲乙丙丁]?{_N})*(?: ?(?:丁目|番地|番|号)(?!室))?)"
    # not a time, a count or an amount, nor the start of a Kyoto street (七条下る)
    r"(?![0-9]|[-ー:時分秒年名人回件円%個枚度歳才万億点位歩条]|ヶ月|か月|カ月)"
)
# A bare number followed by 月 (1-12) or 日 (1-31) is a date: 神宮前で12日. After 1-2-3, or after 2490
# (2490月島, 1-2-10日光ハイツ), it is the start of a building's name.
_DATE_AFTER = re.compile(r"(?<![0-9])(?:0?[1-9]|1[0-2])月|(?<![0-9])(?:0?[1-9]|[12][0-9]|3[01])日")


_STRUCTURED = re.compile(_SEP)
_CHOME_ONLY = re.compile(rf"{_N} ?丁目")
_CHOME_END = re.compile(rf"{_N} ?丁目$")
_NUMBER_RUN = re.compile(r"[0-9]+|[〇一二三四五六七八九十百千]+")


def _block(t: str, pos: int) -> re.Match[str] | None:
    b = _BLOCK_G.match(t, pos)
    if b is None:
        return None
    if not _STRUCTURED.search(b.group("block")) and _DATE_AFTER.match(t, b.start("block")):
        return None
    return b


_DIRECTION = "上る|上ル|上がる|上ガル|下る|下ル|下がる|下ガル|[東西]入る|[東西]入ル|[東西]入"
_STREET = re.compile(rf"(?:[{_KANJI}ァ-ヺー]{{1,20}}?(?:{_DIRECTION}) ?){{1,2}}")
_SUBAREA = re.compile(r"(?:大字|字)")
_UNKNOWN_TOWN = re.compile(rf"(?:大字|字)?[{_KANJI}ァ-ヺー]{{1,12}}?(?=[甲乙丙丁]?{_N})")
_AFTER_TOWN = re.compile(rf"(?:字?[{_KANJI}ァ-ヺー]{{1,6}}?)??(?= ?[甲乙丙丁]?{_N})")
_BUILDING_WORDS = (
    "マンション|ハイツ|コーポ|アパート|レジデンス|レジデンシャル|ハウス|荘|寮|ビル|タワー|パレス|ヒルズ|コート|"
    "メゾン|ハイム|ヴィラ|ビラ|プラザ|ガーデン|テラス|パーク|シティ|団地|住宅|会館|センター|ホール|ドーム|"
    "フラット|ホームズ|カーサ|ヴィレッジ|ステージ|キャッスル|シャトー|コーポラス|アーバン"
)
_ROOM = (
    r"(?:[A-Z]?-?[0-9]{1,5}(?:号室|室|号)|#[0-9]{1,5}|[0-9]{1,3}(?:F|階)|[A-Z]-?[0-9]{1,4}(?![0-9]|-[0-9])"
    r"|[0-9]{2,4}(?![0-9]|[-ー‐.()月日時分年円%:人名件回個枚]))"  # not the start of a phone number
)
_STOP = r"\s0-9、。,.()\[\]「」『』:;<>"
_BUILDING = re.compile(
    rf"(?: ?(?P<name>[^{_STOP}]{{0,16}}?(?:{_BUILDING_WORDS})[^{_STOP}]{{0,12}}"
    rf"|[^{_STOP}]{{1,16}}(?= ?-?[0-9]{{1,5}}(?:号室|室)| ?#)))?"
    rf"(?P<room> ?(?:-|ー)?{_ROOM})?"
)
# タワー is as often a tower block of flats as offices: only the words below mark an office.
_OFFICE_BUILDING = re.compile(r"ビル|会館|センター|ホール|ドーム|[0-9]F|[0-9]階")
_POSTAL_BEFORE = re.compile(r"([0-9](?<![0-9][0-9])[0-9]{2})-?([0-9]{4})(?![0-9])[^0-9\n]{0,14}\n?[^0-9\n]{0,14}$")

KNOWN_TOWN = 0.7
UNKNOWN_TOWN = 0.45
PREFECTURE_AGREES = 0.15
BARE_NUMBER = -0.1  # 天久保123: a block without 丁目/番/号/-
UNKNOWN_TOWN_BARE_NUMBER = -0.15  # 岐阜県加茂郡富加町瀧田1511: counts with a context word only
CHOME_ONLY = -0.4  # 東京都港区芝浦1丁目 (付近で工事): a district, not yet one house; counts after 住所 etc.
STREET_OR_BUILDING = 0.05
POSTAL_AGREES_TOWN = 0.35
POSTAL_AGREES_MUNICIPALITY = 0.25
OFFICE_PENALTY = 0.4


@dataclass(frozen=True, slots=True)
class Parsed:
    """One address found through the gazetteer (offsets in the scanned text)."""

    start: int
    end: int
    ids: tuple[int, ...]  # municipalities it may be in (several when the name is ambiguous, 府中市)
    town: str  # town key, '' when the town is not in Japan Post's list
    prefecture: bool  # written, and it agrees
    block: str
    structured: bool  # the block has 丁目/番/号/-/条...
    street: bool
    building: str
    room: str


def parse_at(g: Gazetteer, t: str, start: int, end: int, ids: tuple[int, ...]) -> Parsed | None:
    """The address whose municipality name is t[start:end] (t folded), or None."""
    prefecture = False
    s = start
    p = start - 1 if start and t[start - 1] == " " else start
    pref = g.prefecture_ending_at(t, p)
    if pref is not None:
        agreeing = tuple(i for i in ids if g.municipalities[i].prefecture == pref[1])
        if agreeing:
            ids, prefecture, s = agreeing, True, pref[0]
    pos = end + 1 if end < len(t) and t[end] == " " else end
    street = _STREET.match(t, pos)
    candidates = ([(street.end(), True)] if street else []) + [(pos, False)]
    for at, via_street in candidates:
        sub = _SUBAREA.match(t, at)
        for q in (at, sub.end()) if sub else (at,):
            town = g.town_at(t, q, ids)
            if town is None:
                continue
            town_end, having, key = town
            extra = _AFTER_TOWN.match(t, town_end)
            b = _block(t, extra.end() if extra else town_end)
            if b is None:
                continue
            return _finish(t, s, b, having, key, prefecture, via_street)
    unknown = _UNKNOWN_TOWN.match(t, pos)
    if unknown is not None:
        b = _block(t, unknown.end())
        # a town Japan Post does not list (大字鶴賀南千歳町878): a bare number only after a prefecture
        if b is not None and (prefecture or _STRUCTURED.search(b.group("block"))):
            return _finish(t, s, b, ids, "", prefecture, street is not None and street.end() <= unknown.end())
    if prefecture:  # 茨城県龍ケ崎市3710: a 番地 right after the municipality
        b = _block(t, pos)
        if b is not None and len(b.group("block")) >= 3:
            return _finish(t, s, b, ids, "", prefecture, False)
    return None


def _finish(
    t: str, start: int, b: re.Match[str], ids: tuple[int, ...], town: str, prefecture: bool, street: bool
) -> Parsed:
    block = b.group("block")
    end = b.end()
    building = room = ""
    m = _BUILDING.match(t, end)
    if m and m.end() > end and (m.group("room") or m.group("name")):
        building, room = (m.group("name") or "").strip(), (m.group("room") or "").strip()
        end = m.end()
    return Parsed(start, end, ids, town, prefecture, block, bool(_STRUCTURED.search(block)), street, building, room)


def _numbers(block: str) -> list[int]:
    out = []
    for run in re.findall(r"[0-9]+|[〇一二三四五六七八九十百千]+", block):
        n = int(run) if run.isdigit() else kanji_number(run)
        if n is not None:
            out.append(n)
    return out


@lru_cache(maxsize=4096)
def address_key(value: str) -> str:
    """A canonical form for comparing addresses: 港区芝公園一丁目2番3号 = 東京都港区芝公園1-2-3."""
    t = fold(re.sub(r"\s+", " ", unicodedata.normalize("NFKC", value).strip()))
    g = gazetteer()
    for m in _MUNICIPALITY_END.finditer(t):
        found = g.municipality_ending_at(t, m.end())
        if found is None:
            continue
        parsed = parse_at(g, t, found[0], m.end(), found[1])
        if parsed is not None:
            muni = g.municipalities[parsed.ids[0]].name
            return f"{muni}|{parsed.town}|" + "-".join(map(str, _numbers(parsed.block)))
    s = re.sub(r"\s", "", t)
    s = re.sub(r"(?<=\d)(?:丁目|番地|番|号|の)(?=\d)", "-", s)
    return re.sub(r"(?:番地|番|号)$", "", s)


class JpAddressRecognizer(Recognizer):
    ENTITY = "JP_ADDRESS"
    PATTERNS = (
        Pattern("address_with_prefecture", rf"(?:{PREFECTURES})\s?{_CITY}{_WORD}{{0,14}}?{_BLOCK}", 0.8),
        Pattern("address_city", rf"(?<![{_KANJI}]){_CITY}{_WORD}{{0,14}}?{_BLOCK}", 0.45),
    )
    CONTEXT = ("住所", "現住所", "自宅", "居住", "〒", "address", "お届け先", "送付先")
    CONTEXT_BOOST = 0.3
    WINDOW_BEFORE = 30

    def __init__(self) -> None:
        super().__init__()
        self.gazetteer = gazetteer()

    def adjust(self, text: str, start: int, end: int, value: str, score: float) -> float:
        if _OFFICE_AFTER.match(text, end):
            score -= 0.35
        if _CHOME_END.search(value) and len(_NUMBER_RUN.findall(value)) == 1:
            score += CHOME_ONLY
        return self._office_before(text, start, score, 0.35)

    @staticmethod
    def _office_before(text: str, start: int, score: float, penalty: float) -> float:
        assert _OFFICE_BEFORE is not None
        line_start = text.rfind("\n", 0, start) + 1
        if _OFFICE_BEFORE.search(text, max(line_start, start - 20), start):
            return score - penalty
        # 【会場】 / ■所在地 on the line above an address that starts its line
        if line_start >= 2 and not text[line_start:start].strip(" 　:：・■□●◆【】[]()"):
            above = text.rfind("\n", 0, line_start - 1) + 1
            if line_start - above <= 20 and _OFFICE_BEFORE.search(text, above, line_start):
                return score - penalty
        return score

    def find(
        self,
        text: str,
        context: ContextFn | None = None,
        *,
        table: bool = False,
        covered: Callable[[int, int, float], bool] | None = None,
    ) -> list[Hit]:
        hits = [self._score(text, p, context, table) for p in self.parse(text)]
        # A pattern hit overlapping a gazetteer hit: one address, the gazetteer's span, the better score.
        # Gazetteer hits are sorted and do not overlap, so their ends are sorted too.
        ends = [h.end for h in hits]

        def known(start: int, end: int, pattern_score: float) -> bool:
            """Whether a pattern match lies on gazetteer hits that all score at least what it can
            reach (its pattern score and a context word; adjust only lowers): it would change nothing."""
            i = bisect_right(ends, start)
            if i >= len(hits) or hits[i].start >= end:
                return False
            best = min(1.0, pattern_score + self.CONTEXT_BOOST)
            while i < len(hits) and hits[i].start < end:
                if hits[i].score < best:
                    return False
                i += 1
            return True

        def skip(start: int, end: int, pattern_score: float) -> bool:
            return known(start, end, pattern_score) or (covered is not None and covered(start, end, pattern_score))

        out = list(hits)
        for h in super().find(text, context, table=table, covered=skip):
            i = bisect_right(ends, h.start)
            if i >= len(hits) or hits[i].start >= h.end:
                out.append(h)
                continue
            while i < len(hits) and hits[i].start < h.end:
                g = out[i]
                if h.score > g.score:
                    out[i] = Hit(g.entity, g.start, g.end, h.score, g.value, g.source)
                i += 1
        return out

    def parse(self, text: str) -> list[Parsed]:
        """Addresses found through the gazetteer, left to right, not overlapping."""
        g = self.gazetteer
        t = fold(text)
        spans: list[tuple[int, int, tuple[int, ...]]] = []
        for m in _MUNICIPALITY_END.finditer(t):
            found = g.municipality_ending_at(t, m.end())
            if found is not None:
                spans.append((found[0], m.end(), found[1]))
        # 札幌市 inside 札幌市中央区: the longer name.
        spans.sort(key=lambda x: (x[0], -x[1]))
        out: list[Parsed] = []
        covered = -1
        for start, end, ids in spans:
            if start < covered:
                continue
            parsed = parse_at(g, t, start, end, ids)
            if parsed is not None:
                out.append(parsed)
                covered = parsed.end
        return out

    def _score(self, text: str, p: Parsed, context: ContextFn | None, table: bool) -> Hit:
        score = KNOWN_TOWN if p.town else UNKNOWN_TOWN
        if p.prefecture:
            score += PREFECTURE_AGREES
        if not p.structured:
            score += BARE_NUMBER if p.town else UNKNOWN_TOWN_BARE_NUMBER
        elif _CHOME_ONLY.fullmatch(p.block) and not p.room:
            score += CHOME_ONLY
        if p.street or (p.building and not _OFFICE_BUILDING.search(p.building + p.room)) or "室" in p.room:
            score += STREET_OR_BUILDING
        if _OFFICE_BUILDING.search(p.building + p.room):
            score -= OFFICE_PENALTY
        score = self._office_before(text, p.start, score, OFFICE_PENALTY)
        ctx = self.window(text, p.start, p.end) if table else self.wide(text, p.start, p.end)
        if context is not None:
            ctx += " " + context(p.start)
        boost = self.CONTEXT_BOOST if self._words_in(ctx) else 0.0
        score += max(boost, self._postal_agreement(text, p))
        return Hit(self.ENTITY, p.start, p.end, max(0.0, min(1.0, score)), text[p.start : p.end], "gazetteer")

    def _postal_agreement(self, text: str, p: Parsed) -> float:
        """A postal code just before the address that Japan Post gives to this place."""
        m = _POSTAL_BEFORE.search(text, max(0, p.start - 40), p.start)
        if m is None:
            return 0.0
        places = self.gazetteer.places_of_code(m.group(1) + m.group(2))
        if p.town and any(i in p.ids and town == p.town for i, town in places):
            return POSTAL_AGREES_TOWN
        if any(i in p.ids for i, _ in places):
            return POSTAL_AGREES_MUNICIPALITY
        return 0.0


@lru_cache(maxsize=64)
def own_postal_codes(addresses: tuple[str, ...]) -> frozenset[str]:
    """The postal codes of the organisation's own addresses: those written in them, and those Japan
    Post gives to their towns (a press release's 〒 next to the company's address is not personal data)."""
    g = gazetteer()
    codes: set[str] = set()
    for a in addresses:
        t = fold(a)
        codes.update(x + y for x, y in re.findall(r"(?<![0-9])([0-9]{3})-?([0-9]{4})(?![0-9])", t))
        for m in _MUNICIPALITY_END.finditer(t):
            found = g.municipality_ending_at(t, m.end())
            parsed = parse_at(g, t, found[0], m.end(), found[1]) if found else None
            if parsed is not None and parsed.town:
                codes |= g.codes_of(parsed.ids, parsed.town)
                break
    return frozenset(codes)
