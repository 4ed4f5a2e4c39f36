"""Per-form sets for bench/accuracy.py and the unit tests, generated in the run from sources not
written here: Faker ja_JP for people, phones and e-mail addresses; Faker's card generators; the SWIFT
IBAN registry as python-stdnum carries it; the SSA's SSN rules; the My Number check digit as
python-stdnum computes it; GS1 check digits for JAN codes; presidio-analyzer's own recognizer test
vectors (tests/data/presidio/vectors.json, see bench/presidio_vectors.py).

Each sample is one mail body (or one table). A set is `positive` (recall over its labels, and any
other hit is a false positive), `negative` (look-alikes: every hit is a false positive) or `benign`
(business mail: a sample with any hit would be held). The templates only put the values where
people write them (a context word on the line, on the line above, a table header); the values are
never picked.
"""

from __future__ import annotations

import json
import random
import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import idna
import phonenumbers
from faker import Faker
from stdnum import ean, iban, numdb
from stdnum.jp import in_

from gateway.scan.recognizers.email_address import ROLE_LOCAL_PARTS
from tests.unit.scan.corpus import INVOICE, MEETING, PRICE_LIST, QUOTED_REPLY, SIGNATURE, Sample

VECTORS = Path(__file__).resolve().parents[2] / "data" / "presidio" / "vectors.json"


@dataclass
class FormSet:
    name: str
    kind: str  # positive | negative | benign
    samples: list[Sample]


class Sources:
    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        self.ja = Faker("ja_JP")
        self.ja.seed_instance(seed)
        self.en = Faker("en_US")
        self.en.seed_instance(seed)

    def digits(self, n: int) -> str:
        return "".join(self.r.choice(string.digits) for _ in range(n))

    def pick(self, *options: str) -> str:
        return self.r.choice(options)

    # -- identifiers ------------------------------------------------------------------------------

    def my_number(self, valid: bool = True) -> str:
        base = self.digits(11)
        cd = int(in_.calc_check_digit(base))
        if not valid:
            cd = (cd + self.r.randint(1, 9)) % 10
        n = base + str(cd)
        return self.pick(n, f"{n[:4]} {n[4:8]} {n[8:]}", f"{n[:4]}-{n[4:8]}-{n[8:]}")

    def card(self) -> str:
        kind = self.pick("amex", "diners", "discover", "jcb15", "jcb16", "maestro", "mastercard", "visa16", "visa19")
        n = self.ja.credit_card_number(kind)
        if len(n) == 16 and self.r.random() < 0.6:
            return self.pick(" ", "-").join(n[i : i + 4] for i in range(0, 16, 4))
        if len(n) == 15 and kind == "amex" and self.r.random() < 0.6:
            return f"{n[:4]} {n[4:10]} {n[10:]}"
        return n

    def expiry(self) -> str:
        return f"{self.r.randint(1, 12):02d}/{self.r.randint(26, 35)}"

    def iban(self, country: str, valid: bool = True) -> str:
        bban_format = dict(numdb.get("iban").info(country)[0][1])["bban"]
        for _ in range(500):
            bban = ""
            for count, kind in _STRUCT.findall(bban_format):
                alphabet = {
                    "n": string.digits,
                    "a": string.ascii_uppercase,
                    "c": string.digits + string.ascii_uppercase,
                }
                bban += "".join(self.r.choice(alphabet[kind]) for _ in range(int(count)))
            number = country + iban.calc_check_digits(country + "00" + bban) + bban
            if iban.is_valid(number):
                break
        else:
            raise RuntimeError(f"no valid IBAN generated for {country}")
        if not valid:
            number = number[:2] + f"{(int(number[2:4]) + self.r.randint(1, 90)) % 97 + 2:02d}"[-2:] + number[4:]
        return iban.format(number) if self.r.random() < 0.5 else number

    def ssn(self, valid: bool = True) -> str:
        area, group, serial = self.r.randint(1, 899), self.r.randint(1, 99), self.r.randint(1, 9999)
        while area == 666:
            area = self.r.randint(1, 899)
        if not valid:
            which = self.r.randint(0, 3)
            area = (0, 666, self.r.randint(900, 999), area)[which]
            group, serial = (group, group, group, 0)[which], (serial, serial, serial, 0)[which] if which != 3 else 0
        sep = self.pick("-", ".", " ")
        return f"{area:03d}{sep}{group:02d}{sep}{serial:04d}"

    def jp_phone(self) -> str:
        """Faker ja_JP numbers that libphonenumber calls valid Japanese fixed or mobile numbers, written
        as dialled in Japan (Faker also makes numbers without the leading 0, and 080-0… that are 0800
        toll-free numbers by their digits)."""
        while True:
            n = self.ja.phone_number()
            if not n.startswith("0"):
                continue
            number = phonenumbers.parse(n, "JP")
            kinds = (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE,
                     phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE, phonenumbers.PhoneNumberType.VOIP)  # fmt: skip
            if phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in kinds:
                return n

    def email(self) -> str:
        return self.pick(self.ja.email(), self.ja.free_email(), self.en.email())

    def idn_email(self) -> str:
        user = self.ja.user_name()
        label = self.pick(self.ja.last_name(), self.ja.city().rstrip("市区町村"), self.ja.word())
        domain = f"{label}.{self.pick('jp', 'com', 'co.jp', 'net')}"
        return f"{user}@{domain}" if self.r.random() < 0.5 else f"{user}@{idna.encode(domain).decode()}"

    def jan(self) -> str:
        body = self.pick("45", "49") + self.digits(10)
        return body + ean.calc_check_digit(body)

    def dob(self) -> str:
        d = self.ja.date_of_birth(minimum_age=1, maximum_age=95)
        y, m, dd = d.year, d.month, d.day
        era = ("昭和", y - 1925) if y < 1989 else ("平成", y - 1988) if y < 2019 else ("令和", y - 2018)
        return self.pick(
            f"{y}/{m:02d}/{dd:02d}", f"{y}-{m:02d}-{dd:02d}", f"{y}年{m}月{dd}日", f"{era[0]}{era[1]}年{m}月{dd}日"
        )

    # -- people -----------------------------------------------------------------------------------

    def name(self) -> str:
        return self.ja.name()

    def kana(self) -> str:
        k = self.ja.kana_name()
        return k if self.r.random() < 0.7 else "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in k)


