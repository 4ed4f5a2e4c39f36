"""Page text in Japanese and English. Templates call `t("key")`; the language comes from `?lang=`,
else the signed-in user's setting, else the hold's (the recipient of the link), else the config."""

from __future__ import annotations

from collections.abc import Callable

TEXT: dict[str, tuple[str, str]] = {
    "title": ("送信メールの確認", "Check a held message"),
    "approve_title": ("送信メールの承認", "Approve a held message"),
    "admin_title": ("保留メールの管理", "Held mail"),
    "from": ("送信者", "From"),
    "subject": ("件名", "Subject"),
    "why": ("保留の理由", "Why it is held"),
    "recipients": ("宛先", "Recipients"),
    "external": ("社外", "external"),
    "internal": ("社内", "internal"),
    "send_to": ("送信する", "send"),
    "attachments": ("添付ファイル", "Attachments"),
    "findings": ("検出された個人情報", "Personal data found"),
    "not_inspected": (
        "本文と添付ファイルは個人情報の検査をしていません (検査結果を使うルールがないため)。",
        "The body and attachments were not scanned for personal data (no rule in force uses it).",
    ),
    "preview": ("本文の冒頭", "Start of the message"),
    "evidence": ("宛名と宛先の食い違い", "Addressed to / goes to"),
    "evidence_says": ("メールの内容", "What the mail says"),
    "evidence_known": ("これまでの送信先", "Known at"),
    "evidence_goes": ("今回の宛先", "Where it goes"),
    "evidence_where": ("場所", "Where"),
    "where_body": ("本文の宛名", "greeting in the body"),
    "where_subject": ("件名の宛名", "subject"),
    "where_attachment_name": ("添付ファイル名", "attachment name"),
    "where_attachment": ("添付ファイルの冒頭", "top of the attachment"),
    "where_display_name": ("宛先の表示名", "recipient's display name"),
    "where_thread": ("返信元のスレッド", "the thread replied to"),
    "where_attachment_file": ("添付ファイル (同一のファイル)", "attachment (identical file)"),
    "deadline": ("期限", "Deadline"),
    "confirm": ("確認して送信", "Confirm and send"),
    "confirm_selected": ("選んだ宛先だけに送信", "Send to the selected recipients only"),
    "ask_approval": ("確認して承認を依頼", "Confirm and ask for approval"),
    "send_now": ("今すぐ送信", "Send now"),
    "cancel": ("送信を取り消す", "Cancel sending"),
    "approve": ("承認して送信", "Approve and send"),
    "reject": ("却下", "Reject"),
    "comment": ("コメント (送信者に伝えます)", "Comment (sent to the sender)"),
    "remove_hint": (
        "宛先のチェックを外すと、その宛先を除いて送信します。",
        "Untick a recipient to send to the others only.",
    ),
    "delayed_hint": (
        "このメールは期限の時刻に自動的に送信されます。",
        "This message goes out by itself at the deadline.",
    ),
    "approval_hint": (
        "このメールの送信には上長の承認が必要です。",
        "This message needs a manager's approval before it goes out.",
    ),
    "approvers": ("承認者", "Approvers"),
    "none": ("なし", "none"),
    "state_held_sender": ("送信者の確認待ち", "waiting for the sender"),
    "state_held_manager": ("承認待ち", "waiting for approval"),
    "state_delayed": ("送信待ち (遅延送信)", "waiting to be sent (delayed)"),
    "state_releasing": ("送信処理中", "being sent"),
    "state_released": ("送信しました", "sent"),
    "state_cancelled": ("取り消されました", "cancelled"),
    "state_rejected": ("却下されました", "rejected"),
    "state_expired": ("期限切れ", "expired"),
    "done_released": ("送信しました。", "The message has been sent."),
    "done_releasing": ("送信を受け付けました。", "The message is being sent."),
    "done_held_manager": ("承認を依頼しました。", "Approval has been requested."),
    "done_cancelled": ("送信を取り消しました。", "Sending has been cancelled."),
    "done_rejected": ("却下しました。送信者に通知します。", "Rejected. The sender will be told."),
    "done_expired": (
        "期限が過ぎたため、このメールは破棄されました。",
        "The deadline passed; the message was discarded.",
    ),
    "refused": ("操作できませんでした", "That did not work"),
    "not_found": ("このリンクは無効です。", "This link is not valid."),
    "signin": ("サインイン", "Sign in"),
    "signout": ("サインアウト", "Sign out"),
    "username": ("ユーザー名", "User name"),
    "password": ("パスワード", "Password"),
    "signin_failed": ("ユーザー名またはパスワードが違います。", "Wrong user name or password."),
    "signin_locked": (
        "サインインの失敗が続いたため、しばらくサインインできません。{minutes} 分ほど後にもう一度お試しください。",
        "Too many failed sign-ins. Please try again in about {minutes} min.",
    ),
    "signin_needed": ("承認するにはサインインしてください。", "Please sign in to approve."),
    "held_queue": ("保留キュー", "Held queue"),
    "audit": ("監査ログ", "Audit log"),
    "stats": ("ルール別統計", "Statistics by rule"),
    "filter": ("絞り込み", "Filter"),
    "state": ("状態", "State"),
    "rule": ("ルール", "Rule"),
    "sender": ("送信者", "Sender"),
    "age_hours": ("経過時間 (時間) 以上", "At least this many hours old"),
    "any": ("すべて", "any"),
    "held_at": ("保留日時", "Held at"),
    "release": ("送信する", "Release"),
    "extend": ("期限を延長 (時間)", "Extend (hours)"),
    "holds": ("保留", "Holds"),
    "released_as_is": ("そのまま送信", "Sent as is"),
    "recipient_removed": ("宛先を外して送信", "Recipient removed"),
    "cancelled": ("取り消し", "Cancelled"),
    "rejected": ("却下", "Rejected"),
    "expired": ("期限切れ", "Expired"),
    "cancel_ratio": ("取り消し率", "Cancel ratio"),
    "cancel_ratio_hint": (
        "取り消し率 = (取り消し + 宛先を外して送信) ÷ 決着した保留。高いルールは実際の誤りを防いでおり、"
        "低いルールは手間を増やしているだけかもしれません。",
        "Cancel ratio = (cancelled + recipient removed) ÷ decided holds. A high ratio means the rule "
        "catches real mistakes; a low one may only add friction.",
    ),
    "when": ("日時", "When"),
    "event": ("イベント", "Event"),
    "actor": ("実行者", "Actor"),
    "detail": ("詳細", "Detail"),
    "back": ("戻る", "Back"),
    "language": ("English", "日本語"),
}


def translator(lang: str) -> Callable[[str], str]:
    index = 0 if lang == "ja" else 1

    def t(key: str) -> str:
        pair = TEXT.get(key)
        return pair[index] if pair else key

    return t
