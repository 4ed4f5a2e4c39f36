"""A tiny authoritative DNS server on loopback for tests (no public DNS here).

    zone = {("example.com.", "MX"): ["10 mx1.example.com.", "20 mx2.example.com."],
            ("mx1.example.com.", "A"): ["127.0.0.1"]}
    async with DnsStub(zone, nxdomain={"gone.example."}, silent={"slow.example."}) as stub:
        resolver = make_resolver(["127.0.0.1"], stub.port, timeout=0.5)

Names not in the zone answer NOERROR with no records (NODATA) unless listed in `nxdomain`;
names in `silent` get no answer at all (a timeout). `stub.queries` counts questions received.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, stub: DnsStub) -> None:
        self.stub = stub
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        reply = self.stub.answer(data)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)


class DnsStub:
    def __init__(
        self,
        zone: dict[tuple[str, str], list[str]],
        nxdomain: set[str] | None = None,
        silent: set[str] | None = None,
        ttl: int = 300,
    ) -> None:
        self.zone = {(name.lower().rstrip(".") + ".", rtype.upper()): v for (name, rtype), v in zone.items()}
        self.nxdomain = {n.lower().rstrip(".") + "." for n in (nxdomain or set())}
        self.silent = {n.lower().rstrip(".") + "." for n in (silent or set())}
        self.ttl = ttl
        self.queries: Counter[tuple[str, str]] = Counter()
        self.port = 0
        self._transport: asyncio.DatagramTransport | None = None

    def answer(self, data: bytes) -> bytes | None:
        query = dns.message.from_wire(data)
        question = query.question[0]
        name = question.name.to_text().lower()
        rtype = dns.rdatatype.to_text(question.rdtype)
        self.queries[(name, rtype)] += 1
        if name in self.silent:
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if name in self.nxdomain:
            response.set_rcode(dns.rcode.NXDOMAIN)
        else:
            records = self.zone.get((name, rtype), [])
            if records:
                response.answer.append(dns.rrset.from_text_list(name, self.ttl, dns.rdataclass.IN, rtype, records))
        return response.to_wire()

    async def __aenter__(self) -> DnsStub:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(self), local_addr=("127.0.0.1", 0))
        self._transport = transport
        self.port = transport.get_extra_info("sockname")[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._transport is not None:
            self._transport.close()
