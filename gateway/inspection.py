"""What the pipeline learns about a message before it decides, and the tools that learn it.

`Inspectors` is built once per node (the inspection worker pool with the models, list indexes,
history and DNS clients); `Facts` is what one message's inspection produced: the rules decide on
Facts, `gateway check --json` prints them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway.config import Config
from gateway.content import Extraction
from gateway.dnsresolver import make_resolver
from gateway.message import Envelope
from gateway.recipients.assess import RecipientContext
from gateway.recipients.history import RecipientHistory, open_history
from gateway.recipients.model import RecipientAssessment
from gateway.scan.model import ScanContext, ScanResult
from gateway.workers.pool import InspectPool


@dataclass
class Facts:
    size: int
    mime_defects: int
    extraction: Extraction
    recipients: RecipientAssessment
    scan: ScanResult = field(default_factory=ScanResult)  # personal data found
    content_inspected: bool = True  # False: no rule reads the content, so it was not extracted or scanned

    def to_json(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "mime_defects": self.mime_defects,
            "content_inspected": self.content_inspected,
            "attachments": [
                {
                    "name": a.name,
                    "type": a.detected_type,
                    "declared_type": a.declared_type,
                    "size": a.size,
                    "path": list(a.path),
                    "encrypted": a.encrypted,
                    "text_extracted": a.text_extracted,
                }
                for a in self.extraction.attachments
            ],
            "segments": len(self.extraction.segments),
            "findings": [
                {
                    "entity": f.entity,
                    "reason": f.reason,
                    "detail": f.detail,
                    "count": f.count,
                    "where": f.where,
                    "samples": list(f.samples),
                }
                for f in self.extraction.findings
            ],
            "personal_data": self.scan.to_json(),
            "recipients": self.recipients.to_json(),
        }


class Inspectors:
    """The long-lived inspection tools of one node.

    `pool` runs extraction and the scan; without one given, Inspectors makes its own, started by
    `await start()` (or on the first message) and stopped by `close()`.
    """

    def __init__(
        self, config: Config, history: RecipientHistory | None = None, pool: InspectPool | None = None
    ) -> None:
        self.config = config
        self._owns_pool = pool is None
        self.pool = pool if pool is not None else InspectPool(config.scan, config.inspection)
        self._owns_history = history is None
        self.history = history if history is not None else open_history(config.store.url)
        dns = config.recipients.dns
        resolver = make_resolver(dns.nameservers, dns.port, dns.timeout) if dns.enabled else None
        self.recipients = RecipientContext.create(
            config.recipients, config.organization.internal_domains, self.history, resolver
        )

    async def start(self) -> None:
        """Start the inspection workers: PoolStartError (a ScanModelError) when the models do not load."""
        await self.pool.start()

    def scan_context(self, envelope: Envelope) -> ScanContext:
        """Who sends and receives, and what is the organisation's own: not counted as personal data."""
        scan = self.config.scan
        return ScanContext(
            sender=envelope.mail_from,
            recipients=tuple(envelope.rcpt_tos),
            internal_domains=tuple(self.config.organization.internal_domains),
            own_phone_numbers=tuple(scan.own_phone_numbers),
            own_addresses=tuple(scan.own_addresses),
        )

    def close(self) -> None:
        if self._owns_pool:
            self.pool.close_sync()
        if self._owns_history:
            self.history.close()
