"""Delivery-status notifications (RFC 3464) for recipients that failed for good.

The notice goes from the null sender to the original envelope sender, with a human part in Japanese
and English, the machine-readable message/delivery-status part and the original's headers only
(text/rfc822-headers): never its body, which may be the very data the gateway exists to protect.
No notice is ever made about a notice or about mail from the null sender (no bounce loops).
"""

from __future__ import annotations

import base64
import re
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from email.header import Header
from email.utils import formatdate

from gateway.mail.compose import clean_address, own_headers, queued_notice
from gateway.message import QueuedMessage

MAX_HEADER_BYTES = 64 * 1024  # of the original's header block, cut at a line boundary
MAX_DIAGNOSTIC_CHARS = 500

SUBJECT = "配信不能のお知らせ / Undelivered Mail Returned to Sender"
INTRO_JA = (
    "このメッセージはメール配送システムが自動的に送信しています。\r\n"
    "お送りいただいたメールは、次の宛先に配送できませんでした。\r\n"
    "宛先のアドレスをご確認のうえ、必要であれば改めて送信してください。"
)
INTRO_EN = (
    "This is the mail delivery system, writing automatically.\r\n"
    "Your message could not be delivered to the recipients below.\r\n"
    "Please check the addresses and send the message again if needed."
)

_SUBJECT_ENCODED = Header(SUBJECT, "utf-8").encode(linesep="\r\n")
_SMTP_REPLY = re.compile(r"^(\d{3})\s+([245]\.\d{1,3}\.\d{1,3})\s*(.*)$", re.DOTALL)
_UNSAFE = re.compile(r"[\x00-\x1f\x7f]+")
_FIELD = re.compile(rb"^[\x21-\x39\x3b-\x7e]+:")
_MESSAGE_ID = re.compile(rb"^message-id:\s*(<[\x21-\x3b\x3d\x3f-\x7e]{1,250}>)\s*$", re.I | re.M)


@dataclass(frozen=True)
class FailedRecipient:
    address: str
    status: str  # RFC 3463, e.g. "5.1.1"
    diagnostic: str  # the reply as given: "550 5.1.1 User unknown"


def wants_notice(message: QueuedMessage) -> bool:
    """Never a notice about a notice, never to the null sender."""
    # "<>" too, in case a null sender ever arrives unparsed: a notice to it could only loop.
    return not message.is_notice and message.envelope.mail_from.strip() not in ("", "<>")


def failures_of(message: QueuedMessage) -> list[FailedRecipient]:
    """QueuedMessage.failed ("550 5.1.1 text" per recipient) → the DSN's per-recipient fields."""
    out = []
    for address, reply in message.failed.items():
        match = _SMTP_REPLY.match(reply.strip())
        status = match.group(2) if match else "5.0.0"
        out.append(FailedRecipient(address, status, reply.strip()))
    return out


def build_dsn(
    original: QueuedMessage,
    raw: bytes,
    failures: Sequence[FailedRecipient],
    *,
    postmaster: str,
    reporting_mta: str,
    now: float | None = None,
) -> tuple[QueuedMessage, bytes]:
    """The notice as a new outbound message (null sender, is_notice) and its raw bytes."""
    if not wants_notice(original):
        raise ValueError("no notice about a notice or to the null sender")
    if not failures:
        raise ValueError("a notice needs at least one failed recipient")
    now = time.time() if now is None else now
    sender = _clean(original.envelope.mail_from)
    mta = _ascii(_clean(reporting_mta)) or "localhost"
    boundary = f"=_dsn_{secrets.token_hex(12)}"
    headers_block = _header_block(raw)

    own = own_headers(
        from_name="Mail Delivery System",
        from_address=postmaster,
        to=sender,
        now=now,
        domain=mta,
        auto_submitted="auto-replied",
        kind="dsn",
    )
    head = [
        *(f"{name}: {value}" for name, value in own),
        f"Subject: {_SUBJECT_ENCODED}",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"',
    ]
    original_id = _MESSAGE_ID.search(headers_block)
    if original_id:
        ref = original_id.group(1).decode("ascii")
        head += [f"In-Reply-To: {ref}", f"References: {ref}"]

    listing = "\r\n".join(f"  <{_clean(f.address)}>: {_diagnostic(f.diagnostic)}" for f in failures)
    human = f"{INTRO_JA}\r\n\r\n{INTRO_EN}\r\n\r\n{listing}\r\n"

    status_lines = [f"Reporting-MTA: dns; {mta}", f"Arrival-Date: {formatdate(original.received_at)}"]
    for f in failures:
        status_lines += [
            "",
            f"Final-Recipient: {_address_type(f.address)}",
            "Action: failed",
            f"Status: {f.status}",
            f"Diagnostic-Code: smtp; {_ascii(_diagnostic(f.diagnostic))}",
        ]

    parts = [
        "\r\n".join(head),
        "",
        "This is a MIME-encapsulated delivery status notification.",
        "",
        f"--{boundary}",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: base64",
        "",
        _base64_lines(human.encode("utf-8")),
        f"--{boundary}",
        "Content-Type: message/delivery-status",
        "",
        "\r\n".join(status_lines),
        "",
        f"--{boundary}",
    ]
    if headers_block.isascii():
        parts += ["Content-Type: text/rfc822-headers", "", headers_block.decode("ascii")]
    else:  # RFC 6532 UTF-8 headers: keep the notice 7-bit so any next hop takes it
        parts += [
            "Content-Type: text/rfc822-headers; charset=utf-8",
            "Content-Transfer-Encoding: base64",
            "",
            _base64_lines(headers_block),
        ]
    parts += [f"--{boundary}--", ""]
    body = "\r\n".join(parts).encode("utf-8")

    return queued_notice(original.envelope.mail_from, now), body


def _header_block(raw: bytes) -> bytes:
    """The original's header fields with CRLF line ends: up to the first line that is neither a
    field nor a continuation (the blank line, or a malformed message's body), cut if huge."""
    kept: list[bytes] = []
    size = 0
    for line in re.split(rb"\r?\n", raw):
        if not (_FIELD.match(line) or (kept and line[:1] in (b" ", b"\t") and line.strip())):
            break
        size += len(line) + 2
        if size > MAX_HEADER_BYTES:
            break
        kept.append(line)
    return b"".join(line + b"\r\n" for line in kept)


def _base64_lines(data: bytes) -> str:
    encoded = base64.b64encode(data).decode("ascii")
    return "\r\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))


_clean = clean_address


def _ascii(text: str) -> str:
    return text.encode("ascii", "replace").decode("ascii")


def _diagnostic(text: str) -> str:
    return " ".join(_UNSAFE.sub(" ", text).split())[:MAX_DIAGNOSTIC_CHARS]


def _address_type(address: str) -> str:
    """'rfc822; a@b', or RFC 6533's 'utf-8; ' with \\x{HEX} escapes for internationalised addresses."""
    address = _clean(address)
    if address.isascii():
        return f"rfc822; {address}"
    escaped = "".join(c if c.isascii() and c != "\\" else f"\\x{{{ord(c):X}}}" for c in address)
    return f"utf-8; {escaped}"
