"""HoldStore contract on both backends: every transition, refusals change nothing, and release
happens once under races between tasks and between processes."""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from typing import Any

import pytest

from gateway.hold import tokens
from gateway.hold import transitions as tr
from gateway.hold.backends import open_holds
from gateway.hold.model import AuditEntry, Hold, HoldState, Scope
from gateway.hold.store import HoldFilter, HoldStore

T = tr.Timing(manager_seconds=3600, remind_before=600, retry_seconds=30)
NOW = 1_000_000.0


def new_hold(holds: HoldStore, hid: str = "h1", **kw: Any) -> tuple[Hold, str]:
    secret, token = tokens.mint(Scope.SENDER, "taro@example.co.jp")
    fields: dict[str, Any] = dict(
        id=hid,
        state=HoldState.HELD_SENDER,
        action="hold_sender",
        sender="taro@example.co.jp",
        recipients=("a@x.example", "b@y.example"),
        rules=("rule_a",),
        created_at=NOW,
        expires_at=NOW + 86400,
        remind_at=NOW + 86400 - 600,
        tokens=[token],
    )
    fields.update(kw)
    hold = Hold(**fields)
    assert holds.create(hold, AuditEntry(hid, NOW, "held", "system", "", hold.state.value))
    return hold, secret


def snapshot(holds: HoldStore, hid: str) -> tuple[Any, int, Any]:
    h = holds.get(hid)
    return (h.to_json() if h else None, len(holds.audit(hid)), holds.stats())


def test_create_get_find_counts_and_duplicate(holds: HoldStore) -> None:
    hold, _ = new_hold(holds)
    assert not holds.create(hold, AuditEntry("h1", NOW, "held", "system", "", "held_sender"))
    got = holds.get("h1")
    assert got is not None and got.to_json() == hold.to_json()
    assert holds.get("nope") is None
    new_hold(holds, "h2", sender="hanako@example.co.jp", rules=("rule_b",), created_at=NOW + 1)
    assert [h.id for h in holds.find(HoldFilter())] == ["h2", "h1"]
    assert [h.id for h in holds.find(HoldFilter(sender="HANAKO"))] == ["h2"]
    assert [h.id for h in holds.find(HoldFilter(rule="rule_a"))] == ["h1"]
    assert [h.id for h in holds.find(HoldFilter(older_than=NOW + 0.5))] == ["h1"]
    assert [h.id for h in holds.find(HoldFilter(states=(HoldState.RELEASED,)))] == []
    assert holds.counts() == {"held_sender": 2}
    assert holds.stats()["rule_a"]["holds"] == 1
    assert holds.secret() == holds.secret() and len(holds.secret()) == 32


def test_confirm_then_settle(holds: HoldStore) -> None:
    _, secret = new_hold(holds)
    change = holds.update("h1", tr.by_token(secret, Scope.SENDER, "confirm", NOW, T))
    assert change is not None and change.hold.state is HoldState.RELEASING
    assert holds.due(NOW) == []  # the actor settles; the loop only after retry_seconds
    assert [h.id for h in holds.due(NOW + 31)] == ["h1"]
    assert holds.update("h1", tr.settled(NOW + 1)) is not None
    h = holds.get("h1")
    assert h is not None and h.state is HoldState.RELEASED and h.settled
    assert holds.due(NOW + 10**9) == []
    assert holds.update("h1", tr.settled(NOW + 2)) is None  # idempotent
    assert holds.counts() == {"released": 1}
    assert holds.stats()["rule_a"]["released_as_is"] == 1
    assert [a.event for a in holds.audit("h1")] == ["held", "confirmed", "released"]
    assert [a.event for a in holds.audit()][:2] == ["released", "confirmed"]  # newest first


def test_confirm_keeping_some_recipients(holds: HoldStore) -> None:
    _, secret = new_hold(holds)
    change = holds.update("h1", tr.by_token(secret, Scope.SENDER, "confirm", NOW, T, keep=["b@y.example"]))
    assert change is not None and change.hold.keep == ("b@y.example",) and change.hold.removed == ("a@x.example",)
    assert holds.stats()["rule_a"]["recipient_removed"] == 1


