"""What people read instead of codes: one ja/en table for every code that a page or a notice about
held mail shows (entities, recipient signals and classes, extraction reasons, hold states, audit
events, outcomes, and the parts of a `where` path). Pages and mails both call `Labels(lang)`.

A code that is not in the table is shown as it is (so a new code is visible, never hidden), and a
unit test keeps the table in step with the codes the gateway produces.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from gateway.content import SEP
from gateway.mail.safe_text import one_line
from gateway.scan.names import ENTITY_NAMES
from gateway.unscannable import TEXT as EXTRACT_REASONS
from gateway.unscannable import Reason as ExtractReason

# Entities the scanner does not name (extraction findings), beside policy.entities.ENTITY_NAMES.
ENTITIES: dict[str, tuple[str, str]] = {
    **ENTITY_NAMES,
    "UNSCANNABLE": ("検査できない内容", "content that could not be checked"),
    "AMBIGUOUS_MIME": ("解釈が分かれる MIME 構造", "ambiguous MIME structure"),
}

SIGNALS: dict[str, tuple[str, str]] = {
    "internal": ("社内", "internal"),
    "affiliate": ("グループ会社", "group company"),
    "external": ("社外", "external"),
    "partner": ("取引先", "partner"),
    "allowed": ("許可リスト", "allow-listed"),
    "denied": ("送信禁止リスト", "deny-listed"),
    "invalid_address": ("不正なアドレス", "invalid address"),
    "first_time_sender": ("初めての送信先", "first mail to this recipient"),
    "first_time_org": ("初めての送信先組織", "first mail to this organisation"),
    "lookalike": ("似たドメイン (なりすましの恐れ)", "look-alike domain"),
    "idn": ("国際化ドメイン名", "internationalised domain name"),
    "mixed_script": ("文字体系の混在", "mixed scripts"),
    "dns_nxdomain": ("存在しないドメイン", "domain does not exist"),
    "dns_no_mail": ("メールを受け付けないドメイン", "domain accepts no mail"),
    "dns_unknown": ("DNS 確認不可", "DNS check failed"),
    "hidden": ("Bcc", "Bcc"),
    "multiple_external_orgs": ("複数の社外組織宛て", "several external organisations"),
    "many_visible_external": ("社外アドレスが多数表示", "many external addresses visible"),
    "external_in_bcc": ("Bcc に社外の宛先", "external recipients in Bcc"),
    "reply_all_many": ("多人数への全員返信", "reply to all of many"),
    "sender_not_internal": ("送信者が社外ドメイン", "sender not internal"),
    "header_unparseable": ("宛先ヘッダーの一部が読めない", "address headers partly unreadable"),
}

CLASSES = frozenset({"internal", "external", "affiliate"})

STATES: dict[str, tuple[str, str]] = {
    "held_sender": ("送信者の確認待ち", "waiting for the sender"),
    "held_manager": ("承認待ち", "waiting for approval"),
    "delayed": ("送信待ち (遅延送信)", "waiting to be sent (delayed)"),
    "releasing": ("送信処理中", "being sent"),
    "released": ("送信しました", "sent"),
    "delivered": ("配信しました", "delivered"),
    "delivery_failed": ("配信できませんでした", "could not be delivered"),
    "cancelled": ("取り消されました", "cancelled"),
    "withdrawn": ("送信者が取り下げました", "withdrawn by the sender"),
    "rejected": ("却下されました", "rejected"),
    "expired": ("期限切れ", "expired"),
    "shunted": ("処理できず管理者の対応待ち", "could not be processed: waiting for an administrator"),
}

EVENTS: dict[str, tuple[str, str]] = {
    "held": ("保留", "held"),
    "notified": ("通知", "notified"),
    "confirmed": ("送信者が確認", "confirmed by the sender"),
    "approved": ("承認", "approved"),
    "rejected": ("却下", "rejected"),
    "cancelled": ("取り消し", "cancelled"),
    "withdrawn": ("送信者が取り下げ", "withdrawn by the sender"),
    "expired": ("期限切れ (破棄)", "expired (discarded)"),
    "expired_released": ("期限切れ (送信)", "expired (sent)"),
    "delay_over": ("遅延時間の経過 (送信)", "delay over (sent)"),
    "released": ("送信", "released"),
    "released_by_admin": ("管理者が送信", "released by an administrator"),
    "extended": ("期限の延長", "deadline extended"),
    "reminded": ("リマインダー送信", "reminder sent"),
    "escalated": ("エスカレーション", "escalated"),
    "delivered": ("配信完了", "delivered"),
    "delivery_failed": ("配信失敗", "delivery failed"),
    "shunted": ("処理できず管理者へ (シャント)", "could not be processed: to the shunt queue"),
}

OUTCOMES: dict[str, tuple[str, str]] = {
    "released_as_is": ("そのまま送信", "sent as is"),
    "recipient_removed": ("宛先を外して送信", "sent with recipients removed"),
    "cancelled": ("取り消し", "cancelled"),
    "rejected": ("却下", "rejected"),
    "expired": ("期限切れ", "expired"),
}

ACTIONS: dict[str, tuple[str, str]] = {
    "hold_sender": ("送信者の確認", "sender confirms"),
    "hold_manager": ("上長の承認", "manager approves"),
    "delay": ("遅延送信", "delayed sending"),
}

# The parts of a `where` path (gateway.content: "attachment a.xlsx › sheet 明細 › rows 2-21 › part 2").
WHERE_WORDS: dict[str, tuple[str, str]] = {
    "attachment": ("添付ファイル", "attachment"),
    "sheet": ("シート", "sheet"),
    "header": ("ヘッダー", "header"),
    "part": ("パート", "part"),
    "page": ("ページ", "page"),
    "body": ("本文", "body"),
    "subject": ("件名", "subject"),
    "display-name": ("表示名", "display name"),
    "calendar": ("予定表", "calendar"),
    "quoted": ("引用部分", "quoted text"),
}

# Sheet names and path parts the extraction gives itself (a real sheet's name is shown as it is).
OWN_PLACES: dict[str, tuple[str, str]] = {
    "document properties": ("文書のプロパティ", "document properties"),
    "custom properties": ("ユーザー設定のプロパティ", "custom properties"),
    "properties": ("プロパティ", "properties"),
    "metadata": ("画像のメタデータ", "image metadata"),
    "links": ("リンク先", "link targets"),
    "workbook": ("ブック", "workbook"),
    "shared strings no cell uses": ("どのセルにもない文字列", "shared strings no cell uses"),
    "XFA form": ("XFAフォーム", "XFA form"),
    "XML comment": ("XMLコメント", "XML comment"),
    "OCR": ("画像の文字 (OCR)", "text in the image (OCR)"),
}

HEADER_NAMES: dict[str, tuple[str, str]] = {
    "subject": ("件名", "the subject"),
    "from": ("差出人 (From)", "From"),
    "to": ("宛先 (To)", "To"),
    "cc": ("Cc", "Cc"),
    "reply-to": ("返信先 (Reply-To)", "Reply-To"),
}

TABLES = {
    "entity": ENTITIES,
    "signal": SIGNALS,
    "state": STATES,
    "event": EVENTS,
    "outcome": OUTCOMES,
    "action": ACTIONS,
}


class Labels:
    """Labels in one language, for templates: `labels.entity("PERSON")` → 氏名."""

    def __init__(self, lang: str, zone: str = "Asia/Tokyo") -> None:
        self.lang = lang
        self.zone = zone
        self.index = 0 if lang == "ja" else 1

    def when(self, t: float | None) -> str:
        return when(t, self.lang, self.zone) if t else "-"

    def _of(self, table: dict[str, tuple[str, str]], code: object) -> str:
        key = str(code)
        pair = table.get(key)
        return pair[self.index] if pair else one_line(key, 80)

    def entity(self, code: object) -> str:
        return self._of(ENTITIES, code)

    def signal(self, code: object) -> str:
        return self._of(SIGNALS, code)

    def signals(self, codes: Iterable[object]) -> str:
        """Signals beyond the recipient's class (internal / external is said on its own)."""
        shown = [self.signal(c) for c in codes if str(c) not in CLASSES]
        return ("、" if self.index == 0 else ", ").join(shown)

    def state(self, code: object) -> str:
        return self._of(STATES, getattr(code, "value", code))

    def event(self, code: object) -> str:
        return self._of(EVENTS, code)

    def outcome(self, code: object) -> str:
        return self._of(OUTCOMES, code)

    def action(self, code: object) -> str:
        return self._of(ACTIONS, code)

    def reason(self, code: object) -> str:
        """An extraction reason (encrypted-zip, limit-time ...)."""
        try:
            en, ja = EXTRACT_REASONS[ExtractReason(str(code))]
        except ValueError:
            return one_line(code, 80)
        return ja if self.index == 0 else en

    def groups(self, recipients: Iterable[dict[str, object]]) -> list[tuple[str, list[dict[str, object]]]]:
        """Recipients by header: To, Cc, Bcc (not shown to the others), then any not in the headers."""
        order = (
            ("to", "To"),
            ("cc", "Cc"),
            ("bcc", "Bcc"),
            ("", "宛先ヘッダーになし" if self.index == 0 else "Not in the headers"),
        )
        out: dict[str, list[dict[str, object]]] = {key: [] for key, _ in order}
        for r in recipients:
            field = str(r.get("field", "") or "")
            out[field if field in out else ""].append(r)
        return [(label, out[key]) for key, label in order if out[key]]

    @staticmethod
    def person(address: object, names: dict[str, str] | None) -> str:
        """'山田 太郎 <taro@example.co.jp>' when the directory knows the address, else the address."""
        text = one_line(address, 254)
        name = (names or {}).get(text.lower(), "")
        return f"{one_line(name, 80)} <{text}>" if name else text

    def size(self, n: object) -> str:
        try:
            value = float(str(n))
        except ValueError:
            return ""
        for unit in ("B", "KB", "MB", "GB"):
            if value < 1024 or unit == "GB":
                return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
            value /= 1024
        return ""

    def count(self, n: object) -> str:
        try:
            value = int(str(n))
        except ValueError:
            return one_line(n, 20)
        return f"{value:,}件" if self.index == 0 else f"{value:,}"

    def where(self, path: object) -> str:
        """A `where` path in words: 'attachment a.xlsx › rows 2-21' → '添付ファイル「a.xlsx」 › 2〜21行目'."""
        bits = [b for b in str(path or "").split(SEP.strip()) if b.strip()]
        return SEP.join(self._where_bit(b.strip()) for b in bits)

    def _where_bit(self, bit: str) -> str:
        word, _, rest = bit.partition(" ")
        ja = self.index == 0
        if word in ("rows", "row") and rest:
            first, _, last = rest.partition("-")
            if ja:
                return f"{first}〜{last}行目" if last else f"{first}行目"
            return f"rows {first}–{last}" if last else f"row {first}"
        if word == "page" and rest:
            return f"{rest}ページ目" if ja else f"page {rest}"
        if word == "sheet" and rest in OWN_PLACES:
            return OWN_PLACES[rest][self.index]
        if bit in OWN_PLACES:
            return OWN_PLACES[bit][self.index]
        if word == "header" and rest.lower() in HEADER_NAMES:
            return HEADER_NAMES[rest.lower()][self.index]
        if word in WHERE_WORDS:
            label = WHERE_WORDS[word][self.index]
            if not rest:
                return label
            if word in ("attachment", "sheet"):
                return f"{label}「{rest}」" if ja else f'{label} "{rest}"'
            return f"{label} {rest}"
        return f"「{bit}」" if ja else f'"{bit}"'  # an archive member's name, or text we do not know


WEEKDAYS_JA = "月火水木金土日"


def when(t: float, lang: str, zone: str = "Asia/Tokyo") -> str:
    """A time in the configured zone, with the zone shown: '2026年12月5日(土) 09:06 JST'."""
    at = datetime.fromtimestamp(t, ZoneInfo(zone))
    name = at.tzname() or zone
    if lang == "ja":
        return f"{at.year}年{at.month}月{at.day}日({WEEKDAYS_JA[at.weekday()]}) {at:%H:%M} {name}"
    return f"{at:%a} {at.day} {at:%b %Y %H:%M} {name}"
