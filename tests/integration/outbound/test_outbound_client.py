"""The SMTP client on its own: cancellation discards the connection, and the TLS policy is explicit
(opportunistic and unverified to an MX, strict to a smarthost)."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest

from gateway.outbound.client import Outcome, SmtpClient
from gateway.outbound.nexthop import NextHop
from tests.integration.outbound.sinkserver import Sink
from tests.integration.outbound.test_outbound_delivery import MESSAGE, SENDER, make_config

RCPT = "partner@partner.example"


def smarthost(port: int) -> NextHop:
    return NextHop(host="127.0.0.1", address="127.0.0.1", port=port, smarthost=True)


def mx(port: int) -> NextHop:
    return NextHop(host="mx.partner.example", address="127.0.0.1", port=port)


@pytest.fixture
def self_signed(tmp_path: Path) -> ssl.SSLContext:
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=sink.test",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


async def test_cancelled_transaction_discards_the_connection() -> None:
    async with Sink() as sink:
        client = SmtpClient(make_config(f"127.0.0.1:{sink.port}").relay)
        sink.hold_data = asyncio.Event()
        task = asyncio.create_task(client.deliver([smarthost(sink.port)], SENDER, [RCPT], MESSAGE))
        await sink.data_started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        sink.hold_data.set()
        sink.hold_data = None
        results = await client.deliver([smarthost(sink.port)], SENDER, [RCPT], MESSAGE)
        await client.close()
    assert results[RCPT].outcome is Outcome.DELIVERED
    assert sink.connections == 2  # the cancelled one was not reused


async def test_every_recipient_gets_its_own_result() -> None:
    async with Sink() as sink:
        sink.rcpt_replies = {
            "busy@partner.example": "452 4.2.2 Mailbox full",
            "gone@partner.example": "550 5.1.1 No such user",
        }
        client = SmtpClient(make_config(f"127.0.0.1:{sink.port}").relay)
        rcpts = [RCPT, "busy@partner.example", "gone@partner.example"]
        results = await client.deliver([smarthost(sink.port)], SENDER, rcpts, MESSAGE)
        await client.close()
    assert {r: (res.outcome, res.code, res.status) for r, res in results.items()} == {
        RCPT: (Outcome.DELIVERED, 250, "2.0.0"),
        "busy@partner.example": (Outcome.TEMPORARY, 452, "4.2.2"),
        "gone@partner.example": (Outcome.PERMANENT, 550, "5.1.1"),
    }
    assert results["gone@partner.example"].describe == "550 5.1.1 No such user"


async def test_all_recipients_refused_leaves_a_reusable_connection() -> None:
    async with Sink() as sink:
        sink.rcpt_replies = {"gone@partner.example": "550 5.1.1 No such user"}
        client = SmtpClient(make_config(f"127.0.0.1:{sink.port}").relay)
        first = await client.deliver([smarthost(sink.port)], SENDER, ["gone@partner.example"], MESSAGE)
        second = await client.deliver([smarthost(sink.port)], SENDER, [RCPT], MESSAGE)
        await client.close()
    assert first["gone@partner.example"].outcome is Outcome.PERMANENT
    assert second[RCPT].outcome is Outcome.DELIVERED
    assert sink.connections == 1


async def test_mx_uses_opportunistic_unverified_starttls(self_signed: ssl.SSLContext) -> None:
    async with Sink(tls_context=self_signed) as sink:
        client = SmtpClient(make_config(None, mx_port=sink.port).relay)
        results = await client.deliver([mx(sink.port)], SENDER, [RCPT], MESSAGE)
        await client.close()
    assert results[RCPT].outcome is Outcome.DELIVERED
    (got,) = sink.messages
    assert got.tls


async def test_smarthost_starttls_verifies_the_certificate(self_signed: ssl.SSLContext) -> None:
    async with Sink(tls_context=self_signed) as sink:
        relay = make_config(f"127.0.0.1:{sink.port}", smarthost_tls="starttls").relay
        client = SmtpClient(relay)
        results = await client.deliver([smarthost(sink.port)], SENDER, [RCPT], MESSAGE)
        await client.close()
    # An unverifiable smarthost certificate is never accepted, and never downgraded: retry later.
    assert results[RCPT].outcome is Outcome.TEMPORARY
    assert results[RCPT].status == "4.7.0"
    assert sink.messages == []


async def test_smarthost_without_starttls_when_required_is_temporary() -> None:
    async with Sink() as sink:
        relay = make_config(f"127.0.0.1:{sink.port}", smarthost_tls="starttls").relay
        client = SmtpClient(relay)
        results = await client.deliver([smarthost(sink.port)], SENDER, [RCPT], MESSAGE)
        await client.close()
    assert (results[RCPT].outcome, results[RCPT].status) == (Outcome.TEMPORARY, "4.7.4")
    assert sink.messages == []


async def test_smarthost_tls_none_never_starts_tls(self_signed: ssl.SSLContext) -> None:
    async with Sink(tls_context=self_signed) as sink:
        client = SmtpClient(make_config(f"127.0.0.1:{sink.port}").relay)
        results = await client.deliver([smarthost(sink.port)], SENDER, [RCPT], MESSAGE)
        await client.close()
    assert results[RCPT].outcome is Outcome.DELIVERED
    assert not sink.messages[0].tls


@pytest.mark.filterwarnings("ignore:Requiring AUTH")  # aiosmtpd: plain-text AUTH on loopback
async def test_smarthost_auth() -> None:
    async with Sink(credentials=("gw", "s3cret")) as sink:
        relay = make_config(f"127.0.0.1:{sink.port}", smarthost_username="gw", smarthost_password="s3cret").relay
        client = SmtpClient(relay)
        results = await client.deliver([smarthost(sink.port)], SENDER, [RCPT], MESSAGE)
        await client.close()
    assert results[RCPT].outcome is Outcome.DELIVERED
    assert sink.logins == [("gw", True)]


@pytest.mark.filterwarnings("ignore:Requiring AUTH")  # aiosmtpd: plain-text AUTH on loopback
async def test_smarthost_auth_refused_is_temporary() -> None:
    async with Sink(credentials=("gw", "s3cret")) as sink:
        relay = make_config(f"127.0.0.1:{sink.port}", smarthost_username="gw", smarthost_password="wrong").relay
        client = SmtpClient(relay)
        results = await client.deliver([smarthost(sink.port)], SENDER, [RCPT], MESSAGE)
        await client.close()
    # A misconfigured password must not bounce mail: keep it queued and retry.
    assert (results[RCPT].outcome, results[RCPT].status) == (Outcome.TEMPORARY, "4.7.0")
    assert sink.messages == []


async def test_a_pooled_connection_found_dead_at_mail_is_replaced_not_deferred() -> None:
    async with Sink() as sink:
        client = SmtpClient(make_config(f"127.0.0.1:{sink.port}").relay)
        first = await client.deliver([smarthost(sink.port)], SENDER, [RCPT], MESSAGE)
        sink.drop_mail = 1  # the pooled connection dies at its next MAIL, as after a server timeout
        second = await client.deliver([smarthost(sink.port)], SENDER, [RCPT], MESSAGE)
        await client.close()
    assert first[RCPT].outcome is Outcome.DELIVERED
    assert second[RCPT].outcome is Outcome.DELIVERED
    assert len(sink.messages) == 2  # exactly once each
    assert sink.connections == 2


async def test_a_pooled_connection_answering_421_at_mail_is_replaced() -> None:
    async with Sink() as sink:
        client = SmtpClient(make_config(f"127.0.0.1:{sink.port}").relay)
        await client.deliver([smarthost(sink.port)], SENDER, [RCPT], MESSAGE)
        replies = ["421 4.4.2 idle too long"]
        sink.mail_reply = lambda address: replies.pop() if replies else None
        second = await client.deliver([smarthost(sink.port)], SENDER, [RCPT], MESSAGE)
        await client.close()
    assert second[RCPT].outcome is Outcome.DELIVERED
    assert len(sink.messages) == 2
    assert sink.connections == 2


async def test_a_new_connection_dying_at_mail_is_a_temporary_failure() -> None:
    async with Sink() as sink:
        client = SmtpClient(make_config(f"127.0.0.1:{sink.port}").relay)
        sink.drop_mail = 1
        results = await client.deliver([smarthost(sink.port)], SENDER, [RCPT], MESSAGE)
        await client.close()
    assert results[RCPT].outcome is Outcome.TEMPORARY  # retried later by the queue, not in a loop here
    assert sink.messages == []
    assert sink.connections == 1


async def test_a_connection_idle_for_a_while_is_checked_with_rset(monkeypatch: pytest.MonkeyPatch) -> None:
    import gateway.outbound.client as client_module

    monkeypatch.setattr(client_module, "RSET_AFTER_IDLE_SECONDS", 0.0)
    async with Sink() as sink:
        client = SmtpClient(make_config(f"127.0.0.1:{sink.port}").relay)
        await client.deliver([smarthost(sink.port)], SENDER, [RCPT], MESSAGE)
        await asyncio.sleep(0.01)
        await client.deliver([smarthost(sink.port)], SENDER, [RCPT], MESSAGE)
        await client.close()
    assert sink.rsets == 1
    assert sink.connections == 1
    assert len(sink.messages) == 2