def test_cancel(holds: HoldStore) -> None:
    _, secret = new_hold(holds)
    change = holds.update("h1", tr.by_token(secret, Scope.SENDER, "cancel", NOW, T))
    assert change is not None and change.hold.state is HoldState.CANCELLED and not change.hold.settled
    assert holds.stats()["rule_a"]["cancelled"] == 1


def test_manager_path_approve_and_reject(holds: HoldStore) -> None:
    for hid, action, final in (("m1", "approve", HoldState.RELEASING), ("m2", "reject", HoldState.REJECTED)):
        _, secret = new_hold(holds, hid, needs_approval=True, approvers=("boss@example.co.jp",))
        a_secret, a_token = tokens.mint(Scope.APPROVER, "boss@example.co.jp")
        change = holds.update(hid, tr.by_token(secret, Scope.SENDER, "confirm", NOW, T, approver_tokens=[a_token]))
        assert change is not None and change.hold.state is HoldState.HELD_MANAGER
        assert change.hold.expires_at == NOW + 3600 and change.hold.remind_at == NOW + 3000
        change = holds.update(hid, tr.by_token(a_secret, Scope.APPROVER, action, NOW + 5, T, comment="c"))
        assert change is not None and change.hold.state is final and change.hold.comment == "c"
        assert change.hold.decided_by == "boss@example.co.jp"


@pytest.mark.parametrize(
    ("setup", "secret_kind", "scope", "action", "code"),
    [
        ("plain", "tampered", Scope.SENDER, "confirm", "token"),
        ("plain", "other_hold", Scope.SENDER, "confirm", "token"),
        ("plain", "sender", Scope.APPROVER, "approve", "scope"),
        ("plain", "sender", Scope.SENDER, "approve", "scope"),
        ("used", "sender", Scope.SENDER, "cancel", "used"),
        ("plain", "sender_expired", Scope.SENDER, "confirm", "expired"),
        ("plain", "sender_wrong_actor", Scope.SENDER, "confirm", "actor"),
        ("manager", "sender_again", Scope.SENDER, "confirm", "used"),  # cancel: a withdrawal, allowed
    ],
)
def test_refusals_change_nothing(
    holds: HoldStore, setup: str, secret_kind: str, scope: Scope, action: str, code: str
) -> None:
    _, secret = new_hold(holds, needs_approval=setup == "manager", approvers=("boss@example.co.jp",))
    _, other_secret = new_hold(holds, "h2")
    if setup in ("used", "manager"):
        extra = holds.update("h1", tr.by_token(secret, Scope.SENDER, "confirm", NOW, T, keep=["a@x.example"]))
        assert extra is not None
    before = snapshot(holds, "h1")
    now, signed_in, use = NOW, None, secret
    if secret_kind == "tampered":
        use = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    elif secret_kind == "other_hold":
        use = other_secret
    elif secret_kind == "sender_expired":
        now = NOW + 86400
    elif secret_kind == "sender_wrong_actor":
        signed_in = "mallory@example.co.jp"
    with pytest.raises(tr.Refused) as e:
        holds.update("h1", tr.by_token(use, scope, action, now, T, signed_in=signed_in))
    assert e.value.code == code
    assert snapshot(holds, "h1") == before


def test_clock_expiry_reminder_and_delay(holds: HoldStore) -> None:
    new_hold(holds, "e1")
    new_hold(holds, "e2", release_on_expiry=True)
    new_hold(holds, "d1", state=HoldState.DELAYED, action="delay", expires_at=NOW + 300, remind_at=None)
    assert holds.update("e1", tr.by_clock(NOW, T)) is None  # nothing due
    assert sorted(h.id for h in holds.due(NOW + 86400 - 600)) == ["d1", "e1", "e2"]  # delay over, reminders
    s, t = tokens.mint(Scope.SENDER, "taro@example.co.jp")
    change = holds.update("e1", tr.by_clock(NOW + 86400 - 600, T, sender_token=t))
    assert change is not None and change.hold.reminded and tokens.match(s, change.hold.tokens) is not None
    assert holds.update("e1", tr.by_clock(NOW + 86400 - 500, T)) is None  # reminded once
    change = holds.update("d1", tr.by_clock(NOW + 300, T))
    assert change is not None and change.hold.state is HoldState.RELEASING
    change = holds.update("e1", tr.by_clock(NOW + 86400, T))
    assert change is not None and change.hold.state is HoldState.EXPIRED
    change = holds.update("e2", tr.by_clock(NOW + 86400, T))
    assert change is not None and change.hold.state is HoldState.RELEASING and change.hold.outcome == "expired"
    assert holds.stats()["rule_a"]["expired"] == 2


