"""A labelled corpus for the scanner, generated (seeded) by the tests and by bench/accuracy.py.

Each Sample is text (as extraction would hand it over: a body or a table) with the personal data it
holds, as (entity, value) labels. Positive samples put values where people put them (with the words
around them a real mail has); negative samples hold look-alikes (bad check digits, toll-free numbers,
order numbers, company accounts); benign samples are normal business mail (signatures, replies with
quoted signatures, price lists, invoices) that must yield no finding at all.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field

from gateway.content import Segment
from gateway.scan.recognizers.credit_card import luhn
from gateway.scan.recognizers.my_number import check_digit

SURNAMES = [
    "佐藤",
    "鈴木",
    "高橋",
    "田中",
    "伊藤",
    "渡辺",
    "山本",
    "中村",
    "小林",
    "加藤",
    "吉田",
    "山田",
    "佐々木",
    "山口",
    "松本",
    "井上",
    "木村",
    "林",
    "斎藤",
    "清水",
]
GIVEN = [
    "太郎",
    "一郎",
    "花子",
    "美咲",
    "翔太",
    "陽菜",
    "健太",
    "結衣",
    "大輔",
    "由美",
    "直樹",
    "恵子",
    "拓也",
    "彩",
    "誠",
    "裕子",
    "浩二",
    "真由美",
    "和也",
    "愛",
]
KANA = ["ヤマダ", "タロウ", "サトウ", "ハナコ", "スズキ", "イチロウ", "タナカ", "ミサキ"]
PLACES = [
    ("東京都", "渋谷区", "神宮前"),
    ("東京都", "世田谷区", "三軒茶屋"),
    ("大阪府", "大阪市北区", "梅田"),
    ("神奈川県", "横浜市西区", "みなとみらい"),
    ("愛知県", "名古屋市中区", "栄"),
    ("福岡県", "福岡市博多区", "博多駅前"),
    ("北海道", "札幌市中央区", "大通西"),
    ("京都府", "京都市左京区", "田中里ノ前町"),
    ("埼玉県", "さいたま市浦和区", "高砂"),
    ("兵庫県", "神戸市中央区", "三宮町"),
]
INTL_PHONES = ["+44 20 7946 0958", "+1 650-253-0000", "+49 30 12345678", "+33 1 42 68 53 00", "+82 2-312-3456"]
FULLWIDTH = str.maketrans(string.digits + "-", "０１２３４５６７８９－")

STRUCTURED = (
    "JP_MY_NUMBER", "JP_PHONE_NUMBER", "JP_POSTAL_CODE", "JP_ADDRESS", "EMAIL_ADDRESS", "CREDIT_CARD",
    "JP_BANK_ACCOUNT", "JP_PENSION_NUMBER", "JP_DRIVER_LICENSE", "JP_PASSPORT", "DATE_OF_BIRTH", "US_SSN",
    "IBAN_CODE", "PHONE_NUMBER",
)  # fmt: skip


@dataclass
class Sample:
    name: str
    text: str
    labels: list[tuple[str, str]] = field(default_factory=list)
    kind: str = "body"
    header: tuple[str, ...] = ()
    benign: bool = False

    def segment(self) -> Segment:
        """As extraction hands it over: a table's first line is its header row (for a table without
        `header` that is the first data row, as in a CSV without a header row)."""
        if self.kind != "table":
            return Segment(text=self.text, kind=self.kind, part="1")
        text = "\t".join(self.header) + "\n" + self.text if self.header else self.text
        lines = text.split("\n")
        offsets, pos = [], len(lines[0]) + 1
        for line in lines[1:]:
            offsets.append(pos)
            pos += len(line) + 1
        return Segment(text=text, kind="table", attachment="list.xlsx", sheet="Sheet1",
                       header=tuple(lines[0].split("\t")), row_offsets=tuple(offsets), first_row=2)  # fmt: skip


class Gen:
    def __init__(self, seed: int = 7) -> None:
        self.r = random.Random(seed)

    def digits(self, n: int, first: str = "123456789") -> str:
        return self.r.choice(first) + "".join(self.r.choice(string.digits) for _ in range(n - 1))

    def my_number(self, valid: bool = True) -> str:
        base = self.digits(11)
        cd = check_digit(base)
        return base + str(cd if valid else (cd + self.r.randint(1, 9)) % 10)

    def mobile(self) -> str:
        # 0X0-0xxx is not allocated to mobiles (0800-xxx-xxxx is toll-free)
        return f"{self.r.choice(['070', '080', '090'])}-{self.digits(4)}-{self.digits(4, string.digits)}"

    def landline(self) -> str:
        return self.r.choice([f"03-{self.digits(4)}-{self.digits(4, string.digits)}",
                              f"06-{self.digits(4)}-{self.digits(4, string.digits)}",
                              f"045-{self.digits(3)}-{self.digits(4, string.digits)}",
                              f"0422-{self.digits(2)}-{self.digits(4, string.digits)}"])  # fmt: skip

    def name(self) -> str:
        return self.r.choice(SURNAMES) + self.r.choice(["", " "]) + self.r.choice(GIVEN)

    def email(self) -> str:
        local = "".join(self.r.choice(string.ascii_lowercase) for _ in range(self.r.randint(4, 9)))
        domain = self.r.choice(["gmail.com", "yahoo.co.jp", "example.ne.jp", "icloud.com", "docomo.ne.jp"])
        return f"{local}.{self.r.randint(1, 99)}@{domain}"

    def address(self) -> tuple[str, str]:
        pref, city, town = self.r.choice(PLACES)
        a, b, c = self.r.randint(1, 9), self.r.randint(1, 30), self.r.randint(1, 20)
        block = self.r.choice([f"{a}-{b}-{c}", f"{a}丁目{b}番{c}号", f"{a}-{b}"])
        postal = f"{self.digits(3)}-{self.digits(4, string.digits)}"
        return postal, f"{pref}{city}{town}{block}"

    def card(self) -> str:
        prefix = self.r.choice(["4", "51", "52", "55", "35", "37"])
        length = 15 if prefix == "37" else 16
        body = prefix + "".join(self.r.choice(string.digits) for _ in range(length - len(prefix) - 1))
        for d in string.digits:
            if luhn(body + d):
                full = body + d
                break
        if length == 16:
            return self.r.choice([" ", "-", ""]).join(full[i : i + 4] for i in range(0, 16, 4))
        return full

    def iban(self) -> str:
        bban = "".join(self.r.choice(string.digits) for _ in range(18))
        num = int("".join(str(int(c, 36)) for c in bban + "DE00"))
        cd = 98 - num % 97
        s = f"DE{cd:02d}{bban}"
        return " ".join(s[i : i + 4] for i in range(0, len(s), 4))

    def ssn(self) -> str:
        return f"{self.r.randint(100, 665)}-{self.r.randint(10, 99)}-{self.r.randint(1000, 9999)}"

    def dob(self) -> str:
        y, m, d = self.r.randint(1950, 2005), self.r.randint(1, 12), self.r.randint(1, 28)
        era = ("昭和", y - 1925) if y < 1989 else ("平成", y - 1988)
        return self.r.choice([f"{y}/{m:02d}/{d:02d}", f"{y}年{m}月{d}日", f"{era[0]}{era[1]}年{m}月{d}日",
                              f"{y}-{m:02d}-{d:02d}"])  # fmt: skip


def positives(g: Gen, n: int = 20) -> list[Sample]:
    out: list[Sample] = []
    for i in range(n):
        name = g.name()
        mn, mob, land, mail = g.my_number(), g.mobile(), g.landline(), g.email()
        postal, addr = g.address()
        card, acct, pension = g.card(), g.digits(7, string.digits), f"{g.digits(4)}-{g.digits(6, string.digits)}"
        lic, passport = "30" + g.digits(10, string.digits), g.r.choice(["TK", "TR", "MZ", "TZ"]) + g.digits(7)
        dob, ssn, iban, intl = g.dob(), g.ssn(), g.iban(), g.r.choice(INTL_PHONES)
        holder = g.r.choice(KANA)
        out += [
            Sample(f"my_number_{i}", f"お客様のマイナンバー: {mn} をご確認ください。", [("JP_MY_NUMBER", mn)]),
            Sample(
                f"my_number_spaced_{i}",
                f"個人番号 {mn[:4]} {mn[4:8]} {mn[8:]}",
                [("JP_MY_NUMBER", f"{mn[:4]} {mn[4:8]} {mn[8:]}")],
            ),
            Sample(f"mobile_{i}", f"{name}様の携帯は{mob}です。", [("JP_PHONE_NUMBER", mob), ("PERSON", name)]),
            Sample(f"landline_{i}", f"ご自宅 TEL:{land}", [("JP_PHONE_NUMBER", land)]),
            Sample(f"plus81_{i}", f"連絡先 +81-{mob[1:]}", [("JP_PHONE_NUMBER", f"+81-{mob[1:]}")]),
            Sample(f"fullwidth_phone_{i}", f"電話：{mob.translate(FULLWIDTH)}", [("JP_PHONE_NUMBER", mob)]),
            Sample(f"address_{i}", f"住所: 〒{postal} {addr}", [("JP_POSTAL_CODE", postal), ("JP_ADDRESS", addr)]),
            Sample(f"email_{i}", f"メールは{mail}までお願いします", [("EMAIL_ADDRESS", mail)]),
            Sample(f"card_{i}", f"カード番号 {card} 有効期限 12/28", [("CREDIT_CARD", card)]),
            Sample(
                f"account_{i}",
                f"お振込先: みずほ銀行 渋谷支店 普通 {acct} 口座名義 {holder}",
                [("JP_BANK_ACCOUNT", acct), ("PERSON", holder)],
            ),
            Sample(f"pension_{i}", f"基礎年金番号：{pension}", [("JP_PENSION_NUMBER", pension)]),
            Sample(f"license_{i}", f"運転免許証番号 {lic}", [("JP_DRIVER_LICENSE", lic)]),
            Sample(f"passport_{i}", f"旅券番号: {passport}", [("JP_PASSPORT", passport)]),
            Sample(f"dob_{i}", f"生年月日：{dob}", [("DATE_OF_BIRTH", dob)]),
            Sample(f"ssn_{i}", f"Employee SSN: {ssn}", [("US_SSN", ssn)]),
            Sample(f"iban_{i}", f"Please pay to IBAN {iban} by Friday.", [("IBAN_CODE", iban)]),
            Sample(f"intl_phone_{i}", f"Call me on {intl} tomorrow.", [("PHONE_NUMBER", intl)]),
        ]
    return out


def negatives(g: Gen, n: int = 20) -> list[Sample]:
    out: list[Sample] = []
    for i in range(n):
        out += [
            Sample(f"bad_my_number_{i}", f"マイナンバー: {g.my_number(valid=False)}"),
            Sample(f"order_12_{i}", f"注文番号 {g.my_number()} の商品を発送しました。"),
            Sample(f"tollfree_{i}", f"お問い合わせ: 0120-{g.digits(3)}-{g.digits(3, string.digits)} (平日9-18時)"),
            Sample(f"order_postal_{i}", f"注文番号 {g.digits(3)}-{g.digits(4, string.digits)} を承りました。"),
            Sample(f"tracking_{i}", f"追跡番号 {g.digits(12)} でお届けします。"),
            Sample(f"plain_date_{i}", f"次回の会議は{g.dob()}に開催します。"),
            Sample(f"role_mail_{i}", "お問い合わせは info@example.co.jp または support@example.com まで"),
            Sample(
                f"company_account_{i}",
                f"お振込先: 三井住友銀行 本店営業部 普通 {g.digits(7, string.digits)} カ)サクラショウジ",
            ),
            Sample(
                f"bad_card_{i}",
                f"請求書番号 {g.digits(16)}",
            ),
        ]
    return out


SIGNATURE = """━━━━━━━━━━━━━━━━━━━━
株式会社さくら商事 営業部 第二課
山田 太郎 (Taro Yamada)
〒105-0011 東京都港区芝公園1-2-3 芝ビル5F
TEL: 03-5432-1098 / FAX: 03-5432-1099
携帯: 090-8765-4321
Email: taro.yamada@sakura-shoji.co.jp
━━━━━━━━━━━━━━━━━━━━"""

SIGNATURE_EN = """--
John Smith | Sales Manager
Example Trading Co., Ltd.
Tel: +44 20 7946 0123  Mobile: +44 7700 900123
john.smith@example-trading.co.uk"""

QUOTED_REPLY = """佐藤様

