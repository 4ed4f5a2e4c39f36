"""The one builder of what every mail the gateway writes itself has in common: notices to senders and
approvers (gateway/hold/notify.py) and delivery-status notices (gateway/outbound/dsn.py).

Both go out from the null sender, are marked `is_notice` (never inspected again, never answered with
another notice) and carry the same identifying headers, with every value one clean line.
"""

from __future__ import annotations

import re
from email.utils import formataddr, formatdate

from gateway.message import Envelope, QueuedMessage, new_message_id

_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")


def one_line(text: str) -> str:
    """No header injection: control characters (CR, LF, NUL ...) become spaces, one line."""
    return " ".join(_UNSAFE.sub(" ", text).split())


def clean_address(text: str) -> str:
    """An address for a header or a report: one line, and no angle brackets to break out of <...>."""
    return one_line(text.replace("<", " ").replace(">", " "))


def queued_notice(to: str, now: float) -> QueuedMessage:
    """The queue entry of a mail the gateway writes: null sender, one recipient, never a notice about it."""
    envelope = Envelope(mail_from="", rcpt_tos=(to,))
    return QueuedMessage(id=new_message_id(), envelope=envelope, received_at=now, pending=(to,), is_notice=True)


def own_headers(
    *, from_name: str, from_address: str, to: str, now: float, domain: str, auto_submitted: str, kind: str
) -> list[tuple[str, str]]:
    """From, To, Date, Message-ID (`<id.KIND@domain>`) and Auto-Submitted (RFC 3834: auto-generated or
    auto-replied)."""
    return [
        ("From", formataddr((from_name, clean_address(from_address)))),
        ("To", f"<{clean_address(to)}>"),
        ("Date", formatdate(now, localtime=False)),
        ("Message-ID", f"<{new_message_id()}.{kind}@{clean_address(domain) or 'localhost'}>"),
        ("Auto-Submitted", auto_submitted),
    ]
