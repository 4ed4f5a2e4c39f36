"""The hold workflow on real stores (sqlite and redis): hold → notify → act → settle, and the clock."""

from __future__ import annotations

import asyncio
import email
import email.policy
from typing import Any

import pytest

from gateway.hold.model import HoldState, Scope
from gateway.hold.store import HoldStore
from gateway.hold.transitions import Refused
from gateway.hold.workflow import HoldWorkflow
from gateway.store.base import Queue, Store
from gateway.verdict import Action
from tests.support.holding import (
    RCPTS,
    body_of,
    hold_config,
    links_to,
    notices,
    outbound_real,
    put_on_hold,
    secret_of,
    verdict,
)


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def workflow(store: Store, holds: HoldStore, clock: Clock) -> HoldWorkflow:
    return HoldWorkflow.from_config(store, holds, hold_config(), clock=clock)


async def test_hold_sender_notifies_with_one_link_and_parks_the_message(store: Store, workflow: HoldWorkflow) -> None:
    hold = await put_on_hold(store, workflow, verdict(Action.HOLD_SENDER))
    assert hold.state is HoldState.HELD_SENDER
    assert store.get(hold.id)[0] is Queue.HOLD  # type: ignore[index]
    ((notice, mail),) = notices(store)
    assert notice.envelope.mail_from == "" and notice.is_notice
    assert notice.envelope.rcpt_tos == ("taro@example.co.jp",)
    body = body_of(mail)
    assert "[社外] <partner@partner.example>" in body and "list.xlsx" in body and "ta***@example.com" in body
    assert "boss@example.co.jp" in body and "[社外] <boss@" not in body
    (link,) = links_to(store, "taro@example.co.jp")
    assert link.startswith("http://gw.test:8025/h/")
    stored = workflow.holds.get(hold.id)
    assert stored is not None and stored.notified
    assert secret_of(link)[1] not in str(stored.to_json())  # only the digest is stored


async def test_confirm_releases_once_to_all(store: Store, workflow: HoldWorkflow) -> None:
    hold = await put_on_hold(store, workflow, verdict(Action.HOLD_SENDER))
    _, secret = secret_of(links_to(store, "taro@example.co.jp")[0])
    await workflow.act(hold.id, secret, Scope.SENDER, "confirm")
    (out,) = outbound_real(store)
    assert out.id == hold.id and out.pending == RCPTS
    done = workflow.holds.get(hold.id)
    assert done is not None and done.state is HoldState.RELEASED and done.settled
    with pytest.raises(Refused) as e:
        await workflow.act(hold.id, secret, Scope.SENDER, "confirm")
    assert e.value.code == "used"
    assert len(outbound_real(store)) == 1
    assert workflow.holds.stats()["pii_first_time_external"]["released_as_is"] == 1
    events = [a.event for a in workflow.holds.audit(hold.id)]
    assert events == ["held", "confirmed", "released"]


async def test_delivery_ends_a_released_hold_as_delivered(store: Store, workflow: HoldWorkflow) -> None:
    from gateway.config import Config
    from gateway.outbound.worker import DeliveryWorker
    from tests.support.sink import RecordingSink

    hold = await put_on_hold(store, workflow, verdict(Action.HOLD_SENDER))
    _, secret = secret_of(links_to(store, "taro@example.co.jp")[0])
    await workflow.act(hold.id, secret, Scope.SENDER, "confirm")
    with RecordingSink() as sink:
        config = Config.model_validate({"relay": {"smarthost": f"127.0.0.1:{sink.port}"}})
        worker = DeliveryWorker.from_config(store, config, holds=workflow.holds)
        while await worker.run_once():
            pass
        await worker.close()
        assert any(r.rcpt_tos == RCPTS for r in sink.snapshot())
    done = workflow.holds.get(hold.id)
    assert done is not None and done.state is HoldState.DELIVERED
    audit = workflow.holds.audit(hold.id)
    assert [a.event for a in audit] == ["held", "confirmed", "released", "delivered"]
    assert audit[-1].detail == f"{len(RCPTS)} delivered, 0 failed"


async def test_remove_recipient_sends_the_rest_and_drops_it_from_the_headers(
    store: Store, workflow: HoldWorkflow
) -> None:
    hold = await put_on_hold(store, workflow, verdict(Action.HOLD_SENDER))
    _, secret = secret_of(links_to(store, "taro@example.co.jp")[0])
    keep = ["partner@partner.example", "boss@example.co.jp"]
    await workflow.act(hold.id, secret, Scope.SENDER, "confirm", keep=keep)
    (out,) = outbound_real(store)
    assert out.pending == tuple(keep)
    raw = store.raw(out.id)
    to = str(email.message_from_bytes(raw, policy=email.policy.default)["To"])
    assert "other@other.example" not in to and "partner@partner.example" in to
    assert workflow.holds.stats()["pii_first_time_external"]["recipient_removed"] == 1


