"""Every recipient signal with the sentence a person reads, in Japanese and English.

Reasons name domains, organisations and partner names, never full addresses (the address is in the
assessment next to them; reasons end up in notices and logs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Reason:
    code: str
    ja: str
    en: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "ja": self.ja, "en": self.en}


_KIND_JA = {
    "internal": "社内ドメイン",
    "affiliate": "グループ会社のドメイン",
    "partner": "取引先ドメイン",
    "allowed": "許可リストのドメイン",
    "protected": "保護対象ドメイン",
    "frequent": "よく使う送信先ドメイン",
}
_KIND_EN = {
    "internal": "internal domain",
    "affiliate": "group company domain",
    "partner": "partner domain",
    "allowed": "allow-listed domain",
    "protected": "protected domain",
    "frequent": "frequently used domain",
}
_LOOKALIKE_JA = {
    "homoglyph": "別の文字体系の似た文字を使っています",
    "confusable": "1/l/i・0/o などの紛らわしい文字が入れ替わっています",
    "swapped": "隣り合う文字が入れ替わっています",
    "embedded": "正規のドメイン名を別ドメインのサブドメインとして使っています",
    "other_tld": "同じ名前で末尾（トップレベルドメイン）が異なります",
    "typo": "{distance}文字違いです",
}
_LOOKALIKE_EN = {
    "homoglyph": "it uses look-alike characters from another script",
    "confusable": "confusable characters such as 1/l/i or 0/o are swapped",
    "swapped": "two neighbouring letters are swapped",
    "embedded": "it uses the real domain name as a subdomain of another domain",
    "other_tld": "it is the same name under another top-level domain",
    "typo": "it differs by {distance} character(s)",
}

_TEXT: dict[str, tuple[str, str]] = {
    # per recipient
    "invalid_address": (
        "宛先アドレスの形式が不正です（{detail}）",
        "The recipient address is not valid ({detail})",
    ),
    "internal": ("社内の宛先です（{org}）", "Internal recipient ({org})"),
    "affiliate": ("グループ会社の宛先です（{org}）", "Group company recipient ({org})"),
    "external": ("社外の宛先です（組織: {org}）", "External recipient (organisation: {org})"),
    "partner": ("取引先「{partner}」の宛先です", "Recipient at partner \u201c{partner}\u201d"),
    "allowed": (
        "許可リストに登録された宛先です（{entry}、{source}）",
        "The recipient is on the allow-list ({entry}, {source})",
    ),
    "denied": (
        "送信禁止リストに登録された宛先です（{entry}、{source}）",
        "The recipient is on the deny-list ({entry}, {source})",
    ),
    "first_time_sender": (
        "あなたがこの宛先に送るのは初めてです（過去{days}日間に送信履歴がありません）",
        "You have not mailed this recipient before (no delivery in the last {days} days)",
    ),
    "first_time_org": (
        "この組織（{org}）へは社内の誰も送信したことがありません（過去{days}日間）",
        "Nobody here has mailed this organisation ({org}) before (last {days} days)",
    ),
    "lookalike": (
        "宛先ドメイン {domain} は{kind_ja} {of} に似ています: {how_ja}",
        "The recipient domain {domain} looks like the {kind_en} {of}: {how_en}",
    ),
    "idn": (
        "宛先ドメインに国際化ドメイン名（{domain}）が使われています",
        "The recipient domain is an internationalised domain name ({domain})",
    ),
    "mixed_script": (
        "宛先ドメイン {domain} は複数の文字体系を混在させています（なりすましの典型的な手口です）",
        "The recipient domain {domain} mixes scripts (a common impersonation trick)",
    ),
    "dns_nxdomain": (
        "宛先ドメイン {domain} は存在しません（DNS: NXDOMAIN）",
        "The recipient domain {domain} does not exist (DNS: NXDOMAIN)",
    ),
    "dns_no_mail": (
        "宛先ドメイン {domain} はメールを受け付けていません（MX/アドレスなし、またはヌルMX）",
        "The recipient domain {domain} does not accept mail (no MX or address records, or a null MX)",
    ),
    "dns_unknown": (
        "宛先ドメイン {domain} のDNS確認ができませんでした（タイムアウト等）",
        "The recipient domain {domain} could not be checked in DNS (time-out or failure)",
    ),
    "hidden": (
        "この宛先はTo/Ccに表示されていません（Bcc）",
        "This recipient is not shown in To/Cc (Bcc)",
    ),
    # per message
    "multiple_external_orgs": (
        "社外の{count}つの組織宛てが1通に含まれています（{orgs_ja}）",
        "One message goes to {count} external organisations ({orgs})",
    ),
    "many_visible_external": (
        "To/Ccに社外のアドレスが{count}件表示されています（Bccにすべきかもしれません）",
        "{count} external addresses are visible in To/Cc (Bcc may be intended)",
    ),
    "external_in_bcc": (
        "社外の宛先{count}件がBccに含まれています",
        "{count} external recipient(s) are in Bcc",
    ),
    "reply_all_many": (
        "{count}人への全員返信です",
        "This is a reply to all of {count} recipients",
    ),
    "sender_not_internal": (
        "送信者 {domain} は社内ドメインではありません",
        "The sender domain {domain} is not an internal domain",
    ),
    "header_unparseable": (
        "宛先ヘッダー（{headers}）の一部を正しく読み取れませんでした",
        "Part of the address headers ({headers}) could not be read exactly",
    ),
}

CODES = frozenset(_TEXT)


class _Default(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


def reason(code: str, **values: Any) -> Reason:
    """The reason for `code` filled with `values` (unknown placeholders show as '?')."""
    ja, en = _TEXT[code]
    if code == "lookalike":
        how = values.get("how", "typo")
        values = {
            **values,
            "kind_ja": _KIND_JA.get(values.get("kind", ""), "既知のドメイン"),
            "kind_en": _KIND_EN.get(values.get("kind", ""), "known domain"),
            "how_ja": _LOOKALIKE_JA[how].format(distance=values.get("distance", 1)),
            "how_en": _LOOKALIKE_EN[how].format(distance=values.get("distance", 1)),
        }
    data = _Default(values)
    return Reason(code, ja.format_map(data), en.format_map(data))
