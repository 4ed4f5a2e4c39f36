"""The tools that learn the facts of a message: built once per node.

`Inspectors` holds the inspection worker pool (with the models), the list indexes, the recipient
history and the DNS client. What one message's inspection produced is `Facts` (facts.py).
"""

from __future__ import annotations

from gateway.config import Config
from gateway.dnsresolver import make_resolver
from gateway.inspection.pool import InspectPool
from gateway.message import Envelope
from gateway.recipients.assess import RecipientContext
from gateway.recipients.history import RecipientHistory
from gateway.recipients.history_backends import open_node_history
from gateway.scan.model import ScanContext


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
        self.history = history if history is not None else open_node_history(config.store.url, config.recipients)
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