async def test_keep_must_be_a_nonempty_subset(store: Store, workflow: HoldWorkflow) -> None:
    hold = await put_on_hold(store, workflow, verdict(Action.HOLD_SENDER))
    _, secret = secret_of(links_to(store, "taro@example.co.jp")[0])
    for keep in ([], ["stranger@evil.example"], ["partner@partner.example", "stranger@evil.example"]):
        with pytest.raises(Refused) as e:
            await workflow.act(hold.id, secret, Scope.SENDER, "confirm", keep=keep)
        assert e.value.code == "recipients"
    assert workflow.holds.get(hold.id).state is HoldState.HELD_SENDER  # type: ignore[union-attr]
    assert outbound_real(store) == []


async def test_cancel_discards_without_sending(store: Store, workflow: HoldWorkflow) -> None:
    hold = await put_on_hold(store, workflow, verdict(Action.HOLD_SENDER))
    _, secret = secret_of(links_to(store, "taro@example.co.jp")[0])
    await workflow.act(hold.id, secret, Scope.SENDER, "cancel")
    assert store.get(hold.id) is None
    assert outbound_real(store) == []
    done = workflow.holds.get(hold.id)
    assert done is not None and done.state is HoldState.CANCELLED and done.settled


async def test_approval_flow_sender_then_approver_with_comment(store: Store, workflow: HoldWorkflow) -> None:
    v = verdict(Action.HOLD_MANAGER, "bulk_pii_external", approvers=["hanako@example.co.jp"], approver_source="manager")
    hold = await put_on_hold(store, workflow, v)
    _, sender_secret = secret_of(links_to(store, "taro@example.co.jp")[0])
    assert links_to(store, "hanako@example.co.jp") == []  # the sender confirms first
    # An approver action with the sender's link is refused (wrong action for the token).
    with pytest.raises(Refused) as e:
        await workflow.act(hold.id, sender_secret, Scope.APPROVER, "approve")
    assert e.value.code == "scope"
    await workflow.act(hold.id, sender_secret, Scope.SENDER, "confirm")
    assert workflow.holds.get(hold.id).state is HoldState.HELD_MANAGER  # type: ignore[union-attr]
    assert outbound_real(store) == []
    (approver_link,) = links_to(store, "hanako@example.co.jp")
    _, approver_secret = secret_of(approver_link)
    await workflow.act(hold.id, approver_secret, Scope.APPROVER, "approve", comment="OK, 確認済み")
    (out,) = outbound_real(store)
    assert out.id == hold.id
    result = [mail for m, mail in notices(store) if "送信しました" in str(mail["Subject"])]
    assert len(result) == 1 and "hanako@example.co.jp" in body_of(result[0])


async def test_approver_rejects_and_sender_hears_the_comment(store: Store, workflow: HoldWorkflow) -> None:
    v = verdict(Action.HOLD_MANAGER, "bulk_pii_external", approvers=["hanako@example.co.jp"])
    hold = await put_on_hold(store, workflow, v)
    await workflow.act(hold.id, secret_of(links_to(store, "taro@example.co.jp")[0])[1], Scope.SENDER, "confirm")
    _, approver_secret = secret_of(links_to(store, "hanako@example.co.jp")[0])
    await workflow.act(hold.id, approver_secret, Scope.APPROVER, "reject", comment="宛先が違います")
    assert store.get(hold.id) is None and outbound_real(store) == []
    rejected = [mail for m, mail in notices(store) if "却下" in str(mail["Subject"])]
    assert len(rejected) == 1 and "宛先が違います" in body_of(rejected[0])
    assert workflow.holds.stats()["bulk_pii_external"]["rejected"] == 1


