"""Plain data that travels through the gateway: the envelope and a queued message."""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass, field

# A Received: field at the start of a header line; RFC 5322's obsolete syntax allows blanks before ":".
_RECEIVED = re.compile(rb"received[ \t]*:", re.IGNORECASE)


def new_message_id() -> str:
    """A queue id: sortable by time, unique across nodes (128 random bits would be overkill here)."""
    return f"{int(time.time() * 1000):013x}{secrets.token_hex(8)}"


def received_count(raw: bytes) -> int:
    """The number of Received: fields in the header section of `raw` (mail loop detection).

    The one count for receiving and delivery: the header section ends at the first empty line (CRLF
    or bare LF); continuation lines (starting with a blank) are parts of the field above, never
    fields of their own; the name is matched without regard to case, with blanks allowed before ":".
    """
    count = start = 0
    while True:  # line by line up to the empty one: the body is never split (it may be megabytes)
        end = raw.find(b"\n", start)
        line = raw[start:] if end < 0 else raw[start : end - 1 if end > start and raw[end - 1] == 13 else end]
        if not line:
            return count
        if _RECEIVED.match(line):
            count += 1
        if end < 0:
            return count
        start = end + 1


def too_many_hops(raw: bytes, limit: int) -> bool:
    """The one loop rule: a message carrying more than `limit` Received: fields, counting the
    gateway's own (which receiving adds before it counts), is a loop. What was accepted is never
    bounced by delivery for it, since delivery counts the same bytes the same way."""
    return received_count(raw) > limit


@dataclass(frozen=True)
class Envelope:
    """The SMTP envelope. Envelope recipients are the truth about where mail goes, not To/Cc."""

    mail_from: str  # "" is the null sender (bounces, notices)
    rcpt_tos: tuple[str, ...]
    client_address: str = ""
    helo: str = ""

    @property
    def is_null_sender(self) -> bool:
        return self.mail_from == ""


@dataclass
class QueuedMessage:
    """A message as the store holds it on one of its queues.

    `pending` are the recipients still to be delivered (outbound); `delivered` and `failed` grow as
    delivery attempts report per-recipient results. `failed` maps recipient -> "code text".
    `is_notice` marks mail the gateway generated itself (DSNs, hold notices): it is never inspected
    again and never bounced. `released` marks a message released from a hold. `attempts` counts delivery
    attempts; `failures` counts errors of our own (an exception while handling it), whatever the worker.
    """

    id: str
    envelope: Envelope
    received_at: float
    attempts: int = 0
    pending: tuple[str, ...] = ()
    delivered: tuple[str, ...] = ()
    failed: dict[str, str] = field(default_factory=dict)
    deferred_reason: str = ""
    is_notice: bool = False
    shunt_reason: str = ""
    released: bool = False  # released from a hold: delivery marks its hold record delivered
    lesson: str = ""  # what delivery teaches the contact book (JSON, gateway/recipients/contacts.py)
    failures: int = 0  # handling raised this many times (worker.max_failures: then the shunt queue)
    last_error: str = ""  # what the last failure said (for admins)
