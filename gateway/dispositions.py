"""How each action of a verdict is carried out: one small handler per action, in one table.

Every handler ends the message's time on the inbound queue with one fenced store transition
(move or finish under the lease); if the lease was lost meanwhile it raises DispositionLost and
another worker owns the message. A new action is one handler here, its value in
`gateway.verdict.Action`, its notice templates and its docs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from gateway.hold.details import details_of
from gateway.hold.workflow import HoldWorkflow
from gateway.mail.bcc import rewrite_to_bcc
from gateway.metrics import HOLDS
from gateway.store.base import DispositionLost, Lease, Queue, Store
from gateway.verdict import Action, Verdict

log = logging.getLogger(__name__)


@dataclass
class Disposal:
    """One verdict to carry out: the claimed message, its raw bytes and the tools a handler may need."""

    store: Store
    lease: Lease
    verdict: Verdict
    raw: bytes
    holds: HoldWorkflow | None  # None on a node that cannot hold: hold and reject then fail closed

    def workflow(self) -> HoldWorkflow:
        if self.holds is None:
            # Fail closed: an action this node cannot carry out sends the message to the shunt queue.
            raise ValueError(f"no disposition for action {self.verdict.action} (no hold workflow)")
        return self.holds


Handler = Callable[[Disposal], Awaitable[None]]


async def _to_outbound(d: Disposal, new_raw: bytes | None = None) -> None:
    message = d.lease.message
    message.pending = message.envelope.rcpt_tos
    if not await asyncio.to_thread(d.store.move, d.lease, Queue.OUTBOUND, message, raw=new_raw):
        raise DispositionLost(message.id)
    log.info("queued %s: %s to %d recipient(s)", message.id, d.verdict.action, len(message.pending))


async def relay(d: Disposal) -> None:
    """As it is, to every recipient."""
    await _to_outbound(d)


async def rewrite_bcc(d: Disposal) -> None:
    """The visible To/Cc recipients the verdict names move to Bcc, then relay."""
    if not d.verdict.bcc:
        await _to_outbound(d)
        return
    await _to_outbound(d, rewrite_to_bcc(d.raw, set(d.verdict.bcc)))


async def hold(d: Disposal) -> None:
    """hold_sender, hold_manager and delay: the hold workflow keeps it and sends the first notice."""
    record = await d.workflow().hold(d.lease, d.verdict, d.raw)
    HOLDS.labels(record.rule).inc()


async def reject(d: Disposal) -> None:
    """Tell the sender why (the notice is queued first, so a crash cannot lose it), then drop it."""
    notifier = d.workflow().notifier
    message = d.lease.message
    if not message.envelope.is_null_sender:
        sender = message.envelope.mail_from
        await notifier.send("rejected", sender, sender=sender, details=details_of(d.verdict, d.raw), removed=())
    if not await asyncio.to_thread(d.store.finish, d.lease):
        raise DispositionLost(message.id)
    log.info("rejected %s", message.id)


HANDLERS: dict[Action, Handler] = {
    Action.RELAY: relay,
    Action.REWRITE_BCC: rewrite_bcc,
    Action.DELAY: hold,
    Action.HOLD_SENDER: hold,
    Action.HOLD_MANAGER: hold,
    Action.REJECT: reject,
}
