"""One loop rule at receive and delivery, at the boundary: what the SMTP side accepts with the most
Received: headers allowed is delivered, not bounced by the gateway itself; one more is refused 554."""

from __future__ import annotations

import time

import aiosmtplib
import pytest

from gateway.config import Config
from gateway.message import Envelope, QueuedMessage, new_message_id, received_count
from gateway.outbound.worker import DeliveryWorker
from gateway.smtp.server import start_smtp_server
from gateway.store.base import Queue, Store
from tests.integration.outbound.sinkserver import Sink

LIMIT = 6
BODY = b"From: a@example.co.jp\r\nTo: p@partner.example\r\nSubject: hop\r\n\r\nReceived: in the body\r\n"
# Spellings a hop may use: every one counts the same at receive and at delivery.
HOPS = [
    b"Received: from a by b; Mon, 1 Jan 2024 00:00:00 +0000\r\n",
    b"RECEIVED : from c\r\n\tby d; Mon, 1 Jan 2024 00:00:00 +0000\r\n",
    b"received:from e by f\r\n",
    b"Received\t: from g\r\n by h\r\n",
]


def _hops(n: int) -> bytes:
    return b"".join(HOPS[i % len(HOPS)] for i in range(n))


@pytest.mark.parametrize("newline", [b"\r\n", b"\n"])
async def test_accepted_at_the_limit_is_delivered_one_more_is_refused(store: Store, newline: bytes) -> None:
    config = Config.model_validate(
        {
            "smtp": {"listen": "127.0.0.1:0", "hostname": "gw.test", "max_received_headers": LIMIT},
            "relay": {"helo_name": "gw.test"},
            "worker": {"lease_seconds": 60, "poll_interval": 0.05},
        }
    )

    async def accept(envelope: Envelope, raw: bytes) -> str:
        message = QueuedMessage(new_message_id(), envelope, time.time(), pending=envelope.rcpt_tos)
        store.accept([(message, raw)], Queue.OUTBOUND)  # straight to delivery: the loop rule is under test
        return message.id

    server = await start_smtp_server(config.smtp, accept)
    try:
        most = (_hops(LIMIT - 1) + BODY).replace(b"\r\n", newline)  # ours makes LIMIT
        await aiosmtplib.send(most, sender="a@example.co.jp", recipients=["p@partner.example"], port=server.port)
        with pytest.raises(aiosmtplib.SMTPDataError) as refused:
            await aiosmtplib.send(
                (_hops(LIMIT) + BODY).replace(b"\r\n", newline),
                sender="a@example.co.jp",
                recipients=["p@partner.example"],
                port=server.port,
            )
        assert refused.value.code == 554 and "5.4.6" in refused.value.message
    finally:
        await server.close(grace=1.0)

    async with Sink() as sink:
        relay = config.relay.model_copy(update={"smarthost": f"127.0.0.1:{sink.port}"})
        worker = DeliveryWorker.from_config(store, config.model_copy(update={"relay": relay}))
        assert await worker.run_once() == 1
        await worker.close()
    (got,) = sink.messages
    assert not got.is_notice  # delivered, not bounced as a loop
    assert received_count(got.data) == LIMIT
    assert store.counts()[Queue.OUTBOUND] == 0
