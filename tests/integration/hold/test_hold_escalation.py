"""Escalation (issue 18, item 7): nobody approves within hold.escalate_after_hours → the approvers'
deputies are asked, then the fallback group, each with a notice and a link of their own."""

from __future__ import annotations

import pytest

from gateway.hold.model import HoldState, Scope
from gateway.hold.store import HoldStore
from gateway.hold.transitions import Refused
from gateway.hold.workflow import HoldWorkflow
from gateway.store.base import Store
from gateway.verdict import Action
from tests.support.holding import (
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
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def workflow(store: Store, holds: HoldStore, clock: Clock) -> HoldWorkflow:
    config = hold_config(
        hold={
            "retry_seconds": 0.01,
            "escalate_after_hours": 2,
            "remind_before_minutes": 0,
            "deputies": {"hanako@example.co.jp": ["jiro@example.co.jp"]},
            "fallback_approvers": ["somu@example.co.jp"],
        }
    )
    return HoldWorkflow.from_config(store, holds, config, clock=clock)


async def asked_for_approval(store: Store, workflow: HoldWorkflow) -> str:
    hold = await put_on_hold(store, workflow, verdict(Action.HOLD_MANAGER, approvers=["hanako@example.co.jp"]))
    (link,) = [link for link in links_to(store, "taro@example.co.jp") if secret_of(link)[0] == hold.id]
    await workflow.act(hold.id, secret_of(link)[1], Scope.SENDER, "confirm")
    return hold.id


async def test_deputies_then_the_fallback_group_are_asked(
    store: Store, holds: HoldStore, workflow: HoldWorkflow, clock: Clock
) -> None:
    hid = await asked_for_approval(store, workflow)
    assert len(links_to(store, "hanako@example.co.jp")) == 1
    clock.now += 3600
    await workflow.tick()
    assert links_to(store, "jiro@example.co.jp") == []  # not yet
    clock.now += 3600
    await workflow.tick()
    (deputy_link,) = links_to(store, "jiro@example.co.jp")
    (mail,) = [m for q, m in notices(store) if q.envelope.rcpt_tos == ("jiro@example.co.jp",)]
    assert "代理の承認者" in body_of(mail)
    hold = holds.get(hid)
    assert hold is not None and hold.escalation == 1 and "jiro@example.co.jp" in hold.approvers
    clock.now += 2 * 3600
    await workflow.tick()
    assert len(links_to(store, "somu@example.co.jp")) == 1
    hold = holds.get(hid)
    assert hold is not None and hold.escalation == 2 and hold.escalate_at is None
    assert hold.next_due() == hold.expires_at  # nobody left to ask: the loop waits for the deadline
    clock.now += 3600
    await workflow.tick()
    assert len(links_to(store, "somu@example.co.jp")) == 1  # asked once
    assert [a.event for a in holds.audit(hid)].count("escalated") == 2
    # the deputy approves; the manager's own link then finds it done
    await workflow.act(hid, secret_of(deputy_link)[1], Scope.APPROVER, "approve")
    assert [m.id for m in outbound_real(store)] == [hid]
    with pytest.raises(Refused):
        await workflow.act(hid, secret_of(links_to(store, "hanako@example.co.jp")[0])[1], Scope.APPROVER, "approve")
    done = holds.get(hid)
    assert done is not None and done.state is HoldState.RELEASED and done.decided_by == "jiro@example.co.jp"


async def test_signed_in_approval_only_for_those_asked(
    store: Store, holds: HoldStore, workflow: HoldWorkflow, clock: Clock
) -> None:
    hid = await asked_for_approval(store, workflow)
    with pytest.raises(Refused) as e:
        await workflow.approve_signed_in(hid, "jiro@example.co.jp", "approve")  # not asked (yet)
    assert e.value.code == "actor"
    clock.now += 2 * 3600
    await workflow.tick()
    await workflow.approve_signed_in(hid, "jiro@example.co.jp", "reject", "宛先違い")
    with pytest.raises(Refused):
        await workflow.approve_signed_in(hid, "hanako@example.co.jp", "approve")
    done = holds.get(hid)
    assert done is not None and done.state is HoldState.REJECTED and done.comment == "宛先違い"
    assert outbound_real(store) == []


async def test_a_deputy_acts_while_the_manager_is_away(store: Store, holds: HoldStore, clock: Clock) -> None:
    config = hold_config(
        hold={"away": ["hanako@example.co.jp"], "deputies": {"hanako@example.co.jp": ["jiro@example.co.jp"]}}
    )
    workflow = HoldWorkflow.from_config(store, holds, config, clock=clock)
    hid = await asked_for_approval(store, workflow)
    # both are asked at once: the manager (who may be back early) and the deputy
    assert len(links_to(store, "hanako@example.co.jp")) == 1
    (deputy_link,) = links_to(store, "jiro@example.co.jp")
    await workflow.act(hid, secret_of(deputy_link)[1], Scope.APPROVER, "approve")
    done = holds.get(hid)
    assert done is not None and done.state is HoldState.RELEASED and done.decided_by == "jiro@example.co.jp"
    assert [m.id for m in outbound_real(store)] == [hid]


async def test_an_approver_sets_themself_away_and_back(store: Store, holds: HoldStore, clock: Clock) -> None:
    """Away with a deputy from the inbox (kept in the hold store): a hold already waiting becomes the
    deputy's to decide, a new one sends the deputy a notice too; back again, the deputy has no say."""
    config = hold_config(
        hold={"away": ["ichiro@example.co.jp"], "deputies": {"ichiro@example.co.jp": ["goro@example.co.jp"]}}
    )
    workflow = HoldWorkflow.from_config(store, holds, config, clock=clock)
    waiting = await asked_for_approval(store, workflow)
    with pytest.raises(Refused) as e:
        await workflow.set_away("hanako@example.co.jp", "HANAKO@example.co.jp")
    assert e.value.code == "deputy"
    await workflow.set_away("hanako@example.co.jp", "saburo@example.co.jp")
    assert await workflow.acting_for("saburo@example.co.jp") == {"hanako@example.co.jp"}
    assert links_to(store, "saburo@example.co.jp") == []  # the waiting one: from the inbox, no notice
    newer = await asked_for_approval(store, workflow)
    assert len(links_to(store, "saburo@example.co.jp")) == 1  # asked from the start, like hold.away
    assert "saburo@example.co.jp" in holds.get(newer).approvers  # type: ignore[union-attr]
    await workflow.approve_signed_in(waiting, "saburo@example.co.jp", "approve")
    done = holds.get(waiting)
    assert done is not None and done.state is HoldState.RELEASED and done.decided_by == "saburo@example.co.jp"
    assert holds.audit(waiting)[-2].detail == "deputy of hanako@example.co.jp"
    await workflow.set_away("hanako@example.co.jp", None)
    third = await asked_for_approval(store, workflow)
    with pytest.raises(Refused) as e:
        await workflow.approve_signed_in(third, "saburo@example.co.jp", "approve")
    assert e.value.code == "actor"
    # hold.away in the configuration is still honoured next to the inbox setting
    assert await workflow.acting_for("goro@example.co.jp") == {"ichiro@example.co.jp"}


async def test_escalation_asks_the_deputy_an_away_approver_chose(
    store: Store, holds: HoldStore, workflow: HoldWorkflow, clock: Clock
) -> None:
    hid = await asked_for_approval(store, workflow)
    await holds_away(holds)
    clock.now += 2 * 3600
    await workflow.tick()
    assert len(links_to(store, "jiro@example.co.jp")) == 1 and len(links_to(store, "saburo@example.co.jp")) == 1
    hold = holds.get(hid)
    assert hold is not None and hold.escalation == 1 and "saburo@example.co.jp" in hold.approvers


async def holds_away(holds: HoldStore) -> None:
    """hanako said she is away after her hold was already waiting (no deputy notice then)."""
    holds.set_away("hanako@example.co.jp", "saburo@example.co.jp")
