"""What makes the scanner quiet on normal business mail.

- Signatures (the sender's, and the recipients' quoted back): a block after a separator line
  (----, ━━━━, ====, "-- ") or the last paragraph of a message, when it looks like a signature
  (company, department, TEL/FAX/Mail labels) and is short: at most 12 lines, 3 e-mail addresses
  and 4 phone numbers, so a customer list after a separator is not a "signature".
- Reply attribution and forwarded headers (「2025年6月2日 佐藤花子 <h@partner.jp>:」, From:/差出人: ...).
- Greetings: names in greeting lines at the top of a message or a quoted one (山田様, ○○の佐藤です).
- The organisation's own numbers, addresses and accounts; the sender's and recipients' own
  addresses; colleagues' addresses at internal domains in running text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.scan.model import Hit, ScanContext
from gateway.scan.recognizers.base import digits, first_char_alternation
from gateway.scan.recognizers.jp_address import address_key, own_postal_codes
from gateway.scan.recognizers.jp_phone import national


def _fast(*items: tuple[str, str]) -> str:
    pattern = first_char_alternation(items)
    assert pattern is not None
    return pattern


_QUOTE_PREFIX = re.compile(r"^(?:\s*>)+\s?")
_SEPARATOR = re.compile(r"^\s*(?:--\s*|[-=_*~#・━─―‐—+※=]{3,}.*|[-=_*~━─―]{2,}\s*\S{0,30}\s*[-=_*~━─―]{2,})\s*$")
# A reply attribution or forwarded header, as four patterns that each start with what they look
# for (one alternation under re.IGNORECASE was tried at every position of every line):
#   (?:wrote|のメッセージ|書きました|書き込みました|から:)\s*[:：]?\s*$
#   <[^<>\s]+@[^<>\s]+>\s*[:：]\s*$
#   ^\s*(?:From|To|Cc|Sent|Date|Subject|差出人|送信者|宛先|送信日時|日時|件名|CC)\s*[:：]
#   -{3,}\s*(?:Original Message|Forwarded message|転送メッセージ|元のメッセージ)
_ATTRIBUTION_END = re.compile(
    _fast(("w", "rote"), ("の", "メッセージ"), ("書", "きました"), ("書", "き込みました"), ("か", "ら:"))
    + r"\s*[:：]?\s*$"
)
_ATTRIBUTION_ADDRESS = re.compile(r"<[^<>\s]+@[^<>\s]+>\s*[:：]\s*$")
_ATTRIBUTION_HEADER = re.compile(
    r"\s*(?:From|To|Cc|Sent|Date|Subject|差出人|送信者|宛先|送信日時|日時|件名|CC)\s*[:：]", re.IGNORECASE
)
_ATTRIBUTION_FORWARD = re.compile(
    r"---+\s*(?:Original Message|Forwarded message|転送メッセージ|元のメッセージ)", re.IGNORECASE
)


def _attribution(line: str) -> bool:
    return bool(
        _ATTRIBUTION_END.search(line)
        or _ATTRIBUTION_ADDRESS.search(line)
        or _ATTRIBUTION_HEADER.match(line)
        or _ATTRIBUTION_FORWARD.search(line)
    )


# TEL|FAX|電話|携帯|Mobile|E-?mail|Mail\s*[:：]|メール|〒|URL|https?://|株式会社|有限会社|合同会社|\(株\)|
# Co\.,?\s?Ltd|Inc\.|Corporation|事業部|\S部(?:\s|$)|\S課(?:\s|$)|部長|課長|室長|担当|Dept under re.IGNORECASE,
# written to start with a class (\S部 as 部 with \S behind it: only whether a line has one is asked)
_MARKER_ITEMS = (
    ("T", "EL"), ("F", "AX"), ("電", "話"), ("携", "帯"), ("M", "obile"), ("E", "-?mail"), ("M", r"ail\s*[:：]"),
    ("メ", "ール"), ("〒", ""), ("U", "RL"), ("h", "ttps?://"), ("株", "式会社"), ("有", "限会社"), ("合", "同会社"),
    ("(", r"株\)"), ("C", r"o\.,?\s?Ltd"), ("I", r"nc\."), ("C", "orporation"), ("事", "業部"),
    ("部", r"(?<=\S部)(?:\s|$)"), ("課", r"(?<=\S課)(?:\s|$)"), ("部", "長"), ("課", "長"), ("室", "長"),
    ("担", "当"), ("D", "ept"),
)  # fmt: skip
_MARKER = re.compile(_fast(*_MARKER_ITEMS))
_ORG = re.compile(
    r"株式会社|有限会社|合同会社|\(株\)|Co\.,?\s?Ltd|Inc\.|Corporation|LLC|GmbH|事業部|\S部(?:\s|$)|\S課(?:\s|$)|https?://|www\.",
    re.IGNORECASE,
)
# Nobody signs with these: a block holding them is data, whatever it looks like.
_NOT_SIGNATURE = re.compile(
    r"氏名|生年月日|誕生日|マイナンバー|個人番号|口座番号|カード番号|年金|免許|旅券|パスポート|患者|顧客|会員|"
    r"SSN|date of birth|passport|card number",
    re.IGNORECASE,
)
_EMAILISH = re.compile(r"@[A-Za-z0-9-]+\.")
_PHONEISH = re.compile(r"(?<!\d)(?:\+?\d[\d()\- ]{8,}\d)")
# A greeting line: 「佐藤様」「営業部各位」, 「いつもお世話になっております。○○の山田です。」, "Dear Mr. Smith,".
# A label line (お名前：山田太郎 様) is not a greeting.
_GREETING = re.compile(
    r"^[^\d@:：]{0,30}(?:様|さま|さん|殿|各位|先生|御中)\s*[、,。:]?\s*$|(?:お世話|いつも|お疲れ)[^\d@]{0,40}$|"
    r"の[^\s\d@]{1,8}(?:です|と申します|でございます)[。!]?\s*$|^\s*(?:Dear|Hi|Hello)\b[^\d@]{0,40}$",
    re.IGNORECASE,
)
GREETING_LINES = 3
MAX_SIGNATURE_LINES = 12


@dataclass(frozen=True, slots=True)
class Line:
    start: int
    end: int
    content: str  # without the quote prefix
    quoted: bool


@dataclass(slots=True)
class Zones:
    """Offsets where hits do not count: `all` for every entity, `names` for PERSON only; `quoted`
    the offsets of '>'-quoted lines (hits there are marked quoted)."""

    all: list[tuple[int, int]]
    names: list[tuple[int, int]]
    quoted: list[tuple[int, int]]

    @staticmethod
    def _inside(spans: list[tuple[int, int]], offset: int) -> bool:
        return any(a <= offset < b for a, b in spans)

    def silences(self, hit: Hit) -> bool:
        return self._inside(self.all, hit.start) or (hit.entity == "PERSON" and self._inside(self.names, hit.start))

    def is_quoted(self, offset: int) -> bool:
        return self._inside(self.quoted, offset)


def _lines(text: str) -> list[Line]:
    out, pos = [], 0
    for raw in text.split("\n"):
        m = _QUOTE_PREFIX.match(raw)
        out.append(Line(pos, pos + len(raw), raw[m.end() :] if m else raw, m is not None))
        pos += len(raw) + 1
    return out


def _looks_like_signature(block: list[Line]) -> bool:
    if not block or len(block) > MAX_SIGNATURE_LINES:
        return False
    body = "\n".join(line.content for line in block)
    if _NOT_SIGNATURE.search(body) or not _ORG.search(body):
        return False
    if len(_EMAILISH.findall(body)) > 3 or len(_PHONEISH.findall(body)) > 4:
        return False
    return sum(1 for line in block if _MARKER.search(line.content)) >= 1


def zones(text: str) -> Zones:
    """The quiet zones of a mail body."""
    lines = _lines(text)
    z = Zones([], [], [(ln.start, ln.end + 1) for ln in lines if ln.quoted])
    # Parts: the message itself and each quoted/forwarded message, split at attribution lines and
    # at changes between quoted and unquoted lines.
    parts: list[list[Line]] = [[]]
    for i, ln in enumerate(lines):
        if _attribution(ln.content):
            z.all.append((ln.start, ln.end + 1))
            parts.append([])
            continue
        if i and ln.quoted != lines[i - 1].quoted and parts[-1]:
            parts.append([])
        parts[-1].append(ln)
    for part in parts:
        filled = [ln for ln in part if ln.content.strip()]
        for ln in filled[:GREETING_LINES]:
            if _GREETING.search(ln.content):
                z.names.append((ln.start, ln.end + 1))
        _signatures(part, z)
    return z


def _signatures(part: list[Line], z: Zones) -> None:
    seps = [i for i, ln in enumerate(part) if _SEPARATOR.match(ln.content)]
    covered: set[int] = set()
    for i in seps:
        if i in covered:
            continue
        end = next((j for j in seps if i < j <= i + MAX_SIGNATURE_LINES + 1), None)
        if end is None:  # up to the end of the part, if short
            end = len(part) - 1
        block = [ln for ln in part[i + 1 : end] if ln.content.strip()] if end > i else []
        if end == len(part) - 1 and not _SEPARATOR.match(part[end].content) and part[end].content.strip():
            block.append(part[end])
        if _looks_like_signature(block):
            z.all.append((part[i].start, part[end].end + 1))
            covered.update(range(i, end + 1))
    # No separator: the last paragraph, when it looks like a signature.
    filled = [k for k, ln in enumerate(part) if ln.content.strip()]
    if not filled:
        return
    last = filled[-1]
    first = last
    while first > 0 and part[first - 1].content.strip():
        first -= 1
    block = part[first : last + 1]
    if first in covered or first == 0 or len(block) < 2:
        return
    markers = sum(1 for ln in block if _MARKER.search(ln.content))
    if markers >= 2 and _looks_like_signature(block):
        z.all.append((block[0].start, block[-1].end + 1))


def _same_place(a: str, b: str) -> bool:
    """Canonical address keys (municipality|town|1-2-3): the same, or one more precise than the other."""
    if a == b or a.startswith(b + "-") or b.startswith(a + "-"):
        return True
    return "|" not in a + b and len(b) >= 8 and (a.startswith(b) or b.startswith(a))


def _under(domain: str, parents: frozenset[str]) -> bool:
    labels = domain.split(".")
    return any(".".join(labels[i:]) in parents for i in range(len(labels)))


class Own:
    """The organisation's own data and the correspondents' own addresses, for one scan."""

    def __init__(
        self,
        context: ScanContext,
        own_numbers: list[str],
        own_addresses: list[str],
        own_accounts: list[str],
    ) -> None:
        self.addresses = {a.lower() for a in (context.sender, *context.recipients) if a}
        self.internal = frozenset(d.lower().lstrip("@") for d in context.internal_domains)
        sender_domain = context.sender.rpartition("@")[2].lower() if "@" in context.sender else ""
        self.internal_text = self.internal | ({sender_domain} if sender_domain else set())
        self.recipient_domains = context.recipient_domains
        self.numbers = {national(n) for n in (*own_numbers, *context.own_phone_numbers)}
        addresses = (*own_addresses, *context.own_addresses)
        self.postal = {address_key(a) for a in addresses}
        self.postal_codes = own_postal_codes(tuple(sorted(addresses))) if addresses else frozenset()
        self.accounts = {digits(a) for a in own_accounts}

    def owns(self, hit: Hit, *, running_text: bool, quoted: bool) -> bool:
        e, v = hit.entity, hit.value
        if e == "EMAIL_ADDRESS":
            a = v.lower()
            domain = a.rpartition("@")[2]
            return (
                a in self.addresses
                or (running_text and _under(domain, self.internal_text))
                or (quoted and _under(domain, self.recipient_domains))
            )
        if e in ("JP_PHONE_NUMBER", "PHONE_NUMBER"):
            return bool(self.numbers) and (national(v) in self.numbers or digits(v) in self.numbers)
        if e == "JP_ADDRESS":
            if not self.postal:
                return False
            key = address_key(v)
            return any(_same_place(key, o) for o in self.postal)
        if e == "JP_POSTAL_CODE":
            return bool(self.postal_codes) and digits(v) in self.postal_codes
        if e == "JP_BANK_ACCOUNT":
            return bool(self.accounts) and digits(v) in self.accounts
        return False
