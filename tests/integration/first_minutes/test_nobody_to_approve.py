"""A hold for a manager's approval when nobody is configured to approve: the admins of the users file
are asked (queue and mail), the sender is told at once, the log says so; with no admin address either,
the sender is told that nobody is asked by mail and the hold waits in the admin queue."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
import yaml

from gateway.hold.model import HoldState, Scope
from gateway.hold.store import HoldStore
from gateway.hold.workflow import HoldWorkflow
from gateway.passwords import hash_password
from gateway.service import admin_addresses
from gateway.store.base import Store
from gateway.verdict import Action
from gateway.web.app import create_app
from tests.support.holding import body_of, hold_config, links_to, notices, put_on_hold, secret_of, verdict


def users(tmp_path: Path, *, admin_email: str) -> Path:
    pw = hash_password("pw-admin-1234", n=2**10)
    entries = [
        {"username": "admin", "password_hash": pw, "roles": ["admin"], "email": admin_email},
        {"username": "viewer", "password_hash": pw, "roles": ["approver"], "email": "someone@example.co.jp"},
    ]
    path = tmp_path / "users.yaml"
    path.write_text(yaml.safe_dump({"users": entries}), encoding="utf-8")
    return path


async def test_admins_are_asked_and_the_sender_is_told(
    store: Store, holds: HoldStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = hold_config(web={"users_file": str(users(tmp_path, admin_email="IT@example.co.jp"))})
    assert admin_addresses(config) == ["IT@example.co.jp"]  # role admin only, as written
    workflow = HoldWorkflow.from_config(store, holds, config, admins=admin_addresses(config))
    with caplog.at_level(logging.WARNING, logger="gateway.hold.workflow"):
        hold = await put_on_hold(store, workflow, verdict(Action.HOLD_MANAGER, "bulk_pii_external"))
    assert hold.approvers == ("it@example.co.jp",) and hold.approver_source == "admins"
    assert any("no approver is configured" in r.getMessage() for r in caplog.records)
    assert "taro" not in caplog.text  # the log names no sender
    assert "asked the admins" in holds.audit(hold.id)[0].detail
    # The sender's notice, sent at once, says who is asked (ja and en are both in the notice set).
    ((_, mail),) = notices(store)
    assert "ゲートウェイの管理者に送られます" in body_of(mail)
    # The sender confirms: the admin gets an approval link by mail, and can approve with it.
    _, secret = secret_of(links_to(store, "taro@example.co.jp")[0])
    await workflow.act(hold.id, secret, Scope.SENDER, "confirm")
    assert holds.get(hold.id).state is HoldState.HELD_MANAGER  # type: ignore[union-attr]
    (admin_link,) = links_to(store, "it@example.co.jp")
    await workflow.act(hold.id, secret_of(admin_link)[1], Scope.APPROVER, "approve")
    assert holds.get(hold.id).state.final or holds.get(hold.id).state is HoldState.RELEASING  # type: ignore[union-attr]


async def test_nobody_at_all_waits_for_the_admin_queue_and_the_page_says_so(
    store: Store, holds: HoldStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = hold_config(hold={"language": "en"})
    workflow = HoldWorkflow.from_config(store, holds, config, admins=admin_addresses(config))
    with caplog.at_level(logging.WARNING, logger="gateway.hold.workflow"):
        hold = await put_on_hold(store, workflow, verdict(Action.HOLD_MANAGER, "bulk_pii_external"))
    assert hold.approvers == () and hold.approver_source == "none"
    assert any("nobody is configured to approve" in r.getMessage() for r in caplog.records)
    ((_, mail),) = notices(store)
    assert "nobody is asked by mail" in body_of(mail)
    link = links_to(store, "taro@example.co.jp")[0]
    app = create_app(config, store, holds, workflow)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw.test:8025") as c:
        page = await c.get(link.split("gw.test:8025", 1)[1] + "?lang=ja")
        assert page.status_code == 200 and 'id="approver-note"' in page.text
        assert "どなたにも承認の依頼メールは届きません" in page.text
        page_en = await c.get(link.split("gw.test:8025", 1)[1] + "?lang=en")
        assert "nobody is asked by mail" in page_en.text


async def test_a_directory_approver_is_kept(store: Store, holds: HoldStore, tmp_path: Path) -> None:
    config = hold_config(web={"users_file": str(users(tmp_path, admin_email="it@example.co.jp"))})
    workflow = HoldWorkflow.from_config(store, holds, config, admins=admin_addresses(config))
    v = verdict(Action.HOLD_MANAGER, "bulk_pii_external", approvers=["hanako@example.co.jp"])
    hold = await put_on_hold(store, workflow, v)
    assert hold.approvers == ("hanako@example.co.jp",) and hold.approver_source == ""
    ((_, mail),) = notices(store)
    assert "管理者" not in body_of(mail)


async def test_root_redirects_to_the_admin_sign_in(store: Store, holds: HoldStore, tmp_path: Path) -> None:
    config = hold_config(web={"users_file": str(users(tmp_path, admin_email="it@example.co.jp"))})
    app = create_app(config, store, holds, HoldWorkflow.from_config(store, holds, config))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw.test:8025") as c:
        r = await c.get("/")
        assert r.status_code == 303 and r.headers["location"].startswith("/admin/login")
        sign_in = await c.get(r.headers["location"])
        assert sign_in.status_code == 200 and 'name="password"' in sign_in.text


def test_a_hold_record_from_an_older_or_newer_node_loads() -> None:
    from gateway.hold.model import Hold, HoldState

    record = {
        "id": "x", "state": "held_sender", "action": "hold_manager", "sender": "a@example.co.jp",
        "recipients": ["b@partner.example"], "rules": ["bulk_pii_external"], "created_at": 1.0, "expires_at": 2.0,
    }  # fmt: skip
    assert Hold.from_json(record).approver_source == ""  # written before the field existed
    newer = Hold.from_json({**record, "approver_source": "admins", "field_of_a_later_release": 1})
    assert newer.approver_source == "admins" and newer.state is HoldState.HELD_SENDER
