"""The pipeline of one message, readable in one place (see DESIGN.md "The flow of one message").

    claimed from the inbound queue
      → parse          the raw bytes into a MIME tree (never trusted for envelope decisions)
      → inspect        extract text (worker process), scan for personal data (next issue),
                     assess recipients (lists, history, lookalikes, DNS)
      → decide         evaluate the rules → a Verdict with reasons               (for now: relay)
      → dispose        relay → outbound queue; hold / reject                     (later issues)

`decide_message` is also what `gateway check` runs, so an admin sees exactly what the gateway would do.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
from email.message import Message

from gateway.extract.sandbox import extract_in_worker
from gateway.inspection import Facts, Inspectors
from gateway.message import Envelope
from gateway.recipients.assess import assess_recipients
from gateway.store.base import Lease, Queue, Store
from gateway.verdict import Action, Reason, Verdict

log = logging.getLogger(__name__)

RELAY_ALL = Reason(
    rule="default_relay",
    en="No rule matched: the message is relayed.",
    ja="該当するルールがないため、そのまま送信します。",
)


class DispositionLost(Exception):
    """The lease ran out while the message was being processed; another worker owns it now."""


def parse(raw: bytes) -> Message:
    """The MIME tree. compat32 parsing never raises on malformed input; defects are kept on the parts."""
    return email.message_from_bytes(raw, policy=email.policy.compat32)


async def inspect(envelope: Envelope, raw: bytes, tools: Inspectors) -> Facts:
    """Everything the rules decide on. Extraction runs in a worker process, never on this loop."""
    message = parse(raw)
    extraction, recipients = await asyncio.gather(
        extract_in_worker(raw, tools.config.extract),
        assess_recipients(envelope, message, tools.recipients),
    )
    return Facts(
        size=len(raw),
        mime_defects=sum(len(part.defects) for part in message.walk()),
        extraction=extraction,
        recipients=recipients,
    )


def decide(envelope: Envelope, facts: Facts) -> Verdict:
    """The rules arrive with the policy issue; until then every message is relayed."""
    return Verdict(
        action=Action.RELAY,
        reasons=[RELAY_ALL],
        facts={"envelope": {"mail_from": envelope.mail_from, "rcpt_to": list(envelope.rcpt_tos)}, **facts.to_json()},
    )


async def decide_message(envelope: Envelope, raw: bytes, tools: Inspectors) -> Verdict:
    """parse → inspect → decide, without side effects."""
    return decide(envelope, await inspect(envelope, raw, tools))


async def dispose(store: Store, lease: Lease, verdict: Verdict) -> None:
    """Carry out the verdict with one fenced store transition."""
    message = lease.message
    if verdict.action is not Action.RELAY:
        # Fail closed: an action this build cannot carry out sends the message to the shunt queue.
        raise ValueError(f"no disposition for action {verdict.action}")
    message.pending = message.envelope.rcpt_tos
    if not await asyncio.to_thread(store.move, lease, Queue.OUTBOUND, message):
        raise DispositionLost(message.id)
    log.info("queued %s: %s to %d recipient(s)", message.id, verdict.action, len(message.pending))


async def process(store: Store, lease: Lease, tools: Inspectors) -> Verdict:
    """One claimed inbound message, from raw bytes to its next queue."""
    raw = await asyncio.to_thread(store.raw, lease.message.id)
    verdict = await decide_message(lease.message.envelope, raw, tools)
    await dispose(store, lease, verdict)
    return verdict