_STRUCT = re.compile(r"([1-9][0-9]*)!([nac])")


def _one(name: str, kind: str, n: int, make: Callable[[int], Sample]) -> FormSet:
    return FormSet(name, kind, [make(i) for i in range(n)])


def _labelled(entity: str, templates: tuple[str, ...], value: Callable[[], str], s: Sources) -> Callable[[int], Sample]:
    def make(i: int) -> Sample:
        v = value()
        return Sample(f"{entity}_{i}", s.pick(*templates).format(v=v, exp=s.expiry()), [(entity, v)])

    return make


def _unlabelled(templates: tuple[str, ...], value: Callable[[], str], s: Sources) -> Callable[[int], Sample]:
    return lambda i: Sample(f"neg_{i}", s.pick(*templates).format(v=value(), exp=s.expiry()))


def _listed(entity: str, value: Callable[[], str], s: Sources, labelled: bool = True) -> Callable[[int], Sample]:
    """A list of 3 to 8 values, one a line, without any context word."""

    def make(i: int) -> Sample:
        values = [value() for _ in range(s.r.randint(3, 8))]
        style = s.r.randint(0, 2)
        lines = [v if style == 0 else f"{k + 1}. {v}" if style == 1 else f"・{v}" for k, v in enumerate(values)]
        intro = s.pick("下記の通りです。", "一覧を送ります。", "Please see below.", "")
        labels = [(entity, v) for v in values] if labelled else []
        return Sample(f"list_{entity}_{i}", (intro + "\n" if intro else "") + "\n".join(lines), labels)

    return make


