"""Away from the approver's inbox page (issue 18, item 7), over HTTP on the real app and both hold
store backends: POST with the page's form token sets and clears it (GET changes nothing), the deputy
then sees the held mail in their inbox and decides it, and `hold.away` in the configuration still
counts."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from gateway.hold.model import HoldState
from gateway.hold.store import HoldStore
from gateway.hold.workflow import HoldWorkflow
from gateway.passwords import hash_password
from gateway.store.base import Store
from gateway.verdict import Action
from gateway.web.app import create_app
from tests.integration.web.test_hold_pages import BASE, accessible, held, path_of, rich_verdict, token_in
from tests.support.holding import hold_config, outbound_real

AWAY_CSRF = re.compile(r'id="(?:away|back)-form">\s*<input type="hidden" name="csrf" value="([0-9a-f]+)"')


def config(tmp_path: Path) -> Any:
    pw = hash_password("pw", n=2**10)
    users = [
        {"username": name, "password_hash": pw, "roles": roles, "email": f"{name}@example.co.jp"}
        for name, roles in (("hanako", ["approver"]), ("saburo", ["approver"]), ("goro", ["approver"]))
    ] + [{"username": "clerk", "password_hash": pw, "roles": [], "email": "clerk@example.co.jp"}]
    path = tmp_path / "users.yaml"
    path.write_text(yaml.safe_dump({"users": users}))
    return hold_config(
        web={"users_file": str(path)},
        hold={"away": ["ichiro@example.co.jp"], "deputies": {"ichiro@example.co.jp": ["goro@example.co.jp"]}},
    )


@pytest.fixture
def workflow(store: Store, holds: HoldStore, tmp_path: Path) -> HoldWorkflow:
    return HoldWorkflow.from_config(store, holds, config(tmp_path))


@pytest.fixture
async def client(
    store: Store, holds: HoldStore, workflow: HoldWorkflow, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(config(tmp_path), store, holds, workflow)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        yield c


async def sign_in(client: httpx.AsyncClient, username: str) -> None:
    client.cookies.clear()
    page = await client.get("/admin/login")
    r = await client.post("/admin/login", data={"csrf": token_in(page.text), "username": username, "password": "pw"})
    assert r.status_code == 303


async def waiting_for(store: Store, client: httpx.AsyncClient, workflow: HoldWorkflow, approver: str) -> str:
    hid, link = await held(store, workflow, rich_verdict(Action.HOLD_MANAGER, approvers=[approver]))
    page = await client.get(path_of(link))
    await client.post(path_of(link) + "/confirm", data={"csrf": token_in(page.text)})
    return hid


async def test_away_from_the_inbox_and_back(
    client: httpx.AsyncClient, store: Store, holds: HoldStore, workflow: HoldWorkflow
) -> None:
    hid = await waiting_for(store, client, workflow, "hanako@example.co.jp")
    await sign_in(client, "hanako")
    page = await client.get("/inbox?lang=ja")
    accessible(page.text)
    assert "不在設定" in page.text and 'id="away-set"' in page.text
    options = re.findall(r'<option value="([^"]+)"', page.text)
    assert options == ["goro@example.co.jp", "saburo@example.co.jp"]  # approvers with an address, not herself
    (csrf,) = AWAY_CSRF.findall(page.text)
    # refused: no form token, a token of another form, someone not offered, herself
    assert (await client.post("/inbox/away", data={"deputy": "saburo@example.co.jp"})).status_code == 403
    inbox_token = token_in(page.text)
    r = await client.post("/inbox/away", data={"csrf": inbox_token, "deputy": "saburo@example.co.jp"})
    assert r.status_code == 403
    for who in ("clerk@example.co.jp", "hanako@example.co.jp", "evil@evil.example"):
        assert (await client.post("/inbox/away", data={"csrf": csrf, "deputy": who})).status_code == 400
    assert (await client.get("/inbox/away?deputy=saburo@example.co.jp")).status_code == 405  # GET changes nothing
    assert holds.away() == {}
    r = await client.post("/inbox/away?lang=ja", data={"csrf": csrf, "deputy": "saburo@example.co.jp"})
    assert r.status_code == 303 and holds.away() == {"hanako@example.co.jp": "saburo@example.co.jp"}
    page = await client.get("/inbox?lang=ja")
    assert "代理: saburo@example.co.jp" in page.text and 'id="away-clear"' in page.text
    accessible(page.text)
    # the deputy sees the held mail (marked as the deputy's) and approves it
    await sign_in(client, "saburo")
    page = await client.get("/inbox?lang=ja")
    assert hid in page.text and "hanako@example.co.jp さんの代理" in page.text
    r = await client.post("/inbox", data={"csrf": token_in(page.text), "action": "approve", "hold": [hid]})
    assert r.status_code == 303 and "done=1" in r.headers["location"]
    done = holds.get(hid)
    assert done is not None and done.state is HoldState.RELEASED and done.decided_by == "saburo@example.co.jp"
    assert [m.id for m in outbound_real(store)] == [hid]
    # back again: the deputy neither sees nor decides what is held for hanako from now on (what was
    # held while she was away asked him from the start, with a link of his own, and stays his)
    while_away = await waiting_for(store, client, workflow, "hanako@example.co.jp")
    await sign_in(client, "hanako")
    page = await client.get("/inbox?lang=ja")
    (csrf,) = AWAY_CSRF.findall(page.text)
    assert (await client.post("/inbox/away", data={"csrf": csrf, "deputy": ""})).status_code == 303
    assert holds.away() == {}
    other = await waiting_for(store, client, workflow, "hanako@example.co.jp")
    await sign_in(client, "saburo")
    page = await client.get("/inbox?lang=ja")
    assert other not in page.text and while_away in page.text
    r = await client.post("/inbox", data={"csrf": token_in(page.text), "action": "approve", "hold": [other]})
    assert "refused=1" in r.headers["location"]
    assert holds.get(other).state is HoldState.HELD_MANAGER  # type: ignore[union-attr]


async def test_hold_away_in_the_configuration_still_counts(
    client: httpx.AsyncClient, store: Store, holds: HoldStore, workflow: HoldWorkflow
) -> None:
    hid = await waiting_for(store, client, workflow, "ichiro@example.co.jp")
    await sign_in(client, "goro")
    page = await client.get("/inbox?lang=ja")
    assert hid in page.text
    r = await client.post(
        "/inbox", data={"csrf": token_in(page.text), "action": "reject", "hold": [hid], "comment": "宛先違い"}
    )
    assert "done=1" in r.headers["location"]
    assert holds.get(hid).state is HoldState.REJECTED  # type: ignore[union-attr]