いつもお世話になっております。さくら商事の山田です。
お見積りの件、承知いたしました。来週中にお送りします。

よろしくお願いいたします。

{sig}

2025年6月2日(月) 10:15 佐藤花子 <hanako.sato@partner.co.jp>:
> 山田様
>
> いつもお世話になっております。パートナー商事の佐藤です。
> 先日のお見積りについて、数量を変更したくご連絡しました。
>
> ------------------------------
> パートナー商事株式会社 購買部
> 佐藤 花子
> 〒530-0001 大阪府大阪市北区梅田2-4-9 梅田ビル10F
> TEL 06-6345-1234 / 携帯 080-2345-6789
> hanako.sato@partner.co.jp
> ------------------------------
"""

PRICE_LIST = """各位

2025年度 価格表を送付いたします。

品番 123-4567  ステンレスボルト M8  ¥1,280
品番 234-5678  六角ナット M8  ¥320
型番 AB1234567  電動ドライバー  ¥12,800
注文番号 4567-123456 は 2025/07/01 出荷予定です。
商品コード 4901234567894 / JAN 4987654321098
お問い合わせ: 0120-123-456 (受付 9:00-17:00) / sales@sakura-shoji.co.jp

以上、よろしくお願いいたします。
"""

INVOICE = """株式会社パートナー商事 御中