MY_NUMBER_CONTEXT = (
    "マイナンバー：{v}", "個人番号は{v}です。", "お客様の個人番号 {v} を登録しました。", "マイナンバー\n{v}",
    "個人番号（マイナンバー）\n  {v}", "My Number: {v}", "{v}（個人番号）",
)  # fmt: skip
CARD_CONTEXT = (
    "カード番号：{v}", "クレジットカード {v}", "Card number: {v}", "{v} 有効期限 {exp}", "{v}\nexp {exp}",
    "お支払いカード\n{v}", "{v} CVV 123", "カード：{v}（有効期限{exp}）",
)  # fmt: skip
IBAN_CONTEXT = ("IBAN: {v}", "振込先 IBAN {v}", "Bank account (IBAN) {v}", "口座：{v}", "Please pay to {v} by Friday.")
SSN_CONTEXT = ("SSN: {v}", "Social Security Number {v}", "社会保障番号：{v}", "SSN\n{v}", "Employee SSN {v} on file")
EMAIL_CONTEXT = ("メール：{v}", "E-mail: {v}", "{v}までご連絡ください。", "連絡先は{v}です")
PHONE_CONTEXT = ("電話：{v}", "携帯 {v}", "TEL {v}", "連絡先：{v}", "ご自宅の電話番号は{v}です。")
NAME_LABELLED = ("氏名：{v}", "お名前：{v} 様", "申込者氏名 {v}", "氏名\n{v}")
NAME_RUNNING = (
    "本日、{v}さんから入会のお申し込みがありました。", "{v}様より解約のご連絡をいただきました。",
    "新しく{v}さんが経理部に配属されます。", "患者 {v} の検査結果をお送りします。",
)  # fmt: skip
KANA_FORMS = ("フリガナ：{v}", "ふりがな {v}", "氏名（フリガナ）：{v}", "フリガナ\n{v}")


