"""DATA over real loopback SMTP: the client's DATA (data_payload, without aiosmtplib's regex passes)
puts on the wire exactly the bytes stock aiosmtplib does, and the next hop gets the message unchanged."""

from __future__ import annotations

import asyncio
import base64
import random
from collections.abc import AsyncIterator

import aiosmtplib
import pytest

from gateway.outbound.client import Outcome, SmtpClient, _DeliverySMTP, data_payload
from gateway.outbound.nexthop import NextHop
from tests.integration.outbound.sinkserver import Sink
from tests.integration.outbound.test_outbound_delivery import SENDER, make_config

RCPT = "partner@partner.example"
ATTACHMENT = base64.encodebytes(random.Random(9).randbytes(300_000)).replace(b"\n", b"\r\n")
MESSAGES = [
    b"Subject: dots\r\n\r\n.leading\r\n..two\r\n.\r\nend\r\n",
    b".\r\n",
    b"",
    b"no final line ending",
    b"Subject: att\r\nContent-Transfer-Encoding: base64\r\n\r\n" + ATTACHMENT,
    "件名: テスト\r\n\r\n本文です。\r\n.句点\r\n".encode(),
    # Lone CR or LF: aiosmtplib's own path, still the same bytes.
    b"Subject: bare\n\n.dot after LF\r\nmixed\rCR\r\n",
]


class WireSink:
    """A raw SMTP listener that records the bytes between the 354 and the end of data."""

    def __init__(self) -> None:
        self.payloads: list[bytes] = []
        self.server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 wire.test ESMTP\r\n")
        while line := await reader.readline():
            verb = line[:4].upper()
            if verb == b"DATA":
                writer.write(b"354 go on\r\n")
                self.payloads.append(await reader.readuntil(b"\r\n.\r\n"))
                writer.write(b"250 2.0.0 ok\r\n")
            elif verb == b"QUIT":
                writer.write(b"221 bye\r\n")
                break
            elif verb == b"EHLO":
                writer.write(b"250-wire.test\r\n250 8BITMIME\r\n")
            else:
                writer.write(b"250 ok\r\n")
        writer.close()

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])


@pytest.fixture
async def wire() -> AsyncIterator[WireSink]:
    sink = WireSink()
    sink.server = await asyncio.start_server(sink.handle, "127.0.0.1", 0, limit=2**24)
    yield sink
    sink.server.close()
    await sink.server.wait_closed()


async def payload_sent_by(cls: type[aiosmtplib.SMTP], port: int, sink: WireSink, message: bytes) -> bytes:
    conn = cls(hostname="127.0.0.1", port=port, local_hostname="gw.test", start_tls=False, timeout=10)
    await conn.connect()
    await conn.ehlo()
    await conn.mail(SENDER)
    await conn.rcpt(RCPT)
    await conn.data(message)
    await conn.quit()
    return sink.payloads.pop()


async def test_the_wire_bytes_are_aiosmtplibs(wire: WireSink) -> None:
    rng = random.Random(11)
    pieces = [b"a", b".", b"\r\n", b"\r\n.", b"\xe3\x81\x82", b"\r\n..", b"\n", b"\r"]
    randoms = [b"".join(rng.choice(pieces) for _ in range(rng.randrange(0, 30))) for _ in range(60)]
    assert all(data_payload(m) is not None for m in MESSAGES[:-1])  # the fast path, but for the last
    for message in MESSAGES + randoms:
        stock = await payload_sent_by(aiosmtplib.SMTP, wire.port, wire, message)
        ours = await payload_sent_by(_DeliverySMTP, wire.port, wire, message)
        assert ours == stock, message


async def test_the_next_hop_gets_the_stored_message_unchanged() -> None:
    async with Sink() as sink:
        client = SmtpClient(make_config(f"127.0.0.1:{sink.port}").relay)
        hop = NextHop(host="127.0.0.1", address="127.0.0.1", port=sink.port, smarthost=True)
        sent = [m for m in MESSAGES if m.endswith(b"\r\n") and b"\n\n" not in m]  # CRLF throughout, as stored
        for message in sent:
            results = await client.deliver([hop], SENDER, [RCPT], message)
            assert results[RCPT].outcome is Outcome.DELIVERED
        await client.close()
    assert [got.data for got in sink.messages] == sent
