"""Property: whatever people and the clock do to a held message, in any order and repeated, it ends
in exactly one of released / cancelled / rejected / expired, and it is put on the outbound queue at
most once (exactly once when released)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.hold.backends import open_holds
from gateway.hold.model import FINAL, HoldState, Scope
from gateway.hold.store import HoldStore
from gateway.hold.transitions import Refused
from gateway.hold.workflow import HoldWorkflow
from gateway.store import open_store
from gateway.store.base import Queue, Store
from gateway.verdict import Action
from tests.support.holding import RCPTS, hold_config, links_to, put_on_hold, secret_of, verdict

APPROVERS = ["a1@example.co.jp", "a2@example.co.jp"]

step = st.one_of(
    st.tuples(st.just("confirm"), st.lists(st.sampled_from(RCPTS), max_size=3, unique=True)),
    st.tuples(st.just("cancel"), st.none()),
    st.tuples(st.just("approve"), st.sampled_from([0, 1])),
    st.tuples(st.just("reject"), st.sampled_from([0, 1])),
    st.tuples(st.just("admin"), st.sampled_from(["release", "reject", "extend"])),
    st.tuples(st.just("wait"), st.sampled_from([0.1, 1.0, 23.0, 30.0, 80.0])),
    st.tuples(st.just("tick"), st.none()),
    st.tuples(st.just("settle"), st.none()),
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, HoldStore]]:
    path: Path = tmp_path_factory.mktemp("prop") / "gateway.db"
    store, holds = open_store(f"sqlite://{path}"), open_holds(f"sqlite://{path}")
    yield store, holds
    holds.close()
    store.close()


async def run(store: Store, holds: HoldStore, kind: Action, steps: list[tuple[str, Any]]) -> None:
    clock = Clock()
    workflow = HoldWorkflow.from_config(store, holds, hold_config(), clock=clock)
    v = verdict(kind, approvers=APPROVERS) if kind is Action.HOLD_MANAGER else verdict(kind, delay_minutes=30)
    hold = await put_on_hold(store, workflow, v)
    hid = hold.id

    def links(to: str) -> list[str]:
        return [secret_of(link)[1] for link in links_to(store, to) if secret_of(link)[0] == hid]

    for name, arg in steps:
        try:
            if name == "confirm":
                for secret in links("taro@example.co.jp")[-1:]:
                    await workflow.act(hid, secret, Scope.SENDER, "confirm", keep=arg or None)
            elif name == "cancel":
                for secret in links("taro@example.co.jp")[-1:]:
                    await workflow.act(hid, secret, Scope.SENDER, "cancel")
            elif name in ("approve", "reject"):
                for secret in links(APPROVERS[arg])[-1:]:
                    await workflow.act(hid, secret, Scope.APPROVER, name)
            elif name == "admin":
                await workflow.admin(hid, arg, "root", hours=1.0)
            elif name == "wait":
                clock.now += arg * 3600
            elif name == "tick":
                await workflow.tick()
            else:
                await asyncio.gather(workflow.settle(hid), workflow.settle(hid))
        except Refused:
            pass
    # Let time run out: whatever is still waiting must end.
    for _ in range(3):
        clock.now += 200 * 3600
        await workflow.tick()
    final = holds.get(hid)
    assert final is not None
    assert final.state in FINAL and final.settled, final.state
    outbound = [m for m in store.list_queue(Queue.OUTBOUND, 10_000) if m.id == hid]
    assert len(outbound) == (1 if final.state is HoldState.RELEASED else 0)
    where = store.get(hid)
    assert where is None or where[0] is not Queue.HOLD
    if outbound:
        assert set(outbound[0].pending) <= set(RCPTS) and outbound[0].pending
        store_lease = store.claim_message(Queue.OUTBOUND, hid, 5)
        assert store_lease is not None and store.finish(store_lease)  # delivered: gone for good
    events = [a.event for a in holds.audit(hid)]
    terminal = {"cancelled", "withdrawn", "rejected", "expired", "released"}
    assert sum(1 for e in events if e in terminal) == 1, events


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from([Action.HOLD_SENDER, Action.HOLD_MANAGER, Action.DELAY]), steps=st.lists(step, max_size=12))
def test_any_sequence_ends_once_and_sends_at_most_once(
    stores: tuple[Store, HoldStore], kind: Action, steps: list[tuple[str, Any]]
) -> None:
    store, holds = stores
    asyncio.run(run(store, holds, kind, steps))


def test_the_strategy_reaches_every_ending(stores: tuple[Store, HoldStore]) -> None:
    """The property is not vacuous: plain sequences reach each of the four endings."""
    store, holds = stores
    cases = {
        HoldState.RELEASED: (Action.HOLD_SENDER, [("confirm", [])]),
        HoldState.CANCELLED: (Action.HOLD_SENDER, [("cancel", None)]),
        HoldState.REJECTED: (Action.HOLD_MANAGER, [("confirm", []), ("reject", 1)]),
        HoldState.EXPIRED: (Action.HOLD_SENDER, [("wait", 30.0), ("tick", None)]),
    }
    withdrawn = (HoldState.CANCELLED, (Action.HOLD_MANAGER, [("confirm", []), ("cancel", None)]))
    for expected, (kind, steps) in [*cases.items(), withdrawn]:
        before = {h.id for h in holds.find(holds_filter())}
        asyncio.run(run(store, holds, kind, steps))
        (new,) = [h for h in holds.find(holds_filter()) if h.id not in before]
        assert new.state is expected


def holds_filter() -> Any:
    from gateway.hold.store import HoldFilter

    return HoldFilter(limit=100_000)
