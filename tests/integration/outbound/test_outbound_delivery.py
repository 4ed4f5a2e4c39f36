"""Delivery end to end against real SMTP sinks on loopback, with both store backends.

Time is driven by the worker's clock: it runs an hour behind, so every deferral is already due at the
next `run_once` (no sleeps, no timed assertions)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import time
from collections.abc import Callable
from email.message import Message
from typing import Any

from gateway.config import Config
from gateway.message import Envelope, QueuedMessage, new_message_id
from gateway.outbound.worker import DeliveryWorker
from gateway.store.base import Queue, Store
from tests.integration.outbound.sinkserver import Got, Sink
from tests.support.net import free_port

SENDER = "taro@example.co.jp"
BODY_MARKER = "顧客番号一覧 SECRET-BODY-LINE"
MESSAGE = (
    "From: 山田 <taro@example.co.jp>\r\n"
    "To: partner@partner.example\r\n"
    "Subject: =?UTF-8?B?5pyI5qyh5aCx5ZGK?=\r\n"
    "Message-ID: <orig-1@example.co.jp>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=UTF-8\r\n"
    "\r\n"
    f"{BODY_MARKER}\r\n"
    ".leading dot line\r\n"
    "..two dots\r\n"
).encode()


def behind() -> float:
    return time.time() - 3600.0


def make_config(smarthost: str | None, **relay: Any) -> Config:
    data: dict[str, Any] = {
        "smarthost": smarthost,
        "helo_name": "gw.example.co.jp",
        "connect_timeout": 5,
        "command_timeout": 10,
        "concurrency": 4,
        "retry": {"initial": 1, "maximum": 1, "lifetime": 5 * 86400},
    }
    data.update(relay)
    return Config.model_validate(
        {
            "relay": data,
            "organization": {"internal_domains": ["example.co.jp"]},
            "worker": {"lease_seconds": 120, "poll_interval": 0.05},
        }
    )


def enqueue(
    store: Store,
    rcpts: list[str],
    *,
    sender: str = SENDER,
    raw: bytes = MESSAGE,
    received_at: float | None = None,
    is_notice: bool = False,
) -> QueuedMessage:
    message = QueuedMessage(
        id=new_message_id(),
        envelope=Envelope(sender, tuple(rcpts)),
        received_at=time.time() if received_at is None else received_at,
        pending=tuple(rcpts),
        is_notice=is_notice,
    )
    store.accept([(message, raw)], Queue.OUTBOUND)
    return message


async def settle(worker: DeliveryWorker, rounds: int = 20) -> None:
    """Run until nothing is due (deferrals come due at once: the worker's clock runs behind)."""
    for _ in range(rounds):
        if await worker.run_once() == 0:
            return


def outbound(store: Store) -> int:
    return store.counts()[Queue.OUTBOUND]


def status_blocks(notice: Got) -> list[dict[str, str]]:
    """The per-recipient blocks of a notice's message/delivery-status part."""
    message = email.message_from_bytes(notice.data, policy=email.policy.compat32)
    for part in message.walk():
        if part.get_content_type() == "message/delivery-status":
            payload = part.get_payload()
            assert isinstance(payload, list)
            return [dict(block.items()) for block in payload[1:] if isinstance(block, Message)]
    raise AssertionError("no message/delivery-status part")


def worker_for(store: Store, config: Config, **kwargs: Any) -> DeliveryWorker:
    return DeliveryWorker.from_config(store, config, clock=behind, **kwargs)


async def test_delivers_raw_bytes_via_smarthost(outbound_store: Store) -> None:
    async with Sink() as sink:
        worker = worker_for(outbound_store, make_config(f"127.0.0.1:{sink.port}"))
        enqueue(outbound_store, ["partner@partner.example", "boss@example.co.jp"])
        assert await worker.run_once() == 1
        await worker.close()
    (got,) = sink.messages
    assert got.mail_from == SENDER
    assert got.rcpt_tos == ("partner@partner.example", "boss@example.co.jp")
    assert got.data == MESSAGE  # dot-stuffing undone by the sink: byte for byte what was queued
    assert outbound(outbound_store) == 0


async def test_delivery_time_is_measured_for_metrics(outbound_store: Store) -> None:
    from gateway.metrics import registry

    def observed() -> float:
        return registry().get_sample_value("gateway_delivery_seconds_count") or 0.0

    before = observed()
    async with Sink() as sink:
        worker = worker_for(outbound_store, make_config(f"127.0.0.1:{sink.port}"))
        enqueue(outbound_store, ["partner@partner.example"])
        assert await worker.run_once() == 1
        await worker.close()
    assert observed() == before + 1


async def test_reuses_one_connection_for_several_messages(outbound_store: Store) -> None:
    async with Sink() as sink:
        worker = worker_for(outbound_store, make_config(f"127.0.0.1:{sink.port}", concurrency=1))
        for i in range(5):
            enqueue(outbound_store, [f"p{i}@partner.example"])
        await settle(worker)
        await worker.close()
    assert len(sink.messages) == 5
    assert sink.connections == 1
    assert sink.rsets == 0  # parked a moment ago: used at once, no RSET round trip per message
    assert outbound(outbound_store) == 0


async def test_partial_refusal_delivers_the_rest_and_notices_only_the_failed(outbound_store: Store) -> None:
    async with Sink() as sink:
        sink.rcpt_replies["nobody@partner.example"] = "550 5.1.1 <nobody@partner.example>: No such user"
        worker = worker_for(outbound_store, make_config(f"127.0.0.1:{sink.port}"))
        enqueue(outbound_store, ["partner@partner.example", "nobody@partner.example"])
        await settle(worker)
        await worker.close()
    (relayed,) = sink.relayed
    assert relayed.rcpt_tos == ("partner@partner.example",)
    (notice,) = sink.notices  # delivered to the sender via the same smarthost
    assert notice.rcpt_tos == (SENDER,)
    blocks = status_blocks(notice)
    assert [b["Final-Recipient"] for b in blocks] == ["rfc822; nobody@partner.example"]
    assert blocks[0]["Action"] == "failed"
    assert blocks[0]["Status"] == "5.1.1"
    assert blocks[0]["Diagnostic-Code"].startswith("smtp; 550 5.1.1")
    message = notice.message
    assert message.get_content_type() == "multipart/report"
    assert message.get_param("report-type") == "delivery-status"
    assert b"partner@partner.example>:" not in notice.data
    assert BODY_MARKER.encode() not in notice.data
    assert outbound(outbound_store) == 0


async def test_whole_message_refused_at_data_gives_exactly_one_notice(outbound_store: Store) -> None:
    async with Sink() as sink:
        sink.data_reply = lambda got: None if got.is_notice else "554 5.7.1 Message refused by policy"
        worker = worker_for(outbound_store, make_config(f"127.0.0.1:{sink.port}"))
        enqueue(outbound_store, ["a@partner.example", "b@partner.example"])
        await settle(worker)
        await worker.close()
    assert sink.relayed == []
    (notice,) = sink.notices
    blocks = status_blocks(notice)
    assert sorted(b["Final-Recipient"] for b in blocks) == [
        "rfc822; a@partner.example",
        "rfc822; b@partner.example",
    ]
    assert {b["Status"] for b in blocks} == {"5.7.1"}
    assert outbound(outbound_store) == 0


async def test_temporary_refusal_is_retried_until_delivered(outbound_store: Store) -> None:
    async with Sink() as sink:
        refusing = True
        sink.data_reply = lambda got: "451 4.3.0 Try again later" if refusing else None
        worker = worker_for(outbound_store, make_config(f"127.0.0.1:{sink.port}"))
        queued = enqueue(outbound_store, ["partner@partner.example"])
        assert await worker.run_once() == 1
        found = outbound_store.get(queued.id)
        assert found is not None
        queue, deferred = found
        assert queue is Queue.OUTBOUND
        assert deferred.pending == ("partner@partner.example",)
        assert deferred.attempts == 1
        assert deferred.deferred_reason.startswith("451 4.3.0")
        refusing = False
        await settle(worker)
        await worker.close()
    (got,) = sink.messages
    assert got.rcpt_tos == ("partner@partner.example",)
    assert sink.notices == []
    assert outbound(outbound_store) == 0


async def test_next_hop_down_then_up(outbound_store: Store) -> None:
    port = free_port()
    worker = worker_for(outbound_store, make_config(f"127.0.0.1:{port}"))
    queued = enqueue(outbound_store, ["partner@partner.example"])
    assert await worker.run_once() == 1
    found = outbound_store.get(queued.id)
    assert found is not None and found[1].pending == ("partner@partner.example",)
    assert found[1].deferred_reason.startswith("451 4.4.1")
    async with Sink(port=port) as sink:
        await settle(worker)
        await worker.close()
    assert [m.rcpt_tos for m in sink.messages] == [("partner@partner.example",)]
    assert outbound(outbound_store) == 0


async def test_lifetime_exceeded_gives_up_with_one_notice(outbound_store: Store) -> None:
    async with Sink() as sink:
        sink.rcpt_replies["slow@partner.example"] = "451 4.2.1 Mailbox busy"
        worker = worker_for(outbound_store, make_config(f"127.0.0.1:{sink.port}"))
        enqueue(outbound_store, ["slow@partner.example"], received_at=time.time() - 6 * 86400)
        await settle(worker)
        await worker.close()
    assert sink.relayed == []
    (notice,) = sink.notices
    (block,) = status_blocks(notice)
    assert block["Final-Recipient"] == "rfc822; slow@partner.example"
    assert block["Status"] == "4.4.7"
    assert "gave up after 5 days" in block["Diagnostic-Code"]
    assert "4.2.1" in block["Diagnostic-Code"]
    assert outbound(outbound_store) == 0


async def test_null_sender_failure_makes_no_notice(outbound_store: Store) -> None:
    async with Sink() as sink:
        sink.rcpt_replies["nobody@partner.example"] = "550 5.1.1 No such user"
        worker = worker_for(outbound_store, make_config(f"127.0.0.1:{sink.port}"))
        enqueue(outbound_store, ["nobody@partner.example"], sender="")
        await settle(worker)
        await worker.close()
    assert sink.messages == []
    assert outbound(outbound_store) == 0


async def test_failing_notice_makes_no_notice_about_it(outbound_store: Store) -> None:
    async with Sink() as sink:
        # The original fails, and so does the notice to its sender: exactly nothing more must follow.
        sink.rcpt_replies["nobody@partner.example"] = "550 5.1.1 No such user"
        sink.rcpt_replies["ghost@example.co.jp"] = "550 5.1.1 No such user"
        worker = worker_for(outbound_store, make_config(f"127.0.0.1:{sink.port}"))
        enqueue(outbound_store, ["nobody@partner.example"], sender="ghost@example.co.jp")
        assert await worker.run_once() == 1  # the original fails; its notice is queued
        assert outbound(outbound_store) == 1
        assert await worker.run_once() == 1  # the notice fails
        await settle(worker)
        await worker.close()
    assert sink.messages == []
    assert outbound(outbound_store) == 0


async def test_disconnect_mid_data_is_temporary_and_the_connection_is_replaced(outbound_store: Store) -> None:
    async with Sink() as sink:
        sink.drop_data = 1
        worker = worker_for(outbound_store, make_config(f"127.0.0.1:{sink.port}"))
        queued = enqueue(outbound_store, ["partner@partner.example"])
        assert await worker.run_once() == 1
        found = outbound_store.get(queued.id)
        assert found is not None and found[1].pending == ("partner@partner.example",)
        assert found[1].deferred_reason.startswith("451 4.4.2")
        assert len(sink.dropped) == 1
        await settle(worker)
        await worker.close()
    assert [m.rcpt_tos for m in sink.messages] == [("partner@partner.example",)]
    assert sink.connections == 2
    assert sink.notices == []


async def test_sender_refused_is_permanent_for_all(outbound_store: Store) -> None:
    async with Sink() as sink:
        refuse: Callable[[str], str | None] = lambda a: "553 5.7.1 Sender rejected" if a == SENDER else None  # noqa: E731
        sink.mail_reply = refuse
        worker = worker_for(outbound_store, make_config(f"127.0.0.1:{sink.port}"))
        enqueue(outbound_store, ["a@partner.example", "b@partner.example"])
        await settle(worker)
        await worker.close()
    (notice,) = sink.notices
    assert {b["Status"] for b in status_blocks(notice)} == {"5.7.1"}
    assert len(status_blocks(notice)) == 2


async def test_an_attempt_stays_within_its_time(outbound_store: Store) -> None:
    async with Sink() as sink:
        sink.hold_data = asyncio.Event()  # the next hop takes the message but never answers DATA
        config = make_config(f"127.0.0.1:{sink.port}")
        config = config.model_copy(update={"relay": config.relay.model_copy(update={"attempt_seconds": 0.5})})
        worker = worker_for(outbound_store, config)
        queued = enqueue(outbound_store, ["partner@partner.example"])
        assert await worker.run_once() == 1
        found = outbound_store.get(queued.id)
        assert found is not None and found[1].pending == ("partner@partner.example",)
        assert "ran out of time" in found[1].deferred_reason
        sink.hold_data.set()
        sink.hold_data = None
        await settle(worker)
        await worker.close()
    assert sink.messages[-1].rcpt_tos == ("partner@partner.example",)
    assert sink.connections == 2
    assert outbound(outbound_store) == 0


async def test_run_delivers_until_stopped(outbound_store: Store) -> None:
    async with Sink() as sink:
        worker = worker_for(outbound_store, make_config(f"127.0.0.1:{sink.port}"))
        stop = asyncio.Event()
        running = asyncio.create_task(worker.run(stop))
        for i in range(3):
            enqueue(outbound_store, [f"p{i}@partner.example"])
        for _ in range(1000):
            if len(sink.messages) == 3:
                break
            await asyncio.sleep(0.01)
        stop.set()
        await running
    assert sorted(r for m in sink.messages for r in m.rcpt_tos) == [f"p{i}@partner.example" for i in range(3)]
    assert outbound(outbound_store) == 0


async def test_mail_loop_is_refused_with_a_notice(outbound_store: Store) -> None:
    looping = b"".join(b"Received: from hop%d by gw\r\n" % i for i in range(51)) + MESSAGE
    async with Sink() as sink:
        worker = worker_for(outbound_store, make_config(f"127.0.0.1:{sink.port}"))
        enqueue(outbound_store, ["partner@partner.example"], raw=looping)
        await settle(worker)
        await worker.close()
    (notice,) = sink.messages
    assert notice.is_notice
    assert [b["Status"] for b in status_blocks(notice)] == ["5.4.6"]
    assert outbound(outbound_store) == 0
