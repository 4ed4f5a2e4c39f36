"""Learn from a mailbox of sent mail (`gateway history import --mbox FILE` / `--maildir DIR`), so a
site starts informed: every message from an internal sender is read like delivered mail and teaches
both the recipient history (sender -> recipients, organisations) and the contact book (names in
addressee positions, display names, threads, attachment digests).

Recipients are the To, Cc and Bcc headers read with the strict parser (a sent-mail folder has no
envelope); the time is the Date header (else the mbox file's time, or now). Messages from outside the internal
domains (incoming mail filed in the same folder) and unreadable ones are counted and skipped. No
address or name is printed.
"""

from __future__ import annotations

import email.policy
import email.utils
import mailbox
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from email.message import Message
from pathlib import Path

from gateway.config.extract import ExtractLimits
from gateway.extract import extract_message
from gateway.mail.addresses import AddressError, normalise_domain, parse_address, parse_address_list
from gateway.recipients.contacts import ContactBook, Lesson
from gateway.recipients.domains import Classifier, Organisations, RecipientClass
from gateway.recipients.history import Delivery, RecipientHistory
from gateway.recipients.misaddressed import lesson_of
from gateway.recipients.model import RecipientRisk

_BATCH = 200


@dataclass
class MailImportCounts:
    messages: int = 0  # messages read
    imported: int = 0  # messages from an internal sender with recipients
    recorded: int = 0  # sender-recipient pairs written to the history
    learned: int = 0  # rows written to the contact book
    skipped_foreign_sender: int = 0
    skipped_no_recipients: int = 0
    skipped_unreadable: int = 0

    def to_json(self) -> dict[str, int]:
        return asdict(self)


def _messages(mbox: list[str], maildirs: list[str]) -> Iterator[tuple[bytes, float]]:
    for path in mbox:
        box = mailbox.mbox(path, create=False)
        try:
            for key in box.iterkeys():
                yield box.get_bytes(key), os.path.getmtime(path)
        finally:
            box.close()
    for path in maildirs:
        md = mailbox.Maildir(path, factory=None, create=False)
        for key in md.iterkeys():
            yield md.get_bytes(key), time.time()


def _when(msg: Message, fallback: float) -> float:
    value = msg.get("date")
    if value:
        try:
            parsed = email.utils.parsedate_to_datetime(str(value))
            return parsed.timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            pass
    return fallback


def import_mailboxes(
    history: RecipientHistory,
    contacts: ContactBook | None,
    *,
    mbox: list[str] | None = None,
    maildirs: list[str] | None = None,
    internal_domains: list[str],
    affiliate_domains: list[str] | None = None,
    orgs: Organisations | None = None,
    limits: ExtractLimits | None = None,
    min_attachment_bytes: int = 256,
    echo: Callable[[str], None] | None = None,
) -> MailImportCounts:
    orgs = orgs or Organisations()
    internal = [normalise_domain(d) for d in internal_domains]
    classifier = Classifier(internal, affiliate_domains or [])
    counts = MailImportCounts()
    deliveries: list[Delivery] = []
    lessons: list[tuple[Lesson | str, list[str], float]] = []

    def flush() -> None:
        counts.recorded += history.record_many(deliveries)
        if contacts is not None and lessons:
            counts.learned += contacts.learn_many(lessons)
        deliveries.clear()
        lessons.clear()

    for raw, mtime in _messages([str(Path(p)) for p in mbox or []], [str(Path(p)) for p in maildirs or []]):
        counts.messages += 1
        try:
            headers = email.message_from_bytes(raw, policy=email.policy.compat32)
            senders = parse_address_list(str(headers.get("from", "") or "")).addresses
        except Exception:
            counts.skipped_unreadable += 1
            continue
        if len(senders) != 1 or classifier.classify(senders[0].domain) is not RecipientClass.INTERNAL:
            counts.skipped_foreign_sender += 1
            continue
        recipients: list[str] = []
        for name in ("to", "cc", "bcc"):
            for value in headers.get_all(name) or []:
                recipients.extend(a.normalised for a in parse_address_list(str(value)).addresses)
        recipients = list(dict.fromkeys(recipients))
        if not recipients:
            counts.skipped_no_recipients += 1
            continue
        counts.imported += 1
        when = _when(headers, mtime)
        deliveries.append(Delivery(senders[0].normalised, tuple(recipients), when))
        external = []
        for r in recipients:
            try:
                addr = parse_address(r)
            except AddressError:
                continue
            if classifier.classify(addr.domain) is RecipientClass.EXTERNAL:
                external.append(
                    RecipientRisk(
                        addr.normalised, RecipientClass.EXTERNAL, domain=addr.domain, organisation=orgs.of(addr.domain)
                    )
                )
        if external and contacts is not None:
            extraction = extract_message(raw, limits)
            lessons.append((lesson_of(headers, extraction, external, min_attachment_bytes), recipients, when))
        if len(deliveries) >= _BATCH:
            flush()
            if echo is not None:
                echo(f"{counts.messages} messages read, {counts.imported} imported")
    flush()
    if echo is not None:
        echo(
            f"mailboxes: {counts.messages} messages, {counts.imported} imported, {counts.recorded} deliveries "
            f"recorded, {counts.learned} contact facts learned; skipped: {counts.skipped_foreign_sender} not from "
            f"an internal sender, {counts.skipped_no_recipients} without recipients, "
            f"{counts.skipped_unreadable} unreadable"
        )
    return counts