async def test_two_approvers_two_clicks_send_once(store: Store, workflow: HoldWorkflow) -> None:
    v = verdict(Action.HOLD_MANAGER, approvers=["a1@example.co.jp", "a2@example.co.jp"])
    hold = await put_on_hold(store, workflow, v)
    await workflow.act(hold.id, secret_of(links_to(store, "taro@example.co.jp")[0])[1], Scope.SENDER, "confirm")
    s1 = secret_of(links_to(store, "a1@example.co.jp")[0])[1]
    s2 = secret_of(links_to(store, "a2@example.co.jp")[0])[1]
    results = await asyncio.gather(
        workflow.act(hold.id, s1, Scope.APPROVER, "approve"),
        workflow.act(hold.id, s2, Scope.APPROVER, "approve"),
        workflow.act(hold.id, s1, Scope.APPROVER, "approve"),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(isinstance(r, Refused) for r in results if isinstance(r, BaseException))
    assert len(outbound_real(store)) == 1


async def test_expiry_discards_and_tells_the_sender(store: Store, workflow: HoldWorkflow, clock: Clock) -> None:
    hold = await put_on_hold(store, workflow, verdict(Action.HOLD_SENDER))
    _, secret = secret_of(links_to(store, "taro@example.co.jp")[0])
    clock.now += 25 * 3600
    with pytest.raises(Refused) as e:
        await workflow.act(hold.id, secret, Scope.SENDER, "confirm")
    assert e.value.code == "expired"
    await workflow.tick()
    done = workflow.holds.get(hold.id)
    assert done is not None and done.state is HoldState.EXPIRED and done.settled
    assert store.get(hold.id) is None and outbound_real(store) == []
    assert any("期限切れ" in str(mail["Subject"]) for _, mail in notices(store))


async def test_expiry_releases_for_a_configured_rule(store: Store, holds: HoldStore, clock: Clock) -> None:
    config = hold_config(hold={"release_on_expiry_rules": ["lookalike_domain"], "retry_seconds": 0.01})
    workflow = HoldWorkflow.from_config(store, holds, config, clock=clock)
    hold = await put_on_hold(store, workflow, verdict(Action.HOLD_SENDER, "lookalike_domain"))
    clock.now += 25 * 3600
    await workflow.tick()
    assert [m.id for m in outbound_real(store)] == [hold.id]
    assert holds.get(hold.id).state is HoldState.RELEASED  # type: ignore[union-attr]


async def test_reminder_before_expiry_with_a_fresh_link(store: Store, workflow: HoldWorkflow, clock: Clock) -> None:
    hold = await put_on_hold(store, workflow, verdict(Action.HOLD_SENDER))
    clock.now += 23 * 3600  # remind 120 minutes before the 24 h deadline
    await workflow.tick()
    first, second = links_to(store, "taro@example.co.jp")
    assert first != second
    await workflow.tick()
    assert len(links_to(store, "taro@example.co.jp")) == 2  # reminded once
    await workflow.act(hold.id, secret_of(second)[1], Scope.SENDER, "confirm")
    assert len(outbound_real(store)) == 1


async def test_delay_releases_at_its_time_unless_cancelled(store: Store, workflow: HoldWorkflow, clock: Clock) -> None:
    kept = await put_on_hold(store, workflow, verdict(Action.DELAY, "delay_external", delay_minutes=5))
    cancelled = await put_on_hold(store, workflow, verdict(Action.DELAY, "delay_external", delay_minutes=5))
    assert kept.state is HoldState.DELAYED
    links = links_to(store, "taro@example.co.jp")
    assert len(links) == 2
    secret = next(secret_of(link)[1] for link in links if secret_of(link)[0] == cancelled.id)
    await workflow.act(cancelled.id, secret, Scope.SENDER, "cancel")
    clock.now += 4 * 60
    await workflow.tick()
    assert outbound_real(store) == []
    clock.now += 2 * 60
    await workflow.tick()
    assert [m.id for m in outbound_real(store)] == [kept.id]
    assert store.get(cancelled.id) is None


async def test_admin_release_reject_extend(store: Store, workflow: HoldWorkflow, clock: Clock) -> None:
    a = await put_on_hold(store, workflow, verdict(Action.HOLD_SENDER))
    b = await put_on_hold(store, workflow, verdict(Action.HOLD_SENDER))
    c = await put_on_hold(store, workflow, verdict(Action.HOLD_SENDER))
    await workflow.admin(a.id, "release", "root")
    await workflow.admin(b.id, "reject", "root", comment="no")
    await workflow.admin(c.id, "extend", "root", hours=48)
    with pytest.raises(Refused):
        await workflow.admin(a.id, "release", "root")
    assert [m.id for m in outbound_real(store)] == [a.id]
    assert store.get(b.id) is None
    clock.now += 30 * 3600
    await workflow.tick()
    assert workflow.holds.get(c.id).state is HoldState.HELD_SENDER  # type: ignore[union-attr]
    assert [e.event for e in workflow.holds.audit(c.id)] == ["held", "extended"]


async def test_reject_verdict_notifies_and_drops(store: Store, workflow: HoldWorkflow) -> None:
    from gateway import flow
    from gateway.message import Envelope, QueuedMessage, new_message_id
    from tests.support.holding import raw_message

    mid = new_message_id()
    store.accept([(QueuedMessage(mid, Envelope("taro@example.co.jp", RCPTS), 0.0, pending=RCPTS), raw_message(mid))])
    lease = store.claim_message(Queue.INBOUND, mid, 30)
    assert lease is not None
    await flow.dispose(store, lease, verdict(Action.REJECT, "denied_recipient"), raw_message(mid), workflow)
    assert store.get(mid) is None
    ((notice, mail),) = notices(store)
    assert notice.envelope.rcpt_tos == ("taro@example.co.jp",)
    assert "送信できませんでした" in str(mail["Subject"])


async def test_a_crash_between_record_and_notice_notifies_again_with_a_working_link(
    store: Store, holds: HoldStore, workflow: HoldWorkflow
) -> None:
    from gateway.hold import transitions as tr
    from gateway.hold.details import details_of
    from gateway.message import Envelope, QueuedMessage, new_message_id
    from tests.support.holding import raw_message

    mid = new_message_id()
    store.accept([(QueuedMessage(mid, Envelope("taro@example.co.jp", RCPTS), 0.0, pending=RCPTS), raw_message(mid))])
    v = verdict(Action.HOLD_SENDER)
    first = workflow._new_hold(mid, "taro@example.co.jp", RCPTS, v, raw_message(mid), workflow.clock())
    from gateway.hold.model import AuditEntry

    assert holds.create(first, AuditEntry(mid, 1.0, "held", "system", "", "held_sender"))  # then the crash
    assert details_of(v, raw_message(mid))["subject"].startswith("report")
    lease = store.claim_message(Queue.INBOUND, mid, 30)
    assert lease is not None
    await workflow.hold(lease, v, raw_message(mid))
    (link,) = links_to(store, "taro@example.co.jp")
    await workflow.act(mid, secret_of(link)[1], Scope.SENDER, "confirm")
    assert [m.id for m in outbound_real(store)] == [mid]
    assert tr.mark_notified(holds.get(mid)) is None  # type: ignore[arg-type]


def test_details_say_when_the_content_was_not_inspected() -> None:
    """A hold decided without reading the content (no rule reads it) says so on its page, rather
    than showing an empty list of findings as if none were found."""
    from gateway.hold.details import complete, details_of
    from tests.support.holding import raw_message

    v = verdict(Action.HOLD_SENDER)

    def render(details: dict[str, Any], lang: str) -> str:
        from gateway.hold.labels import Labels
        from gateway.web.i18n import translator

        page = _page_env().get_template("_details.html")
        hold = type("H", (), {"details": details, "rule": "r"})()
        return page.render(hold=hold, details=complete(details), t=translator(lang), lang=lang, labels=Labels(lang))

    for inspected, lang, text in [
        (False, "en", "were not scanned for personal data"),
        (False, "ja", "個人情報の検査をしていません"),
        (True, "en", None),
    ]:
        v.facts = {"content_inspected": inspected}
        details = details_of(v, raw_message("m1"))
        assert details["content_inspected"] is inspected
        html = render(details, lang)
        if text is None:
            assert "not scanned" not in html
        else:
            assert text in html
    old = details_of(v, raw_message("m1"))
    del old["content_inspected"]  # a hold stored before the flag existed
    assert "not scanned" not in render(old, "en")


def _page_env() -> Any:
    import jinja2

    from gateway.mail.safe_text import one_line
    from gateway.resources import shipped

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(shipped("templates") / "web")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["line"] = one_line
    return env


@pytest.mark.parametrize(
    ("refused", "state", "event"),
    [
        (RCPTS, HoldState.DELIVERY_FAILED, "delivery_failed"),  # nobody got it: never "delivered"
        (RCPTS[:1], HoldState.DELIVERED, "delivered"),  # some did: delivered, with the failures counted
    ],
)
async def test_a_released_hold_is_delivered_only_if_delivery_reached_someone(
    store: Store, workflow: HoldWorkflow, refused: tuple[str, ...], state: HoldState, event: str
) -> None:
    from gateway.config import Config
    from gateway.outbound.worker import DeliveryWorker
    from tests.support.sink import RecordingSink

    hold = await put_on_hold(store, workflow, verdict(Action.HOLD_SENDER))
    _, secret = secret_of(links_to(store, "taro@example.co.jp")[0])
    await workflow.act(hold.id, secret, Scope.SENDER, "confirm")
    with RecordingSink() as sink:
        for address in refused:
            sink.refuse_rcpt[address] = "550 5.1.1 No such user"
        config = Config.model_validate({"relay": {"smarthost": f"127.0.0.1:{sink.port}"}})
        worker = DeliveryWorker.from_config(store, config, holds=workflow.holds)
        while await worker.run_once():
            pass
        await worker.close()
    done = workflow.holds.get(hold.id)
    assert done is not None and done.state is state
    assert done.delivery == {"delivered": len(RCPTS) - len(refused), "failed": len(refused)}
    audit = workflow.holds.audit(hold.id)
    assert audit[-1].event == event
    assert audit[-1].detail == f"{len(RCPTS) - len(refused)} delivered, {len(refused)} failed"
