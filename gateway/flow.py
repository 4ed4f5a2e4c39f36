"""The pipeline of one message, readable in one place (docs/architecture.md, "The flow of one message").

    claimed from the inbound queue
      → parse          the raw bytes into a MIME tree (never trusted for envelope decisions)
      → inspect        extract text and scan it for personal data (inspection worker process; skipped
                     when no rule reads the content), assess recipients (lists, history, lookalikes, DNS)
      → decide         evaluate the rules (gateway/policy) → a Verdict with hits, misses and reasons
      → dispose        relay / rewrite_bcc → outbound queue; hold / delay → hold workflow (gateway/hold);
                     reject → a notice to the sender

`decide_message` is also what `gateway check` runs, so an admin sees exactly what the gateway would do.
"""

from __future__ import annotations

import asyncio
import logging
from email.errors import MultipartInvariantViolationDefect
from email.message import Message

from gateway.content import SEP, Extraction
from gateway.dispositions import HANDLERS, Disposal
from gateway.hold.details import subject_field
from gateway.hold.workflow import HoldWorkflow
from gateway.inspection.facts import Facts
from gateway.inspection.tools import Inspectors
from gateway.mail.mimeparse import parse_bytes, parse_header_block
from gateway.message import Envelope
from gateway.metrics import MESSAGES, SCAN_SECONDS
from gateway.policy.policy import ContentNotInspected, Policy
from gateway.recipients.assess import assess_recipients
from gateway.recipients.misaddressed import assess_addressing
from gateway.scan.model import ScanResult
from gateway.store.base import Lease, Store
from gateway.verdict import Verdict

log = logging.getLogger(__name__)


def parse_headers(raw: bytes) -> Message:
    """The header block alone (what recipient assessment reads), without parsing the body."""
    headers = parse_header_block(raw)  # the stdlib's header-only parse (compat32) of the header block
    # Before 3.11.4 (Debian 12 has 3.11.2) a header-only parse of a multipart message records a
    # MultipartInvariantViolationDefect: an artefact of not reading the body, not a defect of the
    # message, so the count of MIME defects stays the same on every 3.11.
    headers.defects[:] = [d for d in headers.defects if not isinstance(d, MultipartInvariantViolationDefect)]
    return headers


def parse(raw: bytes) -> Message:
    """The MIME tree. compat32 parsing never raises on malformed input; defects are kept on the parts.

    Parts nested deeper than the stdlib parser can recurse (a few hundred levels, a 200 KB message)
    raise RecursionError: then the headers only. The extraction reads the raw bytes itself and reports
    such a message UNSCANNABLE, so it is held, not retried until it lands on the shunt queue."""
    try:
        return parse_bytes(raw)  # email.message_from_bytes(raw, policy=compat32), cheaper on long bodies
    except RecursionError:
        return parse_headers(raw)


async def inspect(envelope: Envelope, raw: bytes, tools: Inspectors, content: bool = True) -> Facts:
    """Everything the rules decide on. Extraction and the scan run in a worker process, never on this
    loop; whatever goes wrong there comes back as UNSCANNABLE findings. With content=False (no rule
    reads it) only the envelope, headers and recipients are looked at.

    The message is parsed once: by the worker when the content is read (it counts the MIME defects
    too), here otherwise; the recipients need only the header block."""
    if content:
        headers = parse_headers(raw)
        (extraction, scan), assessed = await asyncio.gather(
            tools.pool.inspect(raw, tools.extract, tools.scan_context(envelope)),
            assess_recipients(envelope, headers, tools.recipients),
        )
        defects = extraction.mime_defects
    else:
        message = parse(raw)
        extraction, scan = Extraction(), ScanResult()
        assessed = await assess_recipients(envelope, message, tools.recipients)
        defects = sum(len(part.defects) for part in message.walk())
        headers = message
    pii_files = {
        f.attachment or f.location.removeprefix("attachment ").split(SEP)[0]
        for f in scan.personal
        if f.attachment or f.location.startswith("attachment ")
    }
    # The signals compare the content with the contact book only when a rule reads them (they are
    # content facts); what the message teaches once delivered is worked out either way.
    addressing = await assess_addressing(
        headers, extraction, assessed, tools.addressing, pii_attachments=pii_files, compare=content
    )
    return Facts(
        subject=subject_field(headers),
        size=len(raw),
        mime_defects=defects,
        extraction=extraction,
        recipients=assessed,
        scan=scan,
        content_inspected=content,
        addressing=addressing,
    )


def decide(envelope: Envelope, facts: Facts, policy: Policy, explain: bool = True) -> Verdict:
    """Every rule over the facts: the strongest enforced hit decides; all hits and misses are kept
    (with explain, each miss says which test failed: for people, `gateway check`)."""
    verdict = policy.decide(envelope, facts, explain)
    verdict.facts = {
        "envelope": {"mail_from": envelope.mail_from, "rcpt_to": list(envelope.rcpt_tos)},
        **facts.to_json(),
    }
    verdict.lesson = facts.addressing.lesson.to_json()
    verdict.previews = [p.to_json() for p in facts.scan.previews]
    verdict.subject = facts.subject  # hold details decode it: the held message is not parsed again
    return verdict


async def decide_message(
    envelope: Envelope, raw: bytes, tools: Inspectors, policy: Policy, all_content: bool = True, explain: bool = True
) -> Verdict:
    """parse → inspect → decide, without side effects. With all_content=False the content is
    inspected only if some rule reads it (the pipeline); `gateway check` shows every finding and
    why each rule missed (explain; the pipeline keeps the misses without saying why)."""
    content = all_content or policy.reads_content
    people = policy.directory.people
    tools.addressing.use_directory(((p.name, p.address) for p in people.values()), people)
    try:
        return decide(envelope, await inspect(envelope, raw, tools, content), policy, explain)
    except ContentNotInspected:  # a sender group's rules read the content after all
        return decide(envelope, await inspect(envelope, raw, tools, True), policy, explain)


async def dispose(
    store: Store, lease: Lease, verdict: Verdict, raw: bytes = b"", holds: HoldWorkflow | None = None
) -> None:
    """Carry out the verdict with its handler (gateway/dispositions.py): relay and rewrite_bcc →
    outbound; hold_sender, hold_manager and delay → the hold workflow; reject → a notice to the sender."""
    lease.message.lesson = verdict.lesson  # learned by the contact book once delivered
    raw = raw or await asyncio.to_thread(store.raw, lease.message.id)
    await HANDLERS[verdict.action](Disposal(store, lease, verdict, raw, holds))
    MESSAGES.labels(verdict.action.value).inc()  # counted once disposed: a retried message counts once


async def process(
    store: Store, lease: Lease, tools: Inspectors, policy: Policy, holds: HoldWorkflow | None = None
) -> Verdict:
    """One claimed inbound message, from raw bytes to its next queue (under the policy in force when
    it was claimed: a reload never changes the rules half-way through a message)."""
    raw = lease.raw if lease.raw is not None else await asyncio.to_thread(store.raw, lease.message.id)
    with SCAN_SECONDS.time():
        verdict = await decide_message(lease.message.envelope, raw, tools, policy, all_content=False, explain=False)
    await dispose(store, lease, verdict, raw, holds)
    return verdict
