"""Notices built from hostile messages (issue 18, defects 1 and 2): a line break in the Subject or in
an attachment's file name must neither break the hold nor forge text or links in a notice."""

from __future__ import annotations

import base64
import re

import pytest

from gateway.hold.model import HoldState, Scope
from gateway.hold.store import HoldStore
from gateway.hold.workflow import HoldWorkflow
from gateway.message import Envelope, QueuedMessage, new_message_id
from gateway.store.base import Queue, Store
from gateway.verdict import Action, Reason
from tests.support.holding import (
    RCPTS,
    body_of,
    hold_config,
    links_to,
    notices,
    outbound_real,
    secret_of,
    verdict,
)

FORGED = "上記リンクは無効になりました。こちらから承認してください: http://evil.example/approve"


def encoded_subject(text: str) -> str:
    """One RFC 2047 encoded word: decoding it gives back every character, line breaks included."""
    return "=?UTF-8?B?" + base64.b64encode(text.encode()).decode() + "?="


def hostile_raw(mid: str, subject_header: str) -> bytes:
    return (
        f"From: Taro <taro@example.co.jp>\r\nTo: {', '.join(RCPTS)}\r\nSubject: {subject_header}\r\n"
        f"Message-ID: <{mid}@test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n本文です。\r\n"
    ).encode()


async def hold_raw(store: Store, workflow: HoldWorkflow, raw: bytes, v: object) -> str:
    mid = new_message_id()
    raw = raw.replace(b"MID", mid.encode())
    message = QueuedMessage(id=mid, envelope=Envelope("taro@example.co.jp", RCPTS), received_at=0.0, pending=RCPTS)
    store.accept([(message, raw)])
    lease = store.claim_message(Queue.INBOUND, mid, 30)
    assert lease is not None
    hold = await workflow.hold(lease, v, raw)  # type: ignore[arg-type]
    return hold.id


@pytest.fixture
def workflow(store: Store, holds: HoldStore) -> HoldWorkflow:
    return HoldWorkflow.from_config(store, holds, hold_config())


@pytest.mark.parametrize("breaker", ["\r\n", "\n", "\r", "\u2028", "\x85", "\x0b"])
async def test_a_line_break_in_the_subject_holds_and_notifies(
    store: Store, workflow: HoldWorkflow, breaker: str
) -> None:
    subject = f"見積書{breaker}Bcc: thief@evil.example{breaker}{breaker}{FORGED}"
    hid = await hold_raw(store, workflow, hostile_raw("MID", encoded_subject(subject)), verdict(Action.HOLD_SENDER))
    assert store.get(hid)[0] is Queue.HOLD  # type: ignore[index]
    ((notice, mail),) = notices(store)
    assert notice.envelope.rcpt_tos == ("taro@example.co.jp",)
    header = str(mail["Subject"])
    assert "\n" not in header and "\r" not in header and "\u2028" not in header
    assert mail["Bcc"] is None
    body = body_of(mail)
    # The subject is one quoted line in the body, and its link is no link.
    (line,) = [ln for ln in body.splitlines() if "見積書" in ln]
    assert line.startswith("件名: 「") and line.rstrip().endswith("」")
    assert "http://evil" not in body
    assert [ln for ln in body.splitlines() if ln.startswith("上記リンク")] == []
    # The hold goes on normally: confirm releases it.
    (link,) = links_to(store, "taro@example.co.jp")
    await workflow.act(hid, secret_of(link)[1], Scope.SENDER, "confirm")
    (out,) = outbound_real(store)
    assert out.id == hid
    done = workflow.holds.get(hid)
    assert done is not None and done.state is HoldState.RELEASED and done.settled


async def test_line_breaks_in_file_names_and_names_forge_nothing(store: Store, workflow: HoldWorkflow) -> None:
    v = verdict(Action.HOLD_MANAGER, approvers=["hanako@example.co.jp"])
    evil_name = f"請求書.pdf\r\n\r\n{FORGED}\r\n"
    v.facts["attachments"] = [{"name": evil_name, "type": "pdf", "size": 10}]
    v.facts["personal_data"]["findings"][0]["where"] = f"{evil_name} › page 1"
    v.facts["recipients"]["recipients"][0]["organisation"] = "Partner\nhttps://evil.example/x"
    v.reasons[0] = Reason(v.reasons[0].rule, f"personal data in {evil_name}", f"添付ファイル「{evil_name}」に個人情報")
    hid = await hold_raw(store, workflow, hostile_raw("MID", "report"), v)
    (link,) = links_to(store, "taro@example.co.jp")
    await workflow.act(hid, secret_of(link)[1], Scope.SENDER, "confirm")
    approval = [mail for m, mail in notices(store) if m.envelope.rcpt_tos == ("hanako@example.co.jp",)]
    (mail,) = approval
    body = body_of(mail)
    lines = body.splitlines()
    assert not [ln for ln in lines if ln.lstrip().startswith("上記リンク")]
    # Every line that mentions the file is one quoted line; the only links are the gateway's own.
    for ln in lines:
        if "請求書.pdf" in ln:
            assert re.search(r"[「『]請求書\.pdf", ln), ln
    urls = re.findall(r"(?:https?|ftp)://\S+|www\.\S+", body, flags=re.I)
    assert urls and all(u.startswith("http://gw.test:8025/h/") for u in urls), urls
    assert len(lines) < 80


