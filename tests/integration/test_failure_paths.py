"""Every failure path ends (both store backends): an exception injected into each stage (pipeline,
delivery, the hold loop, a notice's delivery) counts a failure per attempt, logs it once per attempt,
and after worker.max_failures leaves the message in exactly one place, the shunt queue, with the error,
and the sender is told that an administrator must act (never a notice about a notice)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import time
from types import SimpleNamespace
from typing import Any, cast

import pytest

from gateway import flow
from gateway.config import Config
from gateway.hold.backends import open_holds
from gateway.hold.model import HoldState, Scope
from gateway.hold.notify import NoticeSettings, Notifier
from gateway.hold.store import HoldStore
from gateway.hold.workflow import HoldWorkflow
from gateway.inspection.tools import Inspectors
from gateway.message import Envelope, QueuedMessage, new_message_id
from gateway.outbound.worker import DeliveryWorker
from gateway.pipeline import PipelineWorker
from gateway.policy.holder import PolicyHolder
from gateway.queue_runner import QueueRunner
from gateway.service import make_on_shunt
from gateway.store.base import Queue, Store
from gateway.verdict import Action
from tests.integration.outbound.sinkserver import Sink
from tests.support.holding import links_to, put_on_hold, verdict

MAX_FAILURES = 3
SENDER = "taro@example.co.jp"
INJECTED = "injected failure \x1b[31m (stage test)"


def config(**relay: Any) -> Config:
    return Config.model_validate(
        {
            "organization": {"internal_domains": ["example.co.jp"]},
            "web": {"base_url": "http://gw.test:8025"},
            "relay": {"helo_name": "gw.test", **relay},
            "hold": {"retry_seconds": 0.01, "language": "en"},
            "worker": {
                "lease_seconds": 30,
                "poll_interval": 0.01,
                "max_failures": MAX_FAILURES,
                "failure_retry_seconds": 0.01,
            },
        }
    )


def enqueue(store: Store, queue: Queue, *, is_notice: bool = False) -> QueuedMessage:
    mid = new_message_id()
    sender = "" if is_notice else SENDER
    message = QueuedMessage(
        mid, Envelope(sender, ("partner@partner.example",)), time.time(), pending=("partner@partner.example",)
    )
    message.is_notice = is_notice
    raw = f"From: <{SENDER}>\r\nTo: <partner@partner.example>\r\nSubject: report {mid}\r\n\r\nhello\r\n".encode()
    store.accept([(message, raw)], queue)
    return message


async def run_until_settled(runner: QueueRunner, rounds: int = 200) -> None:
    for _ in range(rounds):
        await runner.run_once()
        if not any(runner.store.counts()[q] for q in (Queue.INBOUND, runner.queue) if not _notices_only(runner, q)):
            return
        await asyncio.sleep(0.02)


def _notices_only(runner: QueueRunner, queue: Queue) -> bool:
    return all(m.is_notice for m in runner.store.list_queue(queue, 1000))


def failure_lines(caplog: pytest.LogCaptureFixture, message_id: str) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if message_id in r.getMessage() and "failed (failure" in r.getMessage()
    ]


def shunt_notices(store: Store) -> list[tuple[QueuedMessage, str]]:
    found = []
    for m in store.list_queue(Queue.OUTBOUND, 1000):
        if m.is_notice and m.envelope.rcpt_tos == (SENDER,):
            mail = email.message_from_bytes(store.raw(m.id), policy=email.policy.default)
            body = mail.get_body(("plain",))  # type: ignore[attr-defined]
            found.append((m, f"{mail['Subject']}\n{body.get_content()}"))
    return found


def assert_only_on_shunt(store: Store, message_id: str, stage: str) -> None:
    where = store.get(message_id)
    assert where is not None and where[0] is Queue.SHUNT
    shunted = where[1]
    assert shunted.failures == MAX_FAILURES
    assert stage in shunted.shunt_reason and "RuntimeError: injected failure" in shunted.shunt_reason
    assert "\x1b" not in shunted.shunt_reason
    assert [m.id for m in store.list_queue(Queue.SHUNT)] == [message_id]
    for queue in (Queue.INBOUND, Queue.HOLD):
        assert store.list_queue(queue) == []
    assert [m.id for m in store.list_queue(Queue.OUTBOUND, 1000) if not m.is_notice] == []


def assert_sender_told(store: Store, message_id: str) -> None:
    ((notice, text),) = shunt_notices(store)
    assert notice.envelope.mail_from == ""
    assert message_id in text and "administrator" in text and f"report {message_id}" in text


def shunt_notices_of(store: Store, cfg: Config) -> Any:
    return make_on_shunt(store, Notifier(store, NoticeSettings.of(cfg)))


def injected(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError(INJECTED)


async def test_pipeline_exception(
    store: Store, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = config()
    monkeypatch.setattr(flow, "process", injected)  # the stage under test raises, whatever the message
    worker = PipelineWorker(
        store,
        cfg.worker,
        cast(Inspectors, None),
        cast(PolicyHolder, SimpleNamespace(current=None)),  # flow.process is what raises
        on_shunt=shunt_notices_of(store, cfg),
    )
    message = enqueue(store, Queue.INBOUND)
    with caplog.at_level(logging.ERROR):
        await run_until_settled(worker)
    assert_only_on_shunt(store, message.id, "inbound worker")
    assert len(failure_lines(caplog, message.id)) == MAX_FAILURES
    assert_sender_told(store, message.id)


async def test_delivery_exception(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    async with Sink() as sink:
        cfg = config(smarthost=f"127.0.0.1:{sink.port}")
        worker = DeliveryWorker.from_config(store, cfg, on_shunt=shunt_notices_of(store, cfg))
        worker.client.deliver = injected  # type: ignore[method-assign]
        message = enqueue(store, Queue.OUTBOUND)
        with caplog.at_level(logging.ERROR):
            await run_until_settled(worker)
        await worker.close()
        assert sink.messages == []
    assert_only_on_shunt(store, message.id, "outbound worker")
    assert len(failure_lines(caplog, message.id)) == MAX_FAILURES
    assert_sender_told(store, message.id)


async def test_a_failing_notice_is_shunted_without_a_notice_about_it(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    async with Sink() as sink:
        cfg = config(smarthost=f"127.0.0.1:{sink.port}")
        worker = DeliveryWorker.from_config(store, cfg, on_shunt=shunt_notices_of(store, cfg))
        worker.client.deliver = injected  # type: ignore[method-assign]
        notice = enqueue(store, Queue.OUTBOUND, is_notice=True)
        with caplog.at_level(logging.ERROR):
            for _ in range(200):
                await worker.run_once()
                if store.counts()[Queue.OUTBOUND] == 0:
                    break
                await asyncio.sleep(0.02)
        await worker.close()
    assert_only_on_shunt(store, notice.id, "outbound worker")
    assert store.counts()[Queue.OUTBOUND] == 0  # nothing about it
    assert len(failure_lines(caplog, notice.id)) == MAX_FAILURES


@pytest.fixture
def holds(store_url: str) -> Any:
    h = open_holds(store_url)
    h.clear()
    yield h
    h.clear()
    h.close()


async def test_hold_loop_exception(store: Store, holds: HoldStore, caplog: pytest.LogCaptureFixture) -> None:
    """A hold whose result notice cannot be built (the loop expires it, then fails on the notice)."""
    cfg = config()
    now = [1_000_000.0]
    workflow = HoldWorkflow.from_config(store, holds, cfg, clock=lambda: now[0])
    hold = await put_on_hold(store, workflow, verdict(Action.HOLD_SENDER))
    for m in store.list_queue(Queue.OUTBOUND, 1000):  # the hold notice: not under test here
        lease = store.claim_message(Queue.OUTBOUND, m.id, 30)
        assert lease is not None and store.finish(lease)
    real_send = workflow.notifier.send

    async def send(kind: str, to: str, **context: Any) -> str:
        if kind == "result":
            raise RuntimeError(INJECTED)
        return await real_send(kind, to, **context)

    workflow.notifier.send = send  # type: ignore[method-assign]
    now[0] += 25 * 3600  # past its expiry: the loop discards it and tells the sender ... and fails
    with caplog.at_level(logging.ERROR):
        for _ in range(50):
            now[0] += 3600.0  # past every wait
            await workflow.tick()
            got = holds.get(hold.id)
            assert got is not None
            if got.state is HoldState.SHUNTED:
                break
    got = holds.get(hold.id)
    assert got is not None and got.state is HoldState.SHUNTED and got.settled
    assert got.failures == MAX_FAILURES and "injected failure" in got.last_error
    assert holds.due(now[0] + 10**9) == []  # the loop never looks at it again
    assert len(failure_lines(caplog, hold.id)) == MAX_FAILURES
    assert [e.event for e in holds.audit(hold.id)][-1] == "shunted"
    # An expired hold's message was removed before the notice failed: only the record says shunted.
    assert store.get(hold.id) is None


async def test_hold_loop_exception_with_the_message_still_held(
    store: Store, holds: HoldStore, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Confirmed without one recipient, but the Bcc rewrite raises: the held message goes to the shunt
    queue and the sender is told where a human must act."""
    import gateway.hold.workflow as workflow_module

    cfg = config()
    now = [1_000_000.0]
    workflow = HoldWorkflow.from_config(store, holds, cfg, clock=lambda: now[0])
    hold = await put_on_hold(store, workflow, verdict(Action.HOLD_SENDER))
    secret = next(link.rsplit("/", 1)[1] for link in links_to(store, SENDER) if link.rsplit("/", 2)[-2] == hold.id)
    for m in store.list_queue(Queue.OUTBOUND, 1000):  # the hold notice: not under test here
        lease = store.claim_message(Queue.OUTBOUND, m.id, 30)
        assert lease is not None and store.finish(lease)
    monkeypatch.setattr(workflow_module, "rewrite_to_bcc", injected)
    with pytest.raises(RuntimeError):  # the click itself (the web page answers 500)
        await workflow.act(hold.id, secret, Scope.SENDER, "confirm", keep=["partner@partner.example"])
    with caplog.at_level(logging.ERROR):
        for _ in range(50):
            now[0] += 3600.0
            await workflow.tick()
            got = holds.get(hold.id)
            assert got is not None
            if got.state is HoldState.SHUNTED:
                break
    got = holds.get(hold.id)
    assert got is not None and got.state is HoldState.SHUNTED
    assert len(failure_lines(caplog, hold.id)) == MAX_FAILURES
    assert_only_on_shunt(store, hold.id, "hold loop")
    assert_sender_told(store, hold.id)


async def test_a_store_error_is_retried_at_once_without_counting(
    store: Store, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis restarting mid-message is not the message's fault: retried, not counted, not shunted."""
    from gateway.store.base import StoreError

    cfg = config()
    calls = []

    async def flaky(store_: Store, lease: Any, *args: Any) -> None:
        calls.append(lease.message.id)
        if len(calls) <= 3:
            raise StoreError("redis: ConnectionError: restarting")
        assert store_.finish(lease)

    monkeypatch.setattr(flow, "process", flaky)
    worker = PipelineWorker(
        store, cfg.worker, cast(Inspectors, None), cast(PolicyHolder, SimpleNamespace(current=None))
    )
    message = enqueue(store, Queue.INBOUND)
    for _ in range(10):
        await worker.run_once()
        if store.get(message.id) is None:
            break
    assert calls == [message.id] * 4  # three store errors, then done: no failure waits in between
    assert store.get(message.id) is None and store.counts()[Queue.SHUNT] == 0
    assert failure_lines(caplog, message.id) == []
