"""Recipient-domain DNS checks against the loopback DNS stub (no public DNS), including time-outs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from gateway.config.recipients import DnsCheckConfig, RecipientsConfig
from gateway.dnsresolver import make_resolver
from gateway.message import Envelope
from gateway.recipients.assess import RecipientContext, assess_recipients
from gateway.recipients.dnscheck import DnsStatus, DomainChecker
from tests.support.dnsstub import DnsStub

ZONE = {
    ("mx.example", "MX"): ["10 mx1.mx.example.", "20 mx2.mx.example."],
    ("nullmx.example", "MX"): ["0 ."],
    ("a-only.example", "A"): ["192.0.2.1"],
    ("aaaa-only.example", "AAAA"): ["2001:db8::1"],
    ("sakura-shoji.co.jp", "MX"): ["10 mx.sakura-shoji.co.jp."],
    ("example.co.jp", "MX"): ["10 mx.example.co.jp."],
}
NXDOMAIN = {"gone.example", "sakura-shoj1.co.jp"}
SILENT = {"slow.example"}
TIMEOUT = 0.3


@pytest.fixture
async def stub() -> AsyncIterator[DnsStub]:
    async with DnsStub(ZONE, nxdomain=NXDOMAIN, silent=SILENT) as s:
        yield s


def checker_for(stub: DnsStub, **kw: object) -> DomainChecker:
    cfg = DnsCheckConfig.model_validate({"timeout": TIMEOUT, **kw})
    return DomainChecker(cfg, make_resolver(["127.0.0.1"], stub.port, timeout=TIMEOUT))


CASES = [
    ("mx.example", DnsStatus.EXISTS),
    ("nullmx.example", DnsStatus.NO_MAIL),
    ("a-only.example", DnsStatus.EXISTS),
    ("aaaa-only.example", DnsStatus.EXISTS),
    ("nothing.example", DnsStatus.NO_MAIL),  # NODATA for MX, A and AAAA
    ("gone.example", DnsStatus.NXDOMAIN),
    ("slow.example", DnsStatus.UNKNOWN),  # no answer: time-out
]


@pytest.mark.parametrize(("domain", "status"), CASES)
async def test_domain_status(stub: DnsStub, domain: str, status: DnsStatus) -> None:
    assert await checker_for(stub).check(domain) is status


async def test_answers_are_cached(stub: DnsStub) -> None:
    checker = checker_for(stub)
    for _ in range(3):
        assert await checker.check("mx.example") is DnsStatus.EXISTS
        assert await checker.check("gone.example") is DnsStatus.NXDOMAIN
        assert await checker.check("slow.example") is DnsStatus.UNKNOWN
    assert stub.queries[("mx.example.", "MX")] == 1
    assert stub.queries[("gone.example.", "MX")] == 1
    assert checker.cached("mx.example") is DnsStatus.EXISTS


async def test_cache_can_be_off(stub: DnsStub) -> None:
    checker = checker_for(stub, negative_cache_ttl=0)
    await checker.check("gone.example")
    await checker.check("gone.example")
    assert stub.queries[("gone.example.", "MX")] == 2


async def test_cache_is_bounded(stub: DnsStub) -> None:
    checker = checker_for(stub, cache_size=2)
    for d in ("mx.example", "a-only.example", "gone.example"):
        await checker.check(d)
    assert checker.cached("mx.example") is None
    assert checker.cached("gone.example") is DnsStatus.NXDOMAIN


async def test_concurrent_checks_share_one_query(stub: DnsStub) -> None:
    checker = checker_for(stub)
    results = await asyncio.gather(*(checker.check("mx.example") for _ in range(10)))
    assert set(results) == {DnsStatus.EXISTS}
    assert stub.queries[("mx.example.", "MX")] == 1


async def test_no_resolver_listening_is_unknown() -> None:
    async with DnsStub({}) as s:
        port = s.port
    checker = DomainChecker(DnsCheckConfig(timeout=TIMEOUT), make_resolver(["127.0.0.1"], port, timeout=TIMEOUT))
    assert await checker.check("mx.example") is DnsStatus.UNKNOWN


async def test_assessment_with_dns(stub: DnsStub) -> None:
    cfg = RecipientsConfig.model_validate(
        {"partners": [{"name": "さくら商事", "domains": ["sakura-shoji.co.jp"]}], "dns": {"timeout": TIMEOUT}}
    )
    ctx = RecipientContext.create(cfg, ["example.co.jp"], resolver=make_resolver(["127.0.0.1"], stub.port, TIMEOUT))
    env = Envelope(
        "taro@example.co.jp",
        (
            "a@sakura-shoji.co.jp",
            "b@sakura-shoj1.co.jp",
            "c@nullmx.example",
            "d@slow.example",
            "boss@example.co.jp",
        ),
    )
    result = await assess_recipients(env, None, ctx)
    got = {r.address: (r.dns.value, [s for s in r.signals if s.startswith("dns_")]) for r in result.recipients}
    assert got == {
        "a@sakura-shoji.co.jp": ("exists", []),
        "b@sakura-shoj1.co.jp": ("nxdomain", ["dns_nxdomain"]),
        "c@nullmx.example": ("no-mail", ["dns_no_mail"]),
        "d@slow.example": ("unknown", ["dns_unknown"]),
        "boss@example.co.jp": ("not-checked", []),  # internal domains are not checked by default
    }
    lookalike = result.recipients[1]
    assert lookalike.lookalike_of == "sakura-shoji.co.jp"
    assert ("example.co.jp.", "MX") not in stub.queries


async def test_dns_off_asks_nothing(stub: DnsStub) -> None:
    cfg = RecipientsConfig.model_validate({"dns": {"enabled": False}})
    ctx = RecipientContext.create(cfg, ["example.co.jp"], resolver=make_resolver(["127.0.0.1"], stub.port, TIMEOUT))
    result = await assess_recipients(Envelope("taro@example.co.jp", ("a@gone.example",)), None, ctx)
    assert result.recipients[0].dns is DnsStatus.NOT_CHECKED
    assert sum(stub.queries.values()) == 0