請求書番号 INV-2025-0612 をお送りします。
ご請求金額: ¥1,234,560 (税込)
お支払期限: 2025年7月31日
お振込先: 三菱UFJ銀行 芝支店 普通 1234567
口座名義: カ)サクラショウジ

{sig}
"""

MEETING = """営業部各位

お疲れさまです。鈴木です。
次回の定例会議を 2025年7月10日(木) 14:00-15:00 に開催します。
会場: 東京都港区芝公園1-2-3 芝ビル8F 大会議室
議題: 第2四半期の売上見込み (資料 v2.3.1, 2025-07-01 版)
田中部長、高橋課長もご出席予定です。

{sig}
"""


def benign() -> list[Sample]:
    return [
        Sample("signature_only", "お疲れさまです。山田です。\n資料を添付します。\n\n" + SIGNATURE, benign=True),
        Sample("reply_quoted_signature", QUOTED_REPLY.format(sig=SIGNATURE), benign=True),
        Sample("price_list", PRICE_LIST + "\n" + SIGNATURE, benign=True),
        Sample("invoice_company_account", INVOICE.format(sig=SIGNATURE), benign=True),
        Sample("meeting_notice", MEETING.format(sig=SIGNATURE), benign=True),
        Sample(
            "english_signature",
            "Hi Mary,\n\nPlease find the quote attached.\n\nBest regards,\n" + SIGNATURE_EN,
            benign=True,
        ),
        Sample(
            "product_table",
            "ボルト M8\t123-4567\t1280\nナット M8\t234-5678\t320\nワッシャー\t345-6789\t80",
            kind="table",
            header=("商品名", "品番", "単価"),
            benign=True,
        ),
    ]


CONTEXT_SENDER = "taro.yamada@sakura-shoji.co.jp"
CONTEXT_RECIPIENTS = ("hanako.sato@partner.co.jp",)
OWN_NUMBERS = ("03-5432-1098", "03-5432-1099")


def corpus(seed: int = 7, n: int = 20) -> list[Sample]:
    g = Gen(seed)
    return positives(g, n) + negatives(g, n) + benign()


def bulk_sheet(rows: int = 5572, seed: int = 11) -> Sample:
    """The iDeCo case: e-mail addresses with application numbers and statuses."""
    g = Gen(seed)
    lines = [
        f"{g.email()}\tA{g.digits(9, string.digits)}\t{g.r.choice(['受付済', '審査中', '完了'])}" for _ in range(rows)
    ]
    return Sample("ideco_sheet", "\n".join(lines), kind="table", header=("メールアドレス", "申込番号", "ステータス"))
