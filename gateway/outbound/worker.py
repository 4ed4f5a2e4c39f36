"""The delivery worker: takes due messages from the outbound queue and delivers them.

For each claimed message: route every pending recipient (smarthost, or MX per domain), deliver one
transaction per next hop, record per-recipient results, then

- some recipients still temporary → back on the outbound queue, due at the next retry;
- lifetime over → the remaining temporary recipients fail ("gave up after N days");
- all done → if anything failed, ONE notice (DSN) to the sender is queued *before* the message is
  finished, so a crash in between repeats work (a duplicate) but never loses the notice.

Crash-safety is at-least-once: results are stored only when the message is moved or finished; a crash
before that delivers again (duplicates allowed, losses not). An exception escaping `handle` counts a
failure on the message (queue_runner): retried after a wait, shunted for a human at the limit.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import dns.asyncresolver

from gateway.config import Config, RelayConfig, WorkerConfig
from gateway.dnsresolver import make_resolver
from gateway.hold.store import HoldStore
from gateway.hold.transitions import delivered
from gateway.logsetup import mask_address
from gateway.message import QueuedMessage, too_many_hops
from gateway.metrics import DELIVERY_SECONDS
from gateway.outbound import retry
from gateway.outbound.client import Outcome, RcptResult, SmtpClient, temporary
from gateway.outbound.dsn import build_dsn, failures_of, wants_notice
from gateway.outbound.nexthop import NextHop, NextHopResolver, RouteError, recipient_domain
from gateway.queue_runner import OnShunt, QueueRunner
from gateway.recipients.contacts import ContactBook
from gateway.recipients.history import RecipientHistory
from gateway.recipients.recorder import HistoryRecorder
from gateway.store.base import Lease, Queue, Store, StoreError

log = logging.getLogger(__name__)


class DeliveryWorker(QueueRunner):
    def __init__(
        self,
        store: Store,
        relay: RelayConfig,
        worker: WorkerConfig,
        resolver: dns.asyncresolver.Resolver | None = None,
        *,
        postmaster: str,
        max_received_headers: int,
        clock: Callable[[], float] = time.time,
        history: RecipientHistory | None = None,
        holds: HoldStore | None = None,
        contacts: ContactBook | None = None,
        on_shunt: OnShunt | None = None,
    ) -> None:
        self.relay = relay
        self.postmaster = postmaster  # the From: of delivery-status notices
        self.max_received_headers = max_received_headers
        self.recorder = HistoryRecorder(history, contacts=contacts) if history is not None else None
        self.holds = holds
        super().__init__(
            store,
            Queue.OUTBOUND,
            concurrency=relay.concurrency,
            lease_seconds=worker.lease_seconds,
            poll_interval=worker.poll_interval,
            shutdown_seconds=worker.shutdown_seconds,
            max_failures=worker.max_failures,
            failure_delay=worker.failure_delay,
            on_shunt=on_shunt,
        )
        self.clock = clock
        if resolver is None and not relay.smarthost:
            resolver = make_resolver(relay.dns_nameservers, relay.dns_port, relay.dns_timeout)
        self.router = NextHopResolver(relay, resolver)
        self.client = SmtpClient(relay)

    @classmethod
    def from_config(
        cls, store: Store, config: Config, resolver: dns.asyncresolver.Resolver | None = None, **kwargs: Any
    ) -> DeliveryWorker:
        """The worker as a node builds it from its own sections of config.yaml."""
        return cls(
            store,
            config.relay,
            config.worker,
            resolver,
            postmaster=config.postmaster,
            max_received_headers=config.smtp.max_received_headers,
            **kwargs,
        )

    async def run(self, stop: asyncio.Event) -> None:
        try:
            await super().run(stop)
        finally:
            await self.close()

    async def run_once(self) -> int:
        handled = await super().run_once()
        if self.recorder is not None:
            await self.recorder.drain()
        return handled

    async def close(self) -> None:
        """Close pooled connections (QUIT); write the recipient history still waiting."""
        await self.client.close()
        if self.recorder is not None:
            await self.recorder.drain()

    # -- one message -----------------------------------------------------------------------------

    async def handle(self, lease: Lease) -> None:
        message = lease.message
        try:
            raw = lease.raw if lease.raw is not None else await asyncio.to_thread(self.store.raw, message.id)
        except KeyError:
            # Never drop: a message without its bytes goes to a human.
            message.shunt_reason = "outbound: raw message missing from the store"
            log.error("delivery %s: raw message missing, shunted", message.id)
            await asyncio.to_thread(self.store.move, lease, Queue.SHUNT, message)
            return

        pending = list(message.pending)
        if not pending and not message.delivered and not message.failed:
            pending = list(message.envelope.rcpt_tos)  # queued without per-recipient state
        results: dict[str, RcptResult] = {}
        if pending:
            results = await self._attempt(message, raw, pending)
        now = self.clock()
        already = set(message.delivered)
        self._record(message, pending, results, now)
        self._log(message, results)
        self._remember(message, [r for r in message.delivered if r not in already], now)

        if not message.pending:
            DELIVERY_SECONDS.observe(max(0.0, now - message.received_at))
            await self._close_hold(message, now)
        if message.pending:
            due = retry.next_attempt_at(message.received_at, message.attempts, now, self.relay.retry)
            if not await asyncio.to_thread(self.store.move, lease, Queue.OUTBOUND, message, due_at=due):
                log.warning("delivery %s: lease lost before deferral; another worker has it", message.id)
            return
        await self._complete(lease, message, raw, now)

    def _remember(self, message: QueuedMessage, delivered: list[str], now: float) -> None:
        """Recipient history learns only from mail actually delivered (first-time recipient signals)."""
        if self.recorder is None or not delivered or message.is_notice or message.envelope.is_null_sender:
            return
        self.recorder.add(message.envelope.mail_from, delivered, now, message.lesson)

    async def _close_hold(self, message: QueuedMessage, now: float) -> None:
        """A message that was held and released ends its hold's story as delivered."""
        if self.holds is None or message.is_notice or not message.released:
            return
        decide = delivered(now, len(message.delivered), len(message.failed))
        try:
            hold = await asyncio.to_thread(self.holds.get, message.id)
            if hold is not None:
                await asyncio.to_thread(self.holds.update, message.id, decide)
        except Exception as e:  # the audit trail is not worth a re-delivery
            log.warning("delivery %s: hold record not marked delivered: %s", message.id, type(e).__name__)

    async def _attempt(self, message: QueuedMessage, raw: bytes, rcpts: list[str]) -> dict[str, RcptResult]:
        limit = self.max_received_headers
        if too_many_hops(raw, limit):
            loop = RcptResult(Outcome.PERMANENT, 554, "5.4.6", f"mail loop: more than {limit} Received headers")
            return dict.fromkeys(rcpts, loop)

        results: dict[str, RcptResult] = {}
        domains = sorted({recipient_domain(r) for r in rcpts})
        routes: list[list[NextHop] | BaseException]
        if len(domains) == 1:  # most messages: awaited as gather would give it, without a task for it
            try:
                routes = [await self.router.route(domains[0])]
            except Exception as e:
                routes = [e]
        else:
            routes = await asyncio.gather(*(self.router.route(d) for d in domains), return_exceptions=True)
        by_domain = dict(zip(domains, routes, strict=True))
        groups: dict[tuple[NextHop, ...], list[str]] = {}
        for rcpt in rcpts:
            route = by_domain[recipient_domain(rcpt)]
            if isinstance(route, RouteError):
                outcome = Outcome.PERMANENT if route.permanent else Outcome.TEMPORARY
                results[rcpt] = RcptResult(outcome, route.code, route.status, route.text)
            elif isinstance(route, BaseException):
                raise route
            else:
                groups.setdefault(tuple(route), []).append(rcpt)
        # A bound on one attempt (the heartbeat keeps the lease meanwhile): a next hop that never
        # answers must not hold the message, and a slot, for ever.
        deadline = asyncio.get_running_loop().time() + self.relay.attempt_seconds
        for hops, group in groups.items():
            try:
                async with asyncio.timeout_at(deadline):
                    results.update(await self.client.deliver(list(hops), message.envelope.mail_from, group, raw))
            except TimeoutError:
                budget = temporary("4.4.1", "delivery attempt ran out of time", hops[0].key if hops else "")
                results.update((r, budget) for r in group if r not in results)
        for rcpt in rcpts:  # every recipient ends with a result, whatever happened above
            if rcpt not in results:
                results[rcpt] = temporary("4.4.0", "no result from the delivery attempt")
        return results

    def _record(self, message: QueuedMessage, pending: list[str], results: dict[str, RcptResult], now: float) -> None:
        if results:
            message.attempts += 1
        delivered = list(message.delivered)
        still: list[str] = []
        for rcpt in pending:
            result = results[rcpt]
            if result.outcome is Outcome.DELIVERED:
                if rcpt not in delivered:
                    delivered.append(rcpt)
            elif result.outcome is Outcome.PERMANENT:
                message.failed[rcpt] = result.describe
            else:
                still.append(rcpt)
        message.delivered = tuple(delivered)
        message.pending = tuple(still)
        if still:
            message.deferred_reason = results[still[0]].describe[:500]
        relay_retry = self.relay.retry
        if still and retry.expired(message.received_at, now, relay_retry):
            gave_up = f"gave up after {retry.lifetime_text(relay_retry)}"
            for rcpt in still:
                last = results[rcpt]
                message.failed[rcpt] = f"{last.code} 4.4.7 {gave_up}; last error: {last.status} {last.text}"
            message.pending = ()
            message.deferred_reason = gave_up

    async def _complete(self, lease: Lease, message: QueuedMessage, raw: bytes, now: float) -> None:
        if message.failed and wants_notice(message):
            notice, body = build_dsn(
                message,
                raw,
                failures_of(message),
                postmaster=self.postmaster,
                reporting_mta=self.relay.helo_name,
                now=now,
            )
            try:
                await asyncio.to_thread(self.store.accept, [(notice, body)], Queue.OUTBOUND)
            except StoreError as e:
                # Keep the results (nothing pending) so the retry writes the notice without delivering again.
                log.warning("delivery %s: could not queue the notice (%s); will retry", message.id, e)
                due = now + retry.backoff(1, self.relay.retry)
                await asyncio.to_thread(self.store.move, lease, Queue.OUTBOUND, message, due_at=due)
                return
            log.info(
                "delivery %s: notice %s queued for %d failed recipient(s)", message.id, notice.id, len(message.failed)
            )
        elif message.failed:
            log.info(
                "delivery %s: %d failed recipient(s), no notice (null sender or a notice itself)",
                message.id,
                len(message.failed),
            )
        if not await asyncio.to_thread(self.store.finish, lease):
            log.warning("delivery %s: lease lost before finishing; another worker has it", message.id)

    def _log(self, message: QueuedMessage, results: dict[str, RcptResult]) -> None:
        if not log.isEnabledFor(logging.INFO):  # its counts and lists are made for the log line alone
            return
        outcomes = Counter(r.outcome for r in results.values())
        hops = sorted({r.hop for r in results.values() if r.hop}) or ["-"]
        codes = sorted({f"{r.code} {r.status}" for r in results.values()})
        log.info(
            "delivery %s: attempt %d, %d delivered, %d deferred, %d failed via %s [%s]%s",
            message.id,
            message.attempts,
            outcomes[Outcome.DELIVERED],
            outcomes[Outcome.TEMPORARY],
            outcomes[Outcome.PERMANENT],
            ",".join(hops),
            "; ".join(codes),
            " (notice)" if message.is_notice else "",
        )
        for rcpt, result in results.items():
            if result.outcome is not Outcome.DELIVERED:
                log.debug("delivery %s: %s %d %s", message.id, mask_address(rcpt), result.code, result.status)
