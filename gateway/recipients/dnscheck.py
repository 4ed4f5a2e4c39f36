"""Does a recipient domain exist and accept mail? MX, else A/AAAA (implicit MX, RFC 5321 5.1).

NXDOMAIN and a null MX (RFC 7505: a single `MX 0 .`) are signals; a domain with neither MX nor
address records is "no-mail". A timeout or server failure is "unknown", never a hard failure: the
rules decide what an unknown means. Answers are cached (positive, negative and failed separately)
and concurrent look-ups of one domain share one query.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from enum import StrEnum

import dns.asyncresolver
import dns.exception
import dns.name
import dns.rdatatype
import dns.resolver

from gateway.config.recipients import DnsCheckConfig
from gateway.dnsresolver import make_resolver
from gateway.recipients.model import DnsStatus

log = logging.getLogger(__name__)


class _Answer(StrEnum):
    RECORDS = "records"
    NODATA = "nodata"
    NXDOMAIN = "nxdomain"
    FAILED = "failed"


class DomainChecker:
    def __init__(self, config: DnsCheckConfig, resolver: dns.asyncresolver.Resolver | None = None) -> None:
        self.config = config
        self.resolver = resolver or make_resolver(config.nameservers or None, config.port, config.timeout)
        self._cache: OrderedDict[str, tuple[DnsStatus, float]] = OrderedDict()
        self._inflight: dict[str, asyncio.Future[DnsStatus]] = {}
        self._limit: asyncio.Semaphore | None = None
        self.lookups = 0  # queries actually made (for benchmarks and tests)

    def cached(self, domain: str, now: float | None = None) -> DnsStatus | None:
        hit = self._cache.get(domain)
        if hit is None:
            return None
        status, expires = hit
        if expires < (time.monotonic() if now is None else now):
            del self._cache[domain]
            return None
        self._cache.move_to_end(domain)
        return status

    async def check(self, domain: str) -> DnsStatus:
        status = self.cached(domain)
        if status is not None:
            return status
        pending = self._inflight.get(domain)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[DnsStatus] = asyncio.get_running_loop().create_future()
        self._inflight[domain] = future
        try:
            status = await self._lookup(domain)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception:  # never let DNS break the assessment
            log.exception("DNS check of %s failed", domain)
            status = DnsStatus.UNKNOWN
        finally:
            self._inflight.pop(domain, None)
        future.set_result(status)
        self._remember(domain, status)
        return status

    async def check_many(self, domains: list[str]) -> dict[str, DnsStatus]:
        unique = list(dict.fromkeys(domains))
        results = await asyncio.gather(*(self.check(d) for d in unique))
        return dict(zip(unique, results, strict=True))

    def _remember(self, domain: str, status: DnsStatus) -> None:
        ttl = {
            DnsStatus.EXISTS: self.config.cache_ttl,
            DnsStatus.UNKNOWN: self.config.unknown_cache_ttl,
        }.get(status, self.config.negative_cache_ttl)
        if ttl <= 0:
            return
        self._cache[domain] = (status, time.monotonic() + ttl)
        self._cache.move_to_end(domain)
        while len(self._cache) > self.config.cache_size:
            self._cache.popitem(last=False)

    async def _query(self, domain: str, rtype: str) -> tuple[_Answer, list[object]]:
        if self._limit is None:
            self._limit = asyncio.Semaphore(self.config.max_concurrent)
        async with self._limit:
            self.lookups += 1
            try:
                answer = await self.resolver.resolve(
                    dns.name.from_text(domain), rtype, raise_on_no_answer=False, search=False
                )
            except dns.resolver.NXDOMAIN:
                return _Answer.NXDOMAIN, []
            except (dns.exception.Timeout, dns.resolver.NoNameservers, dns.exception.DNSException) as e:
                log.info("DNS %s %s: %s", rtype, domain, e.__class__.__name__)
                return _Answer.FAILED, []
        if answer.rrset is None:
            return _Answer.NODATA, []
        return _Answer.RECORDS, list(answer.rrset)

    async def _lookup(self, domain: str) -> DnsStatus:
        kind, records = await self._query(domain, "MX")
        if kind is _Answer.NXDOMAIN:
            return DnsStatus.NXDOMAIN
        if kind is _Answer.FAILED:
            return DnsStatus.UNKNOWN
        if kind is _Answer.RECORDS:
            exchanges = [getattr(r, "exchange", None) for r in records]
            if exchanges and all(x == dns.name.root for x in exchanges):
                return DnsStatus.NO_MAIL  # null MX: "this domain accepts no mail"
            return DnsStatus.EXISTS
        (a_kind, _), (aaaa_kind, _) = await asyncio.gather(self._query(domain, "A"), self._query(domain, "AAAA"))
        kinds = {a_kind, aaaa_kind}
        if _Answer.RECORDS in kinds:
            return DnsStatus.EXISTS
        if _Answer.FAILED in kinds:
            return DnsStatus.UNKNOWN
        if _Answer.NXDOMAIN in kinds:
            return DnsStatus.NXDOMAIN
        return DnsStatus.NO_MAIL
