"""The tools that learn the facts of a message: built once per node.

`Inspectors` holds the inspection worker pool (with the models), the list indexes, the recipient
history and the DNS client. What one message's inspection produced is `Facts` (facts.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from gateway.config import Config
from gateway.config.extract import ExtractLimits
from gateway.config.inspection import InspectionConfig
from gateway.config.recipients import RecipientsConfig
from gateway.config.scan import ScanConfig
from gateway.dnsresolver import make_resolver
from gateway.extract.ocr import installed
from gateway.inspection.pool import InspectPool
from gateway.message import Envelope
from gateway.recipients.assess import RecipientContext
from gateway.recipients.contacts import ContactBook
from gateway.recipients.contacts_backends import open_contacts
from gateway.recipients.domains import RecipientClass
from gateway.recipients.history import RecipientHistory
from gateway.recipients.history_backends import open_node_history
from gateway.recipients.misaddressed import AddressingContext
from gateway.scan.model import ScanContext

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InspectionSettings:
    """The sections of config.yaml that inspection reads."""

    scan: ScanConfig
    inspection: InspectionConfig
    extract: ExtractLimits
    recipients: RecipientsConfig
    internal_domains: tuple[str, ...]
    store_url: str  # where the recipient history and the contact book live

    @classmethod
    def of(cls, config: Config) -> InspectionSettings:
        return cls(
            config.scan,
            config.inspection,
            config.extract,
            config.recipients,
            tuple(config.organization.internal_domains),
            config.store.url,
        )


class Inspectors:
    """The long-lived inspection tools of one node.

    `pool` runs extraction and the scan; without one given, Inspectors makes its own, started by
    `await start()` (or on the first message) and stopped by `close()`.
    """

    def __init__(
        self,
        settings: InspectionSettings,
        history: RecipientHistory | None = None,
        pool: InspectPool | None = None,
        contacts: ContactBook | None = None,
    ) -> None:
        self.settings = settings
        self.extract = settings.extract
        self._owns_pool = pool is None
        self.pool = pool if pool is not None else InspectPool(settings.scan, settings.inspection)
        self._owns_history = history is None
        self.history = history if history is not None else open_node_history(settings.store_url, settings.recipients)
        dns = settings.recipients.dns
        resolver = make_resolver(dns.nameservers, dns.port, dns.timeout) if dns.enabled else None
        self.recipients = RecipientContext.create(
            settings.recipients, settings.internal_domains, self.history, resolver
        )
        enabled = settings.recipients.misaddressed.enabled
        self._owns_contacts = contacts is None and enabled
        if contacts is None and enabled:
            contacts = open_contacts(settings.store_url)
        self.contacts = contacts
        classify = self.recipients.classifier.classify
        self.addressing = AddressingContext(
            settings.recipients,
            contacts,
            self.recipients.orgs,
            is_external=lambda domain: classify(domain) is RecipientClass.EXTERNAL,
        )

    @classmethod
    def from_config(
        cls,
        config: Config,
        history: RecipientHistory | None = None,
        pool: InspectPool | None = None,
        contacts: ContactBook | None = None,
    ) -> Inspectors:
        return cls(InspectionSettings.of(config), history, pool, contacts)

    async def start(self) -> None:
        """Start the inspection workers: PoolStartError (a ScanModelError) when the models do not load."""
        ocr = self.extract.ocr
        missing = installed(ocr) if ocr.enabled else ""
        if missing:  # not fatal: each image is UNSCANNABLE (ocr-unavailable) and held, never passed
            log.warning("OCR is not available (%s): every image that could hold text is UNSCANNABLE", missing)
        await self.pool.start()

    def scan_context(self, envelope: Envelope) -> ScanContext:
        """Who sends and receives, and what is the organisation's own: not counted as personal data."""
        scan = self.settings.scan
        return ScanContext(
            sender=envelope.mail_from,
            recipients=tuple(envelope.rcpt_tos),
            internal_domains=self.settings.internal_domains,
            own_phone_numbers=tuple(scan.own_phone_numbers),
            own_addresses=tuple(scan.own_addresses),
        )

    def close(self) -> None:
        if self._owns_pool:
            self.pool.close_sync()
        if self._owns_history:
            self.history.close()
        if self._owns_contacts and self.contacts is not None:
            self.contacts.close()
