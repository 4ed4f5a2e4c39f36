"""Helpers for hold tests: a config, verdicts like the policy engine makes, putting a message on hold
through the real workflow, and reading the link out of a queued notification."""

from __future__ import annotations

import email
import email.policy
import re
from pathlib import Path
from typing import Any

from gateway.config import Config
from gateway.hold.model import Hold
from gateway.hold.workflow import HoldWorkflow
from gateway.message import Envelope, QueuedMessage, new_message_id
from gateway.store.base import Queue, Store
from gateway.verdict import Action, Reason, RuleHit, Verdict

LINK = re.compile(r"https?://[^\s]+/h/[0-9a-f]+/[A-Za-z0-9_\-]+")


def hold_config(tmp_path: Path | None = None, **sections: dict[str, Any]) -> Config:
    data: dict[str, Any] = {
        "organization": {"internal_domains": ["example.co.jp"]},
        "web": {"base_url": "http://gw.test:8025"},
        "hold": {"retry_seconds": 0.01},
        "worker": {"lease_seconds": 5},
    }
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return Config.model_validate(data)


def verdict(action: Action, rule: str = "pii_first_time_external", **extra: Any) -> Verdict:
    reason = Reason(rule, f"{rule} held it", f"{rule} により保留")
    v = Verdict(action=action, reasons=[reason], hits=[RuleHit(rule, action, reason)], **extra)
    v.facts = {
        "recipients": {
            "recipients": [
                {
                    "address": "partner@partner.example",
                    "class": "external",
                    "organisation": "partner.example",
                    "signals": ["first_time_sender"],
                },
                {"address": "other@other.example", "class": "external", "organisation": "other.example", "signals": []},
                {"address": "boss@example.co.jp", "class": "internal", "organisation": "example.co.jp", "signals": []},
            ]
        },
        "attachments": [{"name": "list.xlsx", "type": "xlsx", "size": 1234}],
        "personal_data": {
            "findings": [
                {"entity": "EMAIL_ADDRESS", "count": 12, "where": "list.xlsx/Sheet1", "samples": ["ta***@example.com"]}
            ]
        },
        "findings": [],
    }
    return v


RCPTS = ("partner@partner.example", "other@other.example", "boss@example.co.jp")


def raw_message(mid: str, rcpts: tuple[str, ...] = RCPTS) -> bytes:
    return (
        f"From: Taro <taro@example.co.jp>\r\nTo: {', '.join(rcpts)}\r\nSubject: report {mid}\r\n"
        f"Message-ID: <{mid}@test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "いつもお世話になっております。\r\n月次報告をお送りします。\r\n"
    ).encode()


async def put_on_hold(
    store: Store, workflow: HoldWorkflow, v: Verdict, rcpts: tuple[str, ...] = RCPTS, sender: str = "taro@example.co.jp"
) -> Hold:
    mid = new_message_id()
    message = QueuedMessage(id=mid, envelope=Envelope(sender, rcpts), received_at=0.0, pending=rcpts)
    store.accept([(message, raw_message(mid, rcpts))])
    lease = store.claim_message(Queue.INBOUND, mid, 30)
    assert lease is not None
    return await workflow.hold(lease, v, raw_message(mid, rcpts))


def notices(store: Store) -> list[tuple[QueuedMessage, email.message.Message]]:
    """Notices queued on the outbound queue: (queued message, parsed mail)."""
    out = []
    for m in store.list_queue(Queue.OUTBOUND, 1000):
        if m.is_notice:
            out.append((m, email.message_from_bytes(store.raw(m.id), policy=email.policy.default)))
    return out


def body_of(mail: email.message.Message) -> str:
    part = mail.get_body(("plain",)) if hasattr(mail, "get_body") else mail  # type: ignore[union-attr]
    return str(part.get_content())  # type: ignore[union-attr]


def links_to(store: Store, to: str) -> list[str]:
    found = []
    for m, mail in notices(store):
        if m.envelope.rcpt_tos == (to,):
            found += LINK.findall(body_of(mail))
    return found


def secret_of(link: str) -> tuple[str, str]:
    hold_id, secret = link.rsplit("/", 2)[-2:]
    return hold_id, secret


def outbound_real(store: Store) -> list[QueuedMessage]:
    return [m for m in store.list_queue(Queue.OUTBOUND, 1000) if not m.is_notice]
