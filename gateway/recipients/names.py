"""Names of organisations and people as mail writes them, reduced to a key that compares.

`org_key("（株）エグザンプル 御中") == org_key("株式会社エグザンプル") == org_key("ｴｸﾞｻﾞﾝﾌﾟﾙ様") == "エグザンプル"`,
while 北斗物産 and 北斗商事 keep different keys. What is removed: width differences (NFKC), legal forms
(株式会社, (株), ㈱, 有限会社, 合同会社, 一般社団法人 ..., Inc., Co., Ltd. ...), honorifics (様, 御中, 殿,
さん, 各位, trailing 社), spaces and punctuation; common short forms are written one way (銀行 → 銀,
ホールディングス → HD, フィナンシャルグループ → FG).

`short_forms(key)` gives the shorter names a company is also called by (北斗物産 → 北斗): a greeting
with a short form matches the full name, but a short form alone never proves a mismatch.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Legal forms, written after NFKC (㈱ -> (株), ㍿ -> 株式会社, full-width brackets -> ASCII).
_LEGAL_JA = (
    "特定非営利活動法人",
    "地方独立行政法人",
    "独立行政法人",
    "国立大学法人",
    "公益社団法人",
    "公益財団法人",
    "一般社団法人",
    "一般財団法人",
    "社会福祉法人",
    "医療法人社団",
    "医療法人財団",
    "医療法人",
    "学校法人",
    "宗教法人",
    "NPO法人",
    "株式会社",
    "有限会社",
    "合同会社",
    "合資会社",
    "合名会社",
    "相互会社",
)
_LEGAL_ABBR = re.compile(r"\((?:株|有|同|資|名|社|財|医|学|特非|独)\)")
_LEGAL_EN = re.compile(
    r"(?:^|[\s,.])(?:co\.?,?\s*ltd|kabushiki\s+kaisha|incorporated|corporation|company|limited|"
    r"inc|corp|ltd|llc|llp|plc|gmbh|ag|sa|kk|k\.k|co)\.?(?=$|[\s,.])",
    re.IGNORECASE,
)
_CORP_WORDS = ("コーポレーション", "カンパニー")

# Honorifics and addressing words at the end of an addressee (longest first).
HONORIFICS = ("御中", "各位", "さま", "さん", "先生", "殿", "様", "宛て", "宛", "どの", "くん", "君")
_PERSON_TITLES = (
    "代表取締役社長",
    "代表取締役",
    "取締役",
    "執行役員",
    "社長",
    "副社長",
    "専務",
    "常務",
    "本部長",
    "事業部長",
    "部長代理",
    "部長",
    "次長",
    "課長代理",
    "課長",
    "係長",
    "主任",
    "室長",
    "所長",
    "支店長",
    "店長",
    "センター長",
    "マネージャー",
    "リーダー",
    "ご担当者",
    "ご担当",
    "担当者",
    "担当",
)
_EN_TITLES = re.compile(r"^(?:mr|mrs|ms|miss|mx|dr|prof|sir|madam)\.?\s+", re.IGNORECASE)

# Short forms: written the same way on both sides.
_SHORT = (
    ("ホールディングス", "hd"),
    ("フィナンシャルグループ", "fg"),
    ("フィナンシャル・グループ", "fg"),
    ("holdings", "hd"),
    ("銀行", "銀"),
)

# Words of a company name that say what it does: "北斗物産" is also called "北斗" (but never "北斗商事").
INDUSTRY_WORDS = tuple(
    sorted(
        {
            "物産",
            "商事",
            "農林",
            "漁業",
            "畜産",
            "酒造",
            "醸造",
            "製紙",
            "自動車",
            "商工",
            "工房",
            "商店",
            "商会",
            "産業",
            "工業",
            "興業",
            "工務店",
            "建設",
            "建築",
            "不動産",
            "電機",
            "電気",
            "電工",
            "電子",
            "化学",
            "化成",
            "製薬",
            "薬品",
            "製作所",
            "製造",
            "製菓",
            "食品",
            "水産",
            "運輸",
            "運送",
            "物流",
            "倉庫",
            "印刷",
            "出版",
            "保険",
            "証券",
            "銀",
            "信金",
            "信用金庫",
            "信用組合",
            "通信",
            "情報",
            "システム",
            "システムズ",
            "ソフト",
            "ソリューションズ",
            "テクノロジー",
            "技研",
            "精機",
            "機械",
            "重工",
            "鉄鋼",
            "石油",
            "ガス",
            "交通",
            "鉄道",
            "航空",
            "観光",
            "旅行",
            "ホテル",
            "サービス",
            "企画",
            "設計",
            "開発",
            "エンジニアリング",
            "コンサルティング",
            "研究所",
            "総研",
            "ファーマ",
            "メディカル",
            "トラスト",
            "キャピタル",
            "リース",
            "ファイナンス",
            "hd",
            "fg",
            "グループ",
            "ジャパン",
            "japan",
            "農園",
            "農業",
            "林業",
            "鉱業",
            "繊維",
            "紙業",
            "硝子",
            "ガラス",
            "陶器",
            "医院",
            "病院",
            "クリニック",
            "事務所",
            "法律事務所",
            "会計事務所",
            "税理士法人",
            "監査法人",
            "ストア",
            "百貨店",
            "商社",
            "貿易",
            "物販",
            "販売",
            "流通",
            "トレーディング",
            "インダストリーズ",
        },
        key=len,
        reverse=True,
    )
)

_DROP = re.compile(r"[\s\u3000・･.,，、。'\"`’“”「」『』【】〔〕\[\]<>〈〉《》:：;；!！?？~〜\-‐―_/\\|]")
_PARENS = re.compile(r"\(([^()]*)\)")


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def strip_honorific(text: str) -> tuple[str, str]:
    """('エグザンプル', '様') from 'エグザンプル様' / 'エグザンプル 様'; (text, '') without one."""
    t = text.rstrip(" \u3000、,:：")
    for h in HONORIFICS:
        if t.endswith(h) and len(t) > len(h):
            return t[: -len(h)].rstrip(" \u3000"), h
    return t, ""


def has_legal_form(text: str) -> bool:
    t = nfkc(text)
    return any(w in t for w in _LEGAL_JA) or bool(_LEGAL_ABBR.search(t)) or bool(_LEGAL_EN.search(t))


def _strip_legal(t: str) -> str:
    for w in _LEGAL_JA:
        t = t.replace(w, " ")
    t = _LEGAL_ABBR.sub(" ", t)
    for w in _CORP_WORDS:
        if t.strip().endswith(w) and len(t.strip()) > len(w):
            t = t.strip()[: -len(w)]
    prev = None
    while prev != t:  # "Example Co., Ltd." has two
        prev = t
        t = _LEGAL_EN.sub(" ", t)
    return t


@lru_cache(maxsize=65536)
def org_key(text: str) -> str:
    """The comparable key of an organisation name ('' when nothing is left)."""
    t = nfkc(text).strip()
    t, _ = strip_honorific(t)
    t = _strip_legal(t)
    t, _ = strip_honorific(t)
    t = t.casefold()
    for long, short in _SHORT:
        t = t.replace(long.casefold(), short)
    t = _DROP.sub("", t)
    if t.endswith("社") and len(t) > 2 and not t.endswith(("商社", "会社", "神社", "本社", "支社")):
        t = t[:-1]  # "エグザンプル社" as in "エグザンプル社 御中"
    return t


@lru_cache(maxsize=65536)
def person_key(text: str) -> str:
    """The comparable key of a person's name: '山田 太郎 部長' -> '山田太郎', 'Mr. John Smith' -> 'johnsmith'."""
    t = nfkc(text).strip()
    t, _ = strip_honorific(t)
    t = _EN_TITLES.sub("", t)
    words = t.split()
    if len(words) > 1:  # "営業部長 山田": a word that is a title goes
        kept = [w for w in words if not any(w.endswith(title) for title in _PERSON_TITLES)]
        t = " ".join(kept or words)
    changed = True
    while changed:
        changed = False
        for title in _PERSON_TITLES:
            if t.endswith(title) and len(t) > len(title):
                t, changed = t[: -len(title)].rstrip(" \u3000"), True
            elif t.startswith(title) and len(t) > len(title):
                t, changed = t[len(title) :].lstrip(" \u3000"), True
    t = _PARENS.sub("", t)
    return _DROP.sub("", t.casefold())


def surname_key(display: str) -> str:
    """The family name of a display name, when it can be told: '山田 太郎' -> '山田', 'John Smith' -> 'smith',
    'Smith, John' -> 'smith'; '' for a name written as one word."""
    t = _PARENS.sub("", nfkc(display)).strip()
    t = _EN_TITLES.sub("", t)
    if "," in t:
        return person_key(t.split(",", 1)[0])
    parts = t.split()
    if len(parts) < 2:
        return ""
    if all(p.isascii() for p in parts):
        return person_key(parts[-1])
    return person_key(parts[0])


def short_forms(key: str) -> tuple[str, ...]:
    """Shorter names the organisation of `key` is also called by: '北斗物産' -> ('北斗',)."""
    out = []
    for w in INDUSTRY_WORDS:
        if key.endswith(w) and len(key) - len(w) >= 2:
            out.append(key[: -len(w)])
            break
    return tuple(out)


def is_org_like(text: str) -> bool:
    """Does this look like an organisation name rather than a person's (legal form, industry word)?"""
    if has_legal_form(text):
        return True
    key = org_key(text)
    return any(key.endswith(w) and len(key) > len(w) for w in INDUSTRY_WORDS)
