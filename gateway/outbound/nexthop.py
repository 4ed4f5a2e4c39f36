"""Where to send mail for a recipient domain: the smarthost, or the domain's MX hosts.

MX hosts are tried lowest preference first (random order among equal preferences, RFC 5321 5.1).
A null MX (RFC 7505) or a domain that does not exist fails permanently; a DNS server that does not
answer fails temporarily, so the message is retried rather than bounced (fail closed: never give up
on mail because of a transient outage)."""

from __future__ import annotations

import asyncio
import ipaddress
import random
from collections.abc import Sequence
from dataclasses import dataclass

import dns.asyncresolver
import dns.exception
import dns.name
import dns.rdatatype
import dns.resolver

from gateway.config import RelayConfig, parse_host_port

# Postfix's smtp_mx_address_limit: do not walk an endless list of addresses for one message.
MAX_ADDRESSES = 10


@dataclass(frozen=True)
class NextHop:
    """One server to try. `host` is the name (TLS server name, logs); `address` what to connect to."""

    host: str
    address: str
    port: int
    smarthost: bool = False

    @property
    def key(self) -> str:
        """The connection pool key: where the socket goes."""
        return f"[{self.address}]:{self.port}" if ":" in self.address else f"{self.address}:{self.port}"


class RouteError(Exception):
    """No usable next hop for a domain. `permanent` decides bounce (5xx) or retry (4xx)."""

    def __init__(self, code: int, status: str, text: str) -> None:
        super().__init__(f"{code} {status} {text}")
        self.code = code
        self.status = status
        self.text = text

    @property
    def permanent(self) -> bool:
        return self.code >= 500


def recipient_domain(address: str) -> str:
    return address.rpartition("@")[2].lower().rstrip(".")


def order_mx(records: Sequence[tuple[int, str]], rng: random.Random | None = None) -> list[str]:
    """MX exchanges lowest preference first, shuffled among equal preferences, duplicates removed."""
    rng = rng or random.SystemRandom()
    by_pref: dict[int, list[str]] = {}
    for pref, host in records:
        by_pref.setdefault(pref, []).append(host)
    ordered: list[str] = []
    for pref in sorted(by_pref):
        hosts = by_pref[pref]
        rng.shuffle(hosts)
        ordered.extend(h for h in hosts if h not in ordered)
    return ordered


class NextHopResolver:
    def __init__(self, relay: RelayConfig, resolver: dns.asyncresolver.Resolver | None) -> None:
        self.relay = relay
        self.resolver = resolver
        self.smarthost: NextHop | None = None
        if relay.smarthost:
            host, port = parse_host_port(relay.smarthost)
            self.smarthost = NextHop(host=host, address=host, port=port, smarthost=True)

    async def route(self, domain: str) -> list[NextHop]:
        """Next hops for `domain`, in the order to try them. Raises RouteError."""
        if self.smarthost is not None:
            return [self.smarthost]
        literal = _address_literal(domain)
        if literal is not None:
            return [NextHop(host=literal, address=literal, port=self.relay.mx_port)]
        if not domain or self.resolver is None:
            raise RouteError(550, "5.1.2", "bad destination domain")
        try:
            name = dns.name.from_text(domain)
        except (dns.exception.DNSException, UnicodeError):
            raise RouteError(550, "5.1.2", "bad destination domain") from None

        hosts = await self._mx_hosts(name)
        if hosts is None:  # no MX at all: the domain itself is the implicit MX (RFC 5321 5.1)
            addresses = await self._addresses(name)
            if not addresses:
                raise RouteError(550, "5.4.4", "domain has no MX and no address records")
            return [NextHop(host=domain, address=a, port=self.relay.mx_port) for a in addresses][:MAX_ADDRESSES]

        hops: list[NextHop] = []
        lookups = await asyncio.gather(*(self._addresses(h) for h in hosts), return_exceptions=True)
        transient = False
        for host, found in zip(hosts, lookups, strict=True):
            if isinstance(found, BaseException):
                if not isinstance(found, RouteError):
                    raise found
                transient = True
                continue
            hops.extend(
                NextHop(host=host.to_text(omit_final_dot=True), address=a, port=self.relay.mx_port) for a in found
            )
        if not hops:
            if transient:
                raise RouteError(451, "4.4.3", "could not resolve the MX hosts (DNS)")
            raise RouteError(451, "4.4.4", "no MX host has an address")
        return hops[:MAX_ADDRESSES]

    async def _mx_hosts(self, name: dns.name.Name) -> list[dns.name.Name] | None:
        """The MX exchanges in order, or None when the domain exists but has no MX records."""
        assert self.resolver is not None
        try:
            answer = await self.resolver.resolve(name, "MX", search=False)
        except dns.resolver.NXDOMAIN:
            raise RouteError(550, "5.1.2", "domain does not exist") from None
        except dns.resolver.NoAnswer:
            return None
        except dns.exception.DNSException:  # timeout, SERVFAIL (NoNameservers), ...
            raise RouteError(451, "4.4.3", "DNS lookup of the MX records failed") from None
        records = [(r.preference, r.exchange) for r in answer]
        if any(exchange == dns.name.root for _, exchange in records):
            # RFC 7505: a null MX means the domain accepts no mail at all.
            raise RouteError(556, "5.1.10", "domain does not accept mail (null MX)")
        ordered = order_mx([(p, e.to_text()) for p, e in records])
        return [dns.name.from_text(h) for h in ordered]

    async def _addresses(self, name: dns.name.Name) -> list[str]:
        """A and AAAA addresses of `name` (IPv4 first: more often reachable here)."""
        assert self.resolver is not None
        results = await asyncio.gather(self._lookup(name, "A"), self._lookup(name, "AAAA"), return_exceptions=True)
        addresses: list[str] = []
        failure: BaseException | None = None
        for r in results:
            if isinstance(r, BaseException):
                failure = r
            else:
                addresses.extend(r)
        if addresses:
            return addresses
        if failure is not None:
            raise failure
        return []

    async def _lookup(self, name: dns.name.Name, rdtype: str) -> list[str]:
        assert self.resolver is not None
        try:
            answer = await self.resolver.resolve(name, rdtype, search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except dns.exception.DNSException:
            raise RouteError(451, "4.4.3", f"DNS lookup of {rdtype} records failed") from None
        return [r.to_text() for r in answer]


def _address_literal(domain: str) -> str | None:
    """'[192.0.2.1]' or '[IPv6:2001:db8::1]' (RFC 5321 address literals) -> the address."""
    if not (domain.startswith("[") and domain.endswith("]")):
        return None
    inner = domain[1:-1]
    if inner.lower().startswith("ipv6:"):
        inner = inner[5:]
    try:
        return str(ipaddress.ip_address(inner))
    except ValueError:
        raise RouteError(550, "5.1.2", "bad address literal") from None
