"""Delivery by MX with the loopback DNS stub: preference order, fallback, implicit MX, null MX,
NXDOMAIN and DNS timeouts. MX host names resolve to loopback addresses; relay.mx_port is the sinks' port."""

from __future__ import annotations

import pytest

from gateway.dnsresolver import make_resolver
from gateway.outbound.nexthop import NextHopResolver, RouteError
from gateway.store.base import Queue, Store
from tests.integration.outbound.sinkserver import Sink
from tests.integration.outbound.test_outbound_delivery import (
    SENDER,
    enqueue,
    make_config,
    outbound,
    settle,
    status_blocks,
    worker_for,
)
from tests.support.dnsstub import DnsStub

ZONE = {
    ("partner.example", "MX"): ["20 mx-b.partner.example.", "10 mx-a.partner.example."],
    ("mx-a.partner.example", "A"): ["127.0.0.3"],
    ("mx-b.partner.example", "A"): ["127.0.0.1"],
    ("plain.example", "A"): ["127.0.0.1"],  # no MX: the domain itself is the implicit MX
    ("nomail.example", "MX"): ["0 ."],  # RFC 7505 null MX
    ("example.co.jp", "MX"): ["10 mx.example.co.jp."],  # where notices to the sender go
    ("mx.example.co.jp", "A"): ["127.0.0.1"],
}


async def test_lowest_preference_first_then_fallback(outbound_store: Store) -> None:
    async with Sink("127.0.0.1") as backup, Sink("127.0.0.3", backup.port) as primary, DnsStub(ZONE) as stub:
        resolver = make_resolver(["127.0.0.1"], stub.port, timeout=2)
        worker = worker_for(outbound_store, make_config(None, mx_port=backup.port), resolver=resolver)
        enqueue(outbound_store, ["partner@partner.example"])
        await settle(worker)
        assert [m.rcpt_tos for m in primary.messages] == [("partner@partner.example",)]
        assert backup.messages == []

        await worker.close()  # no pooled connection left to the preferred MX
        await primary.__aexit__(None, None, None)  # and it goes away
        worker = worker_for(outbound_store, make_config(None, mx_port=backup.port), resolver=resolver)
        enqueue(outbound_store, ["other@partner.example"])
        await settle(worker)
        await worker.close()
    assert [m.rcpt_tos for m in backup.messages] == [("other@partner.example",)]
    assert outbound(outbound_store) == 0


async def test_no_mx_falls_back_to_address_records(outbound_store: Store) -> None:
    async with Sink() as sink, DnsStub(ZONE) as stub:
        resolver = make_resolver(["127.0.0.1"], stub.port, timeout=2)
        worker = worker_for(outbound_store, make_config(None, mx_port=sink.port), resolver=resolver)
        enqueue(outbound_store, ["someone@plain.example", "partner@partner.example"])
        await settle(worker)
        await worker.close()
    # Two domains, two routes, both ending at this sink (partner.example via its backup MX).
    assert sorted(r for m in sink.messages for r in m.rcpt_tos) == ["partner@partner.example", "someone@plain.example"]
    assert stub.queries[("plain.example.", "A")] >= 1


@pytest.mark.parametrize(
    ("rcpt", "status"),
    [("user@nomail.example", "5.1.10"), ("user@gone.example", "5.1.2")],
)
async def test_null_mx_and_nxdomain_fail_permanently(outbound_store: Store, rcpt: str, status: str) -> None:
    async with Sink() as sink, DnsStub(ZONE, nxdomain={"gone.example"}) as stub:
        resolver = make_resolver(["127.0.0.1"], stub.port, timeout=2)
        worker = worker_for(outbound_store, make_config(None, mx_port=sink.port), resolver=resolver)
        enqueue(outbound_store, [rcpt])
        await settle(worker)
        await worker.close()
    (notice,) = sink.messages
    assert notice.mail_from == "" and notice.rcpt_tos == (SENDER,)
    (block,) = status_blocks(notice)
    assert block["Final-Recipient"] == f"rfc822; {rcpt}"
    assert block["Status"] == status
    assert outbound(outbound_store) == 0


async def test_dns_timeout_is_temporary(outbound_store: Store) -> None:
    async with Sink() as sink, DnsStub(ZONE, silent={"slow.example"}) as stub:
        resolver = make_resolver(["127.0.0.1"], stub.port, timeout=0.3)
        worker = worker_for(outbound_store, make_config(None, mx_port=sink.port), resolver=resolver)
        queued = enqueue(outbound_store, ["user@slow.example"])
        assert await worker.run_once() == 1
        await worker.close()
    found = outbound_store.get(queued.id)
    assert found is not None
    queue, message = found
    assert queue is Queue.OUTBOUND
    assert message.pending == ("user@slow.example",)
    assert message.deferred_reason.startswith("451 4.4.3")
    assert sink.messages == []


async def test_resolver_routes() -> None:
    config = make_config(None, mx_port=2525)
    async with DnsStub(ZONE, nxdomain={"gone.example"}, silent={"slow.example"}) as stub:
        router = NextHopResolver(config.relay, make_resolver(["127.0.0.1"], stub.port, timeout=0.3))
        hops = await router.route("partner.example")
        assert [(h.host, h.address, h.port) for h in hops] == [
            ("mx-a.partner.example", "127.0.0.3", 2525),
            ("mx-b.partner.example", "127.0.0.1", 2525),
        ]
        assert [h.address for h in await router.route("[127.0.0.9]")] == ["127.0.0.9"]
        for domain, code, status in [
            ("nomail.example", 556, "5.1.10"),
            ("gone.example", 550, "5.1.2"),
            ("slow.example", 451, "4.4.3"),
            ("nothing.example", 550, "5.4.4"),  # exists (NODATA) but has neither MX nor addresses
        ]:
            with pytest.raises(RouteError) as caught:
                await router.route(domain)
            assert (caught.value.code, caught.value.status) == (code, status), domain
    smarthost = NextHopResolver(make_config("relay.example:587").relay, None)
    (hop,) = await smarthost.route("anything.example")
    assert (hop.host, hop.port, hop.smarthost) == ("relay.example", 587, True)