def test_admin_actions_and_refusal_on_final(holds: HoldStore) -> None:
    new_hold(holds, "a1")
    change = holds.update("a1", tr.by_admin("extend", "root", NOW, T, hours=24))
    assert change is not None and change.hold.expires_at == NOW + 2 * 86400
    assert change.hold.state is HoldState.HELD_SENDER
    with pytest.raises(tr.Refused):
        holds.update("a1", tr.by_admin("extend", "root", NOW, T, hours=0))
    change = holds.update("a1", tr.by_admin("reject", "root", NOW, T, comment="no"))
    assert change is not None and change.hold.state is HoldState.REJECTED and change.hold.decided_by == "admin:root"
    before = snapshot(holds, "a1")
    for action in ("release", "reject", "extend"):
        with pytest.raises(tr.Refused):
            holds.update("a1", tr.by_admin(action, "root", NOW, T, hours=1))
    assert snapshot(holds, "a1") == before


async def test_two_tasks_race_to_release_one_wins(holds: HoldStore) -> None:
    for i in range(10):
        hid = f"r{i}"
        _, secret = new_hold(holds, hid)

        def confirm(hid: str = hid, secret: str = secret) -> str:
            try:
                holds.update(hid, tr.by_token(secret, Scope.SENDER, "confirm", NOW, T))
                return "won"
            except tr.Refused as e:
                return e.code

        def admin(hid: str = hid) -> str:
            try:
                holds.update(hid, tr.by_admin("release", "root", NOW, T))
                return "won"
            except tr.Refused as e:
                return e.code

        results = await asyncio.gather(*(asyncio.to_thread(f) for f in (confirm, admin, confirm, admin)))
        assert results.count("won") == 1, results
        assert [a.event for a in holds.audit(hid)].count("held") == 1
        assert len(holds.audit(hid)) == 2


def _race_process(url: str, hid: str, secret: str, start_at: float, out: Any) -> None:
    holds = open_holds(url)
    try:
        time.sleep(max(0.0, start_at - time.time()))
        holds.update(hid, tr.by_token(secret, Scope.SENDER, "confirm", NOW, T))
        out.put("won")
    except tr.Refused as e:
        out.put(e.code)
    finally:
        holds.close()


def test_two_processes_race_to_release_one_wins(holds: HoldStore, store_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    for i in range(3):
        hid = f"p{i}"
        _, secret = new_hold(holds, hid)
        out = context.Queue()
        start_at = time.time() + 1.5
        procs = [context.Process(target=_race_process, args=(store_url, hid, secret, start_at, out)) for _ in range(2)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        results = sorted(out.get(timeout=10) for _ in procs)
        assert results == ["used", "won"] or results == ["state", "won"], results
        h = holds.get(hid)
        assert h is not None and h.state is HoldState.RELEASING
        assert holds.stats()["rule_a"]["released_as_is"] == i + 1


def test_away_is_set_replaced_and_cleared(holds: HoldStore, store_url: str) -> None:
    assert holds.away() == {}
    holds.set_away("Hanako@Example.co.jp", "Jiro@Example.co.jp")
    holds.set_away("ichiro@example.co.jp", "somu@example.co.jp")
    assert holds.away() == {"hanako@example.co.jp": "jiro@example.co.jp", "ichiro@example.co.jp": "somu@example.co.jp"}
    holds.set_away("hanako@example.co.jp", "saburo@example.co.jp")  # a new deputy replaces the old
    other = open_holds(store_url)  # another node sees the same
    try:
        assert other.away()["hanako@example.co.jp"] == "saburo@example.co.jp"
    finally:
        other.close()
    holds.set_away("hanako@example.co.jp", None)
    holds.set_away("nobody@example.co.jp", None)  # back when not away: nothing to do
    assert holds.away() == {"ichiro@example.co.jp": "somu@example.co.jp"}
    holds.clear()
    assert holds.away() == {}
