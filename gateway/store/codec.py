"""QueuedMessage <-> JSON, shared by the store backends (raw bytes are stored apart, as bytes).

The encoding carries a version number so that a later release can read what an earlier one wrote.
"""

from __future__ import annotations

import json
from typing import Any

from gateway.message import Envelope, QueuedMessage

FORMAT_VERSION = 1


def encode(message: QueuedMessage) -> str:
    env = message.envelope
    data: dict[str, Any] = {
        "v": FORMAT_VERSION,
        "id": message.id,
        "envelope": {
            "mail_from": env.mail_from,
            "rcpt_tos": list(env.rcpt_tos),
            "client_address": env.client_address,
            "helo": env.helo,
        },
        "received_at": message.received_at,
        "attempts": message.attempts,
        "pending": list(message.pending),
        "delivered": list(message.delivered),
        "failed": dict(message.failed),
        "deferred_reason": message.deferred_reason,
        "is_notice": message.is_notice,
        "shunt_reason": message.shunt_reason,
        "released": message.released,
        "failures": message.failures,
        "last_error": message.last_error,
    }
    if message.lesson:
        data["lesson"] = message.lesson
    # ensure_ascii keeps the text plain ASCII; surrogates from smtputf8 decoding survive the round trip.
    return json.dumps(data, ensure_ascii=True, separators=(",", ":"))


def decode(text: str | bytes) -> QueuedMessage:
    data = json.loads(text)
    if data.get("v") != FORMAT_VERSION:
        raise ValueError(f"unknown stored message format {data.get('v')!r}")
    env = data["envelope"]
    return QueuedMessage(
        id=data["id"],
        envelope=Envelope(
            mail_from=env["mail_from"],
            rcpt_tos=tuple(env["rcpt_tos"]),
            client_address=env["client_address"],
            helo=env["helo"],
        ),
        received_at=float(data["received_at"]),
        attempts=int(data["attempts"]),
        pending=tuple(data["pending"]),
        delivered=tuple(data["delivered"]),
        failed=dict(data["failed"]),
        deferred_reason=data["deferred_reason"],
        is_notice=bool(data["is_notice"]),
        shunt_reason=data["shunt_reason"],
        released=bool(data.get("released", True)),  # written before the flag existed: look for a hold
        lesson=str(data.get("lesson", "")),
        failures=int(data.get("failures", 0)),
        last_error=str(data.get("last_error", "")),
    )