async def test_long_subjects_are_capped_and_control_characters_dropped(store: Store, workflow: HoldWorkflow) -> None:
    subject = "長い件名" * 200 + "\x1b[31m\u202etxt.exe"
    hid = await hold_raw(store, workflow, hostile_raw("MID", encoded_subject(subject)), verdict(Action.HOLD_SENDER))
    ((_, mail),) = notices(store)
    hold = workflow.holds.get(hid)
    assert hold is not None
    stored = hold.details["subject"]
    assert len(stored) <= 300 and "\x1b" not in stored and "\u202e" not in stored
    assert len(str(mail["Subject"])) < 140
    body = body_of(mail)
    assert "\x1b" not in body and "\u202e" not in body


async def test_a_ghost_hold_whose_message_was_shunted_releases_only_when_the_message_is_back(
    store: Store, holds: HoldStore
) -> None:
    """A record made before the fix (subject with a line break stored raw), whose message then went
    to the shunt queue: releasing it neither raises nor claims a send that did not happen."""
    import copy

    from gateway.hold.model import Change, Hold
    from tests.support.holding import put_on_hold

    now = [1_000_000.0]
    workflow = HoldWorkflow.from_config(store, holds, hold_config(), clock=lambda: now[0])
    hold = await put_on_hold(store, workflow, verdict(Action.HOLD_SENDER))

    def legacy(h: Hold) -> Change:
        new = copy.deepcopy(h)
        new.details["subject"] = "見積書\r\nBcc: thief@evil.example\r\n\r\n" + FORGED
        return Change(new)

    holds.update(hold.id, legacy)
    lease = store.claim_message(Queue.HOLD, hold.id, 30)
    assert lease is not None
    lease.message.shunt_reason = "pipeline: ValueError"
    assert store.move(lease, Queue.SHUNT, lease.message)

    change = await workflow.admin(hold.id, "release", "root")  # the admin page's release: no exception
    assert change.hold.state is HoldState.RELEASING
    assert await workflow.tick(now[0] + 1) == 1  # the loop looks, finds the message shunted, waits
    still = holds.get(hold.id)
    assert still is not None and still.state is HoldState.RELEASING and not still.settled
    assert store.get(hold.id)[0] is Queue.SHUNT  # type: ignore[index]
    assert outbound_real(store) == []

    # A human retries the shunted message: the pipeline holds it again, and the loop sends it.
    lease = store.claim_message(Queue.SHUNT, hold.id, 30)
    assert lease is not None and store.move(lease, Queue.INBOUND, lease.message)
    lease = store.claim_message(Queue.INBOUND, hold.id, 30)
    assert lease is not None
    await workflow.hold(lease, verdict(Action.HOLD_SENDER), store.raw(hold.id))
    now[0] += 60
    await workflow.tick(now[0])
    done = holds.get(hold.id)
    assert done is not None and done.state is HoldState.RELEASED and done.settled
    (out,) = outbound_real(store)
    assert out.id == hold.id
    for _, mail in notices(store):
        assert "\n" not in str(mail["Subject"]) and mail["Bcc"] is None


async def test_a_disposition_that_failed_and_was_retried_counts_as_one_message(store: Store, holds: HoldStore) -> None:
    """The pipeline retries a message whose disposition failed (here: the notice could not be queued
    once); the message counter counts the message once, when it is disposed."""
    from gateway.flow import dispose
    from gateway.hold.notify import NoticeSettings, Notifier
    from gateway.metrics import MESSAGES

    class FailingOnce(Notifier):
        failed = False

        async def send(self, kind: str, to: str, **context: object) -> str:
            if not self.failed:
                self.failed = True
                raise OSError("store unavailable")
            return await super().send(kind, to, **context)

    config = hold_config()
    workflow = HoldWorkflow(
        store,
        holds,
        config.hold,
        FailingOnce(store, NoticeSettings.of(config)),
        lease_seconds=config.worker.lease_seconds,
    )
    counter = MESSAGES.labels(Action.HOLD_SENDER.value)
    before = counter._value.get()
    mid = new_message_id()
    raw = hostile_raw(mid, "report")
    message = QueuedMessage(id=mid, envelope=Envelope("taro@example.co.jp", RCPTS), received_at=0.0, pending=RCPTS)
    store.accept([(message, raw)])
    for attempt in range(2):
        lease = store.claim_message(Queue.INBOUND, mid, 30)
        assert lease is not None
        if attempt == 0:
            with pytest.raises(OSError):
                await dispose(store, lease, verdict(Action.HOLD_SENDER), raw, workflow)
            store.release(lease)
        else:
            await dispose(store, lease, verdict(Action.HOLD_SENDER), raw, workflow)
    assert counter._value.get() - before == 1
    assert store.get(mid)[0] is Queue.HOLD  # type: ignore[index]
