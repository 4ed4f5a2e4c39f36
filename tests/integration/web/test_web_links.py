"""The link pages over HTTP (the real Starlette app on real stores): GET/HEAD change nothing, actions
need POST with a CSRF token, and every misuse of a token is refused with nothing changed."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from gateway.hold import tokens
from gateway.hold.model import HoldState
from gateway.hold.store import HoldStore
from gateway.hold.workflow import HoldWorkflow
from gateway.passwords import hash_password
from gateway.store.base import Queue, Store
from gateway.verdict import Action
from gateway.web.app import create_app
from gateway.web.auth import FORM_SECONDS
from tests.conftest import MakeMessage
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

CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')


def users_file(tmp_path: Path) -> Path:
    path = tmp_path / "users.yaml"
    pw = hash_password("pw-admin", n=2**10)
    users = [
        {"username": "admin", "password_hash": pw, "roles": ["admin"]},
        {"username": "hanako", "password_hash": pw, "roles": ["approver"], "email": "hanako@example.co.jp"},
        {"username": "jiro", "password_hash": pw, "roles": ["approver"], "email": "jiro@example.co.jp"},
    ]
    path.write_text(yaml.safe_dump({"users": users}))
    return path


@pytest.fixture
def web_config(tmp_path: Path) -> Any:
    return hold_config(web={"users_file": str(users_file(tmp_path)), "approvers_sign_in": True})


@pytest.fixture
def workflow(store: Store, holds: HoldStore, web_config: Any) -> HoldWorkflow:
    return HoldWorkflow.from_config(store, holds, web_config)


@pytest.fixture
async def client(
    store: Store, holds: HoldStore, workflow: HoldWorkflow, web_config: Any
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(web_config, store, holds, workflow)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw.test:8025") as c:
        yield c


def path_of(link: str) -> str:
    return link.split("gw.test:8025", 1)[1]


async def open_page(client: httpx.AsyncClient, link: str) -> str:
    page = await client.get(path_of(link))
    assert page.status_code == 200
    match = CSRF.search(page.text)
    assert match, page.text
    return match.group(1)


def state(holds: HoldStore, hid: str) -> tuple[Any, int]:
    h = holds.get(hid)
    assert h is not None
    return h.to_json(), len(holds.audit(hid))


async def held(store: Store, workflow: HoldWorkflow, action: Action = Action.HOLD_SENDER, **kw: Any) -> tuple[str, str]:
    hold = await put_on_hold(store, workflow, verdict(action, **kw))
    links = [link for link in links_to(store, "taro@example.co.jp") if secret_of(link)[0] == hold.id]
    return hold.id, links[0]


async def test_page_shows_details_with_security_headers_and_changes_nothing(
    client: httpx.AsyncClient, store: Store, holds: HoldStore, workflow: HoldWorkflow
) -> None:
    hid, link = await held(store, workflow)
    before = state(holds, hid)
    for method in ("GET", "HEAD", "GET"):
        r = await client.request(method, path_of(link))
        assert r.status_code == 200
        assert r.headers["cache-control"] == "no-store"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert "default-src 'none'" in r.headers["content-security-policy"]
    page = (await client.get(path_of(link))).text
    assert "partner@partner.example" in page and "list.xlsx" in page and "ta***@example.com" in page
    assert "月次報告をお送りします" in page  # the first lines of the body
    assert 'name="viewport"' in page and "http" not in page.split("<body>")[1].replace("http://gw.test", "")
    assert state(holds, hid) == before
    assert outbound_real(store) == []


async def test_confirm_with_csrf_releases_and_the_page_then_says_so(
    client: httpx.AsyncClient, store: Store, holds: HoldStore, workflow: HoldWorkflow
) -> None:
    _hid, link = await held(store, workflow)
    csrf = await open_page(client, link)
    r = await client.post(
        path_of(link) + "/confirm",
        data={"csrf": csrf, "choose": "1", "keep": ["partner@partner.example", "boss@example.co.jp"]},
    )
    assert r.status_code == 303
    (out,) = outbound_real(store)
    assert out.pending == ("partner@partner.example", "boss@example.co.jp")
    page = await client.get(r.headers["location"])
    assert "送信しました" in page.text and 'id="confirm"' not in page.text
    again = await client.post(
        path_of(link) + "/confirm", data={"csrf": csrf, "choose": "1", "keep": ["boss@example.co.jp"]}
    )
    assert again.status_code == 409
    assert len(outbound_real(store)) == 1


async def test_misuse_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, store: Store, holds: HoldStore, workflow: HoldWorkflow
) -> None:
    hid, link = await held(store, workflow)
    other_id, other_link = await held(store, workflow)
    csrf = await open_page(client, link)
    before = state(holds, hid)
    secret = secret_of(link)[1]
    tampered = secret[:-2] + ("AA" if secret[-2:] != "AA" else "BB")
    attempts = [
        ("GET", path_of(link) + "/confirm", None),  # GET on an action URL
        ("HEAD", path_of(link) + "/confirm", None),
        ("GET", path_of(link) + "/cancel", None),
        ("POST", path_of(link) + "/confirm", {}),  # missing CSRF
        ("POST", path_of(link) + "/confirm", {"csrf": "0" * 64}),  # wrong CSRF
        ("POST", path_of(link) + "/confirm", {"csrf": csrf[:-1] + ("0" if csrf[-1] != "0" else "1")}),
        ("POST", path_of(link) + "/approve", {"csrf": csrf}),  # wrong action for this token
        ("POST", path_of(link) + "/delete", {"csrf": csrf}),  # no such action
        ("POST", f"/h/{hid}/{tampered}/confirm", {"csrf": csrf}),  # tampered token
        ("POST", f"/h/{hid}/{secret_of(other_link)[1]}/confirm", {"csrf": csrf}),  # another message's token
        ("POST", f"/h/{other_id}/{secret}/confirm", {"csrf": csrf}),  # this token on another message
    ]
    for method, url, data in attempts:
        r = await client.request(method, url, data=data)
        assert r.status_code in (403, 404, 405, 409), (method, url, r.status_code)
    assert state(holds, hid) == before
    assert holds.get(other_id).state is HoldState.HELD_SENDER  # type: ignore[union-attr]
    assert outbound_real(store) == []
    # CSRF of one hold does not work on another (bound to the hold).
    r = await client.post(path_of(other_link) + "/confirm", data={"csrf": csrf})
    assert r.status_code == 403
    # The form token is bound to the link's secret (not to a cookie: two tabs never spoil each other):
    # a token of another link of the same message, and one older than a form lives, are refused.
    web = client._transport.app.state.web  # type: ignore[attr-defined]
    foreign = web.auth.form_token(hid, tokens.digest("x" * 43) + ":")
    stale = web.auth.form_token(hid, tokens.digest(secret) + ":", now=time.time() - FORM_SECONDS - 60)
    for bad in (foreign, stale):
        r = await client.post(path_of(link) + "/cancel", data={"csrf": bad})
        assert r.status_code == 403
    assert state(holds, hid) == before


async def test_reused_and_expired_links_are_refused(
    client: httpx.AsyncClient, store: Store, holds: HoldStore, workflow: HoldWorkflow
) -> None:
    hid, link = await held(store, workflow)
    csrf = await open_page(client, link)
    assert (await client.post(path_of(link) + "/cancel", data={"csrf": csrf})).status_code == 303
    before = state(holds, hid)
    r = await client.post(path_of(link) + "/confirm", data={"csrf": csrf})
    assert r.status_code == 409
    assert state(holds, hid) == before
    # expired: move the clock of the workflow past the deadline
    hid2, link2 = await held(store, workflow)
    csrf2 = await open_page(client, link2)
    real = workflow.clock
    workflow.clock = lambda: real() + 25 * 3600
    try:
        before = state(holds, hid2)
        r = await client.post(path_of(link2) + "/confirm", data={"csrf": csrf2})
        assert r.status_code == 403 and ("有効期限" in r.text or "expired" in r.text)
        assert state(holds, hid2) == before
    finally:
        workflow.clock = real
    assert outbound_real(store) == []


async def test_approver_must_sign_in_as_the_person_the_link_was_sent_to(
    client: httpx.AsyncClient, store: Store, holds: HoldStore, workflow: HoldWorkflow
) -> None:
    hid, link = await held(store, workflow, Action.HOLD_MANAGER, approvers=["hanako@example.co.jp"])
    csrf = await open_page(client, link)
    assert (await client.post(path_of(link) + "/confirm", data={"csrf": csrf})).status_code == 303
    (approver_link,) = links_to(store, "hanako@example.co.jp")
    page = await client.get(path_of(approver_link))
    assert "/admin/login" in page.text and 'id="approve"' not in page.text
    # (the sender page's form token is bound to the sender's link: it never works on the approver's)
    before = state(holds, hid)
    # not signed in
    assert (await client.post(path_of(approver_link) + "/approve", data={"csrf": csrf})).status_code == 403
    # signed in as another approver: another user's token
    login = await client.get("/admin/login")
    login_csrf = CSRF.search(login.text).group(1)  # type: ignore[union-attr]
    r = await client.post("/admin/login", data={"csrf": login_csrf, "username": "jiro", "password": "pw-admin"})
    assert r.status_code == 303
    assert (await client.post(path_of(approver_link) + "/approve", data={"csrf": csrf})).status_code == 403
    assert state(holds, hid) == before
    # signed in as hanako: the page's form (bound to her session and this link) approves
    r = await client.post("/admin/login", data={"csrf": login_csrf, "username": "hanako", "password": "pw-admin"})
    assert r.status_code == 303
    assert (await client.post(path_of(approver_link) + "/approve", data={"csrf": csrf})).status_code == 403
    approver_csrf = await open_page(client, approver_link)
    assert approver_csrf != csrf
    r = await client.post(path_of(approver_link) + "/approve", data={"csrf": approver_csrf, "comment": "ok"})
    assert r.status_code == 303
    assert [m.id for m in outbound_real(store)] == [hid]


async def test_admin_pages_api_and_metrics(
    client: httpx.AsyncClient, store: Store, holds: HoldStore, workflow: HoldWorkflow, make_message: MakeMessage
) -> None:
    hid, _ = await held(store, workflow)
    hid2, _ = await held(store, workflow)
    assert (await client.get("/admin")).status_code == 303  # to sign-in
    assert (await client.get("/api/holds")).status_code == 401
    login = await client.get("/admin/login")
    csrf = CSRF.search(login.text).group(1)  # type: ignore[union-attr]
    bad = await client.post("/admin/login", data={"csrf": csrf, "username": "admin", "password": "nope"})
    assert bad.status_code == 401
    r = await client.post(
        "/admin/login", data={"csrf": csrf, "username": "admin", "password": "pw-admin", "next": "//evil.example/"}
    )
    assert r.status_code == 303 and r.headers["location"] == "/admin"
    queue = await client.get("/admin", params={"state": "held_sender", "sender": "taro"})
    assert hid in queue.text and hid2 in queue.text
    # What the gateway could not process: flagged on the queue page, listed with the error and the
    # number of failures on the shunt page.
    broken, broken_raw = make_message(failures=5, shunt_reason="outbound worker failed 5 times: <ValueError>")
    store.accept([(broken, broken_raw)], Queue.SHUNT)
    assert 'id="shunt-alert"' in (await client.get("/admin")).text
    shunt_page = (await client.get("/admin/shunt")).text
    card = shunt_page[shunt_page.index(f'id="shunt-{broken.id}"') :]
    assert "outbound worker failed 5 times: &lt;ValueError&gt;" in card and "<dd>5</dd>" in card
    detail = await client.get(f"/admin/holds/{hid}")
    admin_csrf = CSRF.search(detail.text).group(1)  # type: ignore[union-attr]
    assert (await client.post(f"/admin/holds/{hid}/release", data={})).status_code == 403  # no CSRF
    r = await client.post(f"/admin/holds/{hid}/release", data={"csrf": admin_csrf})
    assert r.status_code == 303
    assert [m.id for m in outbound_real(store)] == [hid]
    # JSON API: JSON only for changes, Basic auth works too
    r = await client.post(f"/api/holds/{hid2}/extend", data={"hours": "2"})
    assert r.status_code == 415
    r = await client.post(f"/api/holds/{hid2}/extend", json={"hours": 2}, auth=("admin", "pw-admin"))
    assert r.status_code == 200 and r.json()["hold"]["state"] == "held_sender"
    r = await client.post(f"/api/holds/{hid2}/reject", json={"comment": "no"})
    assert r.status_code == 200 and r.json()["hold"]["state"] == "rejected"
    assert (await client.post(f"/api/holds/{hid2}/release", json={})).status_code == 409
    listed = (await client.get("/api/holds")).json()["holds"]
    assert {h["id"] for h in listed} == {hid, hid2} and all("tokens" not in h for h in listed)
    stats = (await client.get("/api/stats")).json()["rules"]["pii_first_time_external"]
    assert stats["holds"] == 2 and stats["released_as_is"] == 1 and stats["rejected"] == 1
    assert stats["cancel_ratio"] == 0.0
    assert len((await client.get(f"/api/holds/{hid}")).json()["audit"]) >= 3
    assert (await client.get("/api/audit")).json()["audit"]
    schema = (await client.get("/api/openapi.json")).json()
    assert "/api/holds/{hold_id}/{action}" in schema["paths"]
    for page in ("/admin/audit", "/admin/stats"):
        assert (await client.get(page)).status_code == 200
    metrics = (await client.get("/metrics")).text
    assert 'gateway_queue_messages{queue="outbound"}' in metrics
    assert 'gateway_holds{state="released"} 1.0' in metrics
    assert "gateway_scan_seconds" in metrics


async def test_unknown_link_is_404_without_details(client: httpx.AsyncClient, store: Store) -> None:
    r = await client.get("/h/0123/abcdef")
    assert r.status_code == 404 and r.headers["cache-control"] == "no-store"
    assert store.counts()[Queue.HOLD] == 0


async def test_page_shows_misaddressed_evidence_side_by_side(
    client: httpx.AsyncClient, store: Store, workflow: HoldWorkflow
) -> None:
    v = verdict(Action.HOLD_SENDER, rule="misaddressed_external")
    v.facts["misaddressed"] = {
        "evidence": [
            {
                "signal": "addressee_mismatch",
                "seen": "株式会社エグザンプル 営業部 山田様<script>",
                "where": "body",
                "attachment": "",
                "known_at": ["example-client.com"],
                "goes_to": ["partner.example"],
                "ja": "本文の宛名「株式会社エグザンプル 営業部 山田様」は example-client.com の方です",
                "en": "The addressee in the body ...",
            }
        ]
    }
    hold = await put_on_hold(store, workflow, v)
    (link,) = [x for x in links_to(store, "taro@example.co.jp") if secret_of(x)[0] == hold.id]
    page = (await client.get(path_of(link) + "?lang=ja")).text
    table = page.split('class="evidence"', 1)[1].split("</table>", 1)[0]
    assert "宛名と宛先の食い違い" in page and "メールの内容" in table and "今回の宛先" in table
    assert "本文の宛名" in table and "example-client.com" in table and "partner.example" in table
    assert "株式会社エグザンプル 営業部 山田様&lt;script&gt;" in table and "<script>" not in page
    notice = next(body_of(mail) for m, mail in notices(store) if m.envelope.rcpt_tos == ("taro@example.co.jp",))
    assert "宛名と宛先の食い違い" in notice and "example-client.com" in notice