def identifier_sets(s: Sources, n: int) -> list[FormSet]:
    countries = sorted(numdb.get("iban").prefixes and _iban_countries())
    return [
        _one("My Number, context word", "positive", n, _labelled("JP_MY_NUMBER", MY_NUMBER_CONTEXT, s.my_number, s)),
        _one("My Number, list without context", "positive", n // 2, _listed("JP_MY_NUMBER", s.my_number, s)),
        _one("My Number, bad check digit + context", "negative", n * 4,
             _unlabelled(MY_NUMBER_CONTEXT, lambda: s.my_number(valid=False), s)),
        _one("My Number, one valid without context", "negative", n,
             _unlabelled(("番号 {v} の件、承知しました。", "参照 {v}", "{v}"), s.my_number, s)),
        _one("12-digit order numbers, lists", "negative", n, _listed("", lambda: s.digits(12), s, labelled=False)),
        _one("cards (Faker brands), context", "positive", n, _labelled("CREDIT_CARD", CARD_CONTEXT, s.card, s)),
        _one("cards, list without context", "positive", n // 2, _listed("CREDIT_CARD", s.card, s)),
        _one("cards, Luhn fails + context", "negative", n,
             _unlabelled(CARD_CONTEXT, lambda: _luhn_broken(s.card()), s)),
        _one("16-digit numbers, lists", "negative", n, _listed("", lambda: s.digits(16), s, labelled=False)),
        FormSet("IBAN, every stdnum country", "positive",
                [_labelled("IBAN_CODE", IBAN_CONTEXT, lambda c=c: s.iban(c), s)(i) for i, c in enumerate(countries)]),
        FormSet("IBAN, bad check digits + context", "negative",
                [_unlabelled(IBAN_CONTEXT, lambda c=c: s.iban(c, valid=False), s)(i) for i, c in enumerate(countries)]),
        _one("US SSN (- . space), context", "positive", n, _labelled("US_SSN", SSN_CONTEXT, s.ssn, s)),
        _one("US SSN, impossible + context", "negative", n, _unlabelled(SSN_CONTEXT, lambda: s.ssn(valid=False), s)),
        _one("e-mail (Faker)", "positive", n, _labelled("EMAIL_ADDRESS", EMAIL_CONTEXT, s.email, s)),
        _one("e-mail, IDN (Unicode, xn--)", "positive", n, _labelled("EMAIL_ADDRESS", EMAIL_CONTEXT, s.idn_email, s)),
        _one("phones (Faker ja_JP), context", "positive", n,
             _labelled("JP_PHONE_NUMBER", PHONE_CONTEXT, s.jp_phone, s)),
    ]  # fmt: skip


def _iban_countries() -> list[str]:
    import stdnum

    text = (Path(stdnum.__file__).parent / "iban.dat").read_text(encoding="utf-8")
    return [line[:2] for line in text.splitlines() if line[:2].isalpha() and line[:2].isupper()]


def _luhn_broken(card: str) -> str:
    last = card[-1]
    return card[:-1] + str((int(last) + 5) % 10)


def name_sets(s: Sources, n: int) -> list[FormSet]:
    return [
        _one("names, 氏名 label", "positive", n, _labelled("PERSON", NAME_LABELLED, s.name, s)),
        _one("names, running text", "positive", n, _labelled("PERSON", NAME_RUNNING, s.name, s)),
        _one("names, unspaced", "positive", n,
             _labelled("PERSON", NAME_LABELLED + NAME_RUNNING, lambda: s.name().replace(" ", ""), s)),
        _one("names, フリガナ lines", "positive", n, _labelled("PERSON", KANA_FORMS, s.kana, s)),
        _one("names, romaji after Name:", "positive", n,
             _labelled("PERSON", ("Name: {v}", "Full name: {v}", "Applicant name {v}"), s.ja.romanized_name, s)),
    ]  # fmt: skip


JA_HEADER = ("氏名", "フリガナ", "生年月日", "メールアドレス", "電話番号", "部署")


def table_sets(s: Sources, n: int) -> list[FormSet]:
    """Tables of people as attachments hold them: Japanese headers, English headers with romaji,
    and CSVs without a header row (read by the content of their columns)."""

    def rows(k: int) -> list[dict[str, str]]:
        return [
            {"name": s.name(), "kana": s.ja.kana_name(), "romaji": s.ja.romanized_name(), "dob": s.dob(),
             "email": s.ja.email(), "phone": s.jp_phone(), "dept": s.pick("営業部", "総務部", "開発部", "経理部")}
            for _ in range(k)
        ]  # fmt: skip

    ent = {"name": "PERSON", "kana": "PERSON", "romaji": "PERSON", "dob": "DATE_OF_BIRTH",
           "email": "EMAIL_ADDRESS", "phone": "JP_PHONE_NUMBER", "dept": ""}  # fmt: skip

    def table(i: int, cols: list[str], header: tuple[str, ...], tag: str) -> Sample:
        data = rows(s.r.randint(4, 12))
        text = "\n".join("\t".join(r[c] for c in cols) for r in data)
        labels = [(ent[c], r[c]) for r in data for c in cols if ent[c]]
        return Sample(f"{tag}_{i}", text, labels, kind="table", header=header)

    ja = ["name", "kana", "dob", "email", "phone", "dept"]
    en = ["romaji", "dob", "email", "phone"]
    return [
        FormSet("table, Japanese headers", "positive",
                [table(i, ja, JA_HEADER, "ja") for i in range(n // 2)]),
        FormSet("table, English headers, romaji", "positive",
                [table(i, en, ("Member", "Born", "E-mail", "Phone"), "en") for i in range(n // 2)]),
        FormSet("table, CSV without header row", "positive",
                [table(i, s.r.sample(ja, len(ja)), (), "csv") for i in range(n // 2)]),
    ]  # fmt: skip


def presidio_sets() -> list[FormSet]:
    """presidio's vectors, each with a context word before it (as the issue measured them)."""
    words = {"IBAN_CODE": "IBAN:", "CREDIT_CARD": "Card number:", "US_SSN": "SSN:", "EMAIL_ADDRESS": "E-mail:",
             "PHONE_NUMBER": "Phone:"}  # fmt: skip
    vectors = json.loads(VECTORS.read_text(encoding="utf-8"))["vectors"]
    sets: dict[tuple[str, str], list[Sample]] = {}
    for i, v in enumerate(vectors):
        if v["weak"]:
            continue
        prefix = words[v["entity"]] + " "
        values = [v["text"][a:b] for a, b in v["spans"]]
        role = [x for x in values if v["entity"] == "EMAIL_ADDRESS" and x.partition("@")[0] in ROLE_LOCAL_PARTS]
        labels = [(v["entity"], x) for x in values if x not in role]
        kind = "positive" if labels else "negative"
        if role and not labels:
            kind = "role"  # info@…: an organisation's address, deliberately not personal data here
        sets.setdefault((v["entity"], kind), []).append(Sample(f"presidio_{i}", prefix + v["text"], labels))
    names = {"positive": "", "negative": ", invalid", "role": " role (info@)"}
    return [
        FormSet(f"presidio {e}{names[k]} + context", "info" if k == "role" else k, samples)
        for (e, k), samples in sets.items()
    ]


PRESS_RELEASE = """報道関係各位
{company}

{product}の提供開始のお知らせ

{company}は、本日より新製品「{product}」の提供を開始いたしました。
希望小売価格は{price}円（税込）、JANコードは{jan}です。
発売日：{date}

本件に関するお問い合わせ先
{company} 広報部
TEL 03-5432-1098
"""

MINUTES = """議事録
日時：{date} 10:00-11:00
場所：本社 第3会議室
出席者：{a}、{b}、{c}（敬称略）

1. 前回の宿題事項の確認
{a}部長より進捗の報告があった。受注番号 {order} の件は来週対応。
2. 次回日程
{next} 14:00 から
"""


def benign_sets(s: Sources, n: int) -> list[FormSet]:
    def price_list(i: int) -> Sample:
        lines = [f"{s.ja.word()}\tJAN {s.jan()}\t¥{s.r.randint(1, 99) * 100:,}" for _ in range(s.r.randint(3, 12))]
        return Sample(f"prices_{i}", "各位\n\n価格表をお送りします。\n\n" + "\n".join(lines) + "\n\n" + SIGNATURE,
                      benign=True)  # fmt: skip

    def price_table(i: int) -> Sample:
        lines = [f"{s.ja.word()}\t{s.jan()}\t{s.r.randint(1, 99) * 100}" for _ in range(s.r.randint(3, 30))]
        return Sample(
            f"price_table_{i}", "\n".join(lines), kind="table", header=("商品名", "JANコード", "単価"), benign=True
        )

    def press(i: int) -> Sample:
        d = s.ja.date_this_year()
        product = s.ja.word() + s.pick("プロ", "ライト", "2")
        price = f"{s.r.randint(10, 500) * 100:,}"
        text = PRESS_RELEASE.format(
            company=s.ja.company(), product=product, price=price, jan=s.jan(), date=f"{d:%Y年%m月%d日}"
        )
        return Sample(f"press_{i}", text, benign=True)

    def minutes(i: int) -> Sample:
        d, d2 = s.ja.date_this_year(), s.ja.date_this_year()
        text = MINUTES.format(date=f"{d:%Y年%m月%d日}", a=s.ja.last_name(), b=s.ja.last_name(), c=s.ja.last_name(),
                              order=s.digits(12), next=f"{d2:%Y/%m/%d}")  # fmt: skip
        return Sample(f"minutes_{i}", text + "\n" + SIGNATURE, benign=True)

    def signed(i: int) -> Sample:
        sig = "\n".join((
            "-" * 32,
            f"{s.ja.company()} {s.pick('営業部', '総務部', '開発部', '購買部')}",
            s.ja.name(),
            f"〒{s.ja.zipcode()} {s.ja.address()}",
            f"TEL: {s.jp_phone()} / FAX: {s.jp_phone()}",
            f"Mail: {s.ja.user_name()}@{s.ja.domain_name()}",
            "-" * 32,
        ))  # fmt: skip
        body = s.pick(
            "資料を添付いたしますので、ご確認ください。", "先日はありがとうございました。", "見積書をお送りします。"
        )
        return Sample(
            f"signed_{i}", f"お世話になっております。\n{body}\n\nよろしくお願いいたします。\n\n{sig}\n", benign=True
        )

    def mail(i: int) -> Sample:
        body = s.pick(QUOTED_REPLY.format(sig=SIGNATURE), INVOICE.format(sig=SIGNATURE),
                      MEETING.format(sig=SIGNATURE), PRICE_LIST + "\n" + SIGNATURE)  # fmt: skip
        return Sample(f"mail_{i}", body, benign=True)

    return [
        _one("benign: price lists with JAN codes", "benign", n // 2, price_list),
        _one("benign: price tables (JAN column)", "benign", n // 2, price_table),
        _one("benign: press releases", "benign", n // 2, press),
        _one("benign: minutes", "benign", n // 2, minutes),
        _one("benign: replies, invoices, notices", "benign", n // 2, mail),
        _one("benign: Faker signatures", "benign", n // 2, signed),
    ]


def form_sets(seed: int = 7, n: int = 40) -> list[FormSet]:
    s = Sources(seed)
    return identifier_sets(s, n) + name_sets(s, n) + table_sets(s, n) + presidio_sets() + benign_sets(s, n)
