"""The hold pages as people use them, over HTTP on the real app and real stores (issue 18): what they
show (labels, never codes; one safe line of message text; times with their zone), and the flows
that used to fail (two tabs, withdrawing after asking for approval, error pages, the shunt queue)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from gateway.hold.model import HoldState, Scope
from gateway.hold.store import HoldStore
from gateway.hold.workflow import HoldWorkflow
from gateway.passwords import hash_password
from gateway.store.base import Queue, Store
from gateway.verdict import Action, Reason
from gateway.web.app import create_app
from tests.support.holding import hold_config, links_to, outbound_real, put_on_hold, secret_of, verdict

CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')
BASE = "http://gw.test:8025"
RAW_CODES = ("PERSON", "JP_ADDRESS", "EMAIL_ADDRESS", "first_time_org", "first_time_sender", "state_", "rows 2-21")


def users_file(tmp_path: Path) -> Path:
    path = tmp_path / "users.yaml"
    pw = hash_password("pw-admin", n=2**10)
    users = [
        {"username": "admin", "password_hash": pw, "roles": ["admin"]},
        {"username": "hanako", "password_hash": pw, "roles": ["approver"], "email": "hanako@example.co.jp"},
    ]
    path.write_text(yaml.safe_dump({"users": users}))
    return path


def rich_verdict(action: Action = Action.HOLD_SENDER, **extra: Any) -> Any:
    """A verdict as the policy engine makes it for a spreadsheet of people sent to a new organisation."""
    v = verdict(action, **extra)
    reason = Reason("pii_first_time_external", "12 personal names and 20 postal addresses", "氏名 12件、住所 20件")
    v.reasons[0] = reason
    v.facts["recipients"]["recipients"][0].update(visibility="to", signals=["first_time_sender", "first_time_org"])
    v.facts["recipients"]["recipients"][1].update(visibility="cc")
    v.facts["recipients"]["recipients"][2].update(visibility="hidden")
    v.facts["attachments"] = [{"name": "名簿.xlsx", "type": "xlsx", "size": 20480}]
    where = "attachment 名簿.xlsx › sheet 明細 › rows 2-21 › part 2"
    v.facts["personal_data"]["findings"] = [
        {"entity": "PERSON", "count": 12, "records": 12, "where": where, "samples": ["山田**"]},
        {"entity": "JP_ADDRESS", "count": 20, "records": 20, "where": where, "samples": ["東京都***"]},
    ]
    return v


def visible(html: str) -> str:
    """The text a person reads (no tags, no attribute values)."""
    return re.sub(r"<[^>]*>", " ", html)


class Page(HTMLParser):
    """What accessibility checks need from a page: h1s, controls and their labels."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.h1 = 0
        self.controls: list[dict[str, str]] = []
        self.label_for: set[str] = set()
        self.open_labels = 0
        self.wrapped: list[dict[str, str]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "h1":
            self.h1 += 1
        if tag == "label":
            self.open_labels += 1
            if a.get("for"):
                self.label_for.add(a["for"])
        if tag in ("input", "select", "textarea") and a.get("type") != "hidden":
            self.controls.append(a)
            if self.open_labels:
                self.wrapped.append(a)

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.open_labels -= 1

    def unlabelled(self) -> list[dict[str, str]]:
        return [
            c
            for c in self.controls
            if c not in self.wrapped and c.get("id") not in self.label_for and not c.get("aria-label")
        ]


def accessible(html: str) -> None:
    page = Page(html)
    assert page.h1 == 1, "one h1 per page"
    assert page.unlabelled() == [], page.unlabelled()


@pytest.fixture
def web_config(tmp_path: Path) -> Any:
    return hold_config(
        web={"users_file": str(users_file(tmp_path)), "approvers_sign_in": True, "metrics_token": "m-secret"}
    )


@pytest.fixture
def workflow(store: Store, holds: HoldStore, web_config: Any) -> HoldWorkflow:
    return HoldWorkflow.from_config(store, holds, web_config)


@pytest.fixture
async def client(
    store: Store, holds: HoldStore, workflow: HoldWorkflow, web_config: Any
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(web_config, store, holds, workflow)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        yield c


def path_of(link: str) -> str:
    return link.split("gw.test:8025", 1)[1]


def token_in(html: str) -> str:
    match = CSRF.search(html)
    assert match, html
    return match.group(1)


async def held(
    store: Store, workflow: HoldWorkflow, v: Any = None, sender: str = "taro@example.co.jp"
) -> tuple[str, str]:
    hold = await put_on_hold(store, workflow, v or rich_verdict(), sender=sender)
    links = [link for link in links_to(store, sender) if secret_of(link)[0] == hold.id]
    return hold.id, links[0]


async def sign_in(client: httpx.AsyncClient, username: str) -> None:
    page = await client.get("/admin/login")
    r = await client.post(
        "/admin/login", data={"csrf": token_in(page.text), "username": username, "password": "pw-admin"}
    )
    assert r.status_code == 303


async def test_pages_show_labels_not_codes_and_counts_agree(
    client: httpx.AsyncClient, store: Store, workflow: HoldWorkflow
) -> None:
    _, link = await held(store, workflow)
    ja = (await client.get(path_of(link) + "?lang=ja")).text
    for code in RAW_CODES:
        assert code not in visible(ja), code
    for label in ("氏名", "住所", "初めての送信先組織", "初めての送信先", "社外", "2〜21行目", "シート「明細」", "JST"):
        assert label in ja, label
    # To, Cc and Bcc apart
    assert ja.index(">To<") < ja.index("partner@partner.example") < ja.index(">Cc<") < ja.index("other@other.example")
    assert ja.index(">Bcc<") < ja.index("boss@example.co.jp")
    # the reason says 12 and 20; so do the findings
    assert "氏名 12件" in ja and "住所 20件" in ja
    accessible(ja)
    en = (await client.get(path_of(link) + "?lang=en")).text
    for code in RAW_CODES:
        assert code not in visible(en), code
    assert "personal names" in en and "first mail to this organisation" in en and "rows 2–21" in en
    accessible(en)


async def test_message_text_is_one_line_on_pages(
    client: httpx.AsyncClient, store: Store, workflow: HoldWorkflow
) -> None:
    v = rich_verdict()
    v.facts["attachments"] = [{"name": "a\r\nb\u202eexe.txt", "type": "txt", "size": 3}]
    _, link = await held(store, workflow, v)
    page = (await client.get(path_of(link))).text
    assert "a bexe.txt" in page and "\u202e" not in page


async def test_delivered_shows_in_words_and_failed_delivery_is_not_delivered(
    client: httpx.AsyncClient, store: Store, holds: HoldStore, workflow: HoldWorkflow
) -> None:
    from gateway.config import Config
    from gateway.outbound.worker import DeliveryWorker
    from tests.support.sink import RecordingSink

    results = {}
    for refused in (False, True):
        hid, link = await held(store, workflow)
        page = await client.get(path_of(link))
        r = await client.post(path_of(link) + "/confirm", data={"csrf": token_in(page.text)})
        assert r.status_code == 303
        with RecordingSink() as sink:
            if refused:
                for rcpt in holds.get(hid).recipients:  # type: ignore[union-attr]
                    sink.refuse_rcpt[rcpt] = "550 5.1.1 No such user"
            config = Config.model_validate({"relay": {"smarthost": f"127.0.0.1:{sink.port}"}})
            worker = DeliveryWorker.from_config(store, config, holds=holds)
            while await worker.run_once():
                pass
            await worker.close()
        results[refused] = (hid, link)
    await sign_in(client, "admin")
    for refused, (hid, link) in results.items():
        assert holds.get(hid).state is (HoldState.DELIVERY_FAILED if refused else HoldState.DELIVERED)  # type: ignore[union-attr]
        ja = (await client.get(path_of(link) + "?lang=ja")).text
        en = (await client.get(path_of(link) + "?lang=en")).text
        admin = (await client.get(f"/admin/holds/{hid}?lang=ja")).text
        queue = (await client.get("/admin?lang=ja")).text
        for html in (ja, en, admin, queue):
            assert "state_" not in visible(html) and "delivery_failed" not in visible(html)
        if refused:
            assert "届きませんでした" in ja and "送信しました。" not in ja and "could not be delivered" in en
            assert "配信できませんでした" in admin and "配信失敗" in admin
        else:
            assert "宛先のメールサーバーが受け取りました" in ja and "accepted it" in en
            assert "配信しました" in admin and "配信完了" in admin


async def test_two_notices_opened_in_two_tabs_both_work(
    client: httpx.AsyncClient, store: Store, holds: HoldStore, workflow: HoldWorkflow
) -> None:
    """Both pages are opened first (a webmail opens each link in a new tab), then acted on. The
    pages are opened from another site: no cookie is sent, the Referer is another origin."""
    (hid1, link1), (hid2, link2) = await held(store, workflow), await held(store, workflow)
    cross_site = {"referer": "https://webmail.example/inbox", "sec-fetch-site": "cross-site"}
    tab1 = await client.get(path_of(link1), headers=cross_site)
    tab2 = await client.get(path_of(link2), headers=cross_site)
    assert "set-cookie" not in tab1.headers and "set-cookie" not in tab2.headers  # nothing to overwrite
    r2 = await client.post(path_of(link2) + "/cancel", data={"csrf": token_in(tab2.text)})
    r1 = await client.post(path_of(link1) + "/confirm", data={"csrf": token_in(tab1.text)})
    assert r1.status_code == 303 and r2.status_code == 303
    assert holds.get(hid1).state is HoldState.RELEASED  # type: ignore[union-attr]
    assert holds.get(hid2).state is HoldState.CANCELLED  # type: ignore[union-attr]


async def test_a_signed_in_approver_keeps_the_session_on_a_link_from_another_site(
    client: httpx.AsyncClient, store: Store, holds: HoldStore, workflow: HoldWorkflow
) -> None:
    hid, link = await held(store, workflow, rich_verdict(Action.HOLD_MANAGER, approvers=["hanako@example.co.jp"]))
    page = await client.get(path_of(link))
    assert (await client.post(path_of(link) + "/confirm", data={"csrf": token_in(page.text)})).status_code == 303
    login = await client.get("/admin/login")
    r = await client.post(
        "/admin/login", data={"csrf": token_in(login.text), "username": "hanako", "password": "pw-admin"}
    )
    cookie = r.headers["set-cookie"].lower()
    assert "samesite=lax" in cookie and "httponly" in cookie  # sent on a top-level navigation from a webmail
    (approver_link,) = links_to(store, "hanako@example.co.jp")
    page = await client.get(path_of(approver_link), headers={"sec-fetch-site": "cross-site"})
    assert 'id="approve"' in page.text and "signin-link" not in page.text
    r = await client.post(path_of(approver_link) + "/approve", data={"csrf": token_in(page.text)})
    assert r.status_code == 303
    assert [m.id for m in outbound_real(store)] == [hid]


async def test_the_sender_withdraws_after_asking_for_approval(
    client: httpx.AsyncClient, store: Store, holds: HoldStore, workflow: HoldWorkflow
) -> None:
    hid, link = await held(store, workflow, rich_verdict(Action.HOLD_MANAGER, approvers=["hanako@example.co.jp"]))
    page = await client.get(path_of(link))
    assert (await client.post(path_of(link) + "/confirm", data={"csrf": token_in(page.text)})).status_code == 303
    page = await client.get(path_of(link))
    assert "承認を依頼しました" in page.text and 'id="withdraw"' in page.text and 'id="confirm"' not in page.text
    assert (await client.post(path_of(link) + "/confirm", data={"csrf": token_in(page.text)})).status_code == 409
    r = await client.post(path_of(link) + "/cancel", data={"csrf": token_in(page.text)})
    assert r.status_code == 303
    done = holds.get(hid)
    assert done is not None and done.state is HoldState.CANCELLED and done.settled
    assert [a.event for a in holds.audit(hid)][-1] == "withdrawn"
    assert outbound_real(store) == [] and store.get(hid) is None
    (approver_link,) = links_to(store, "hanako@example.co.jp")
    await sign_in(client, "hanako")
    assert 'id="approve"' not in (await client.get(path_of(approver_link))).text


async def test_the_senders_list_withdraws_any_of_their_held_mail_and_only_theirs(
    client: httpx.AsyncClient, store: Store, holds: HoldStore, workflow: HoldWorkflow
) -> None:
    hid1, link1 = await held(store, workflow)
    hid2, _ = await held(store, workflow, rich_verdict(Action.HOLD_MANAGER, approvers=["hanako@example.co.jp"]))
    other_id, _ = await held(store, workflow, sender="jiro@example.co.jp")
    page = await client.get(path_of(link1))
    mine_url = re.search(r'href="(/h/[^"]+/mine\?lang=ja)"', page.text)
    assert mine_url
    mine = await client.get(mine_url.group(1))
    assert mine.status_code == 200 and hid1 in mine.text and hid2 in mine.text and other_id not in mine.text
    accessible(mine.text)
    form = re.search(
        rf'action="([^"]+/mine/{hid2}/withdraw[^"]*)"[^>]*>\s*<input type="hidden" name="csrf" value="([0-9a-f]+)"',
        mine.text,
    )
    assert form
    r = await client.post(form.group(1), data={"csrf": form.group(2)})
    assert r.status_code == 303
    assert holds.get(hid2).state is HoldState.CANCELLED  # type: ignore[union-attr]
    # Someone else's message, or a token for another form: refused, nothing changed.
    base = form.group(1).split("/mine/")[0]
    r = await client.post(f"{base}/mine/{other_id}/withdraw", data={"csrf": form.group(2)})
    assert r.status_code == 403
    assert holds.get(other_id).state is HoldState.HELD_SENDER  # type: ignore[union-attr]
    assert holds.get(hid1).state is HoldState.HELD_SENDER  # type: ignore[union-attr]


@pytest.mark.parametrize("required", [True, False])
async def test_rejecting_needs_a_reason_when_configured(
    store: Store, holds: HoldStore, tmp_path: Path, required: bool
) -> None:
    config = hold_config(
        web={"users_file": str(users_file(tmp_path)), "approvers_sign_in": False},
        hold={"reject_reason_required": required},
    )
    workflow = HoldWorkflow.from_config(store, holds, config)
    app = create_app(config, store, holds, workflow)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        hid, link = await held(store, workflow, rich_verdict(Action.HOLD_MANAGER, approvers=["hanako@example.co.jp"]))
        page = await client.get(path_of(link))
        await client.post(path_of(link) + "/confirm", data={"csrf": token_in(page.text)})
        (approver_link,) = links_to(store, "hanako@example.co.jp")
        page = await client.get(path_of(approver_link))
        assert ("required" in page.text.split('id="reason"')[1].split(">")[0]) is required
        assert 'data-confirm="' in page.text  # reject asks first (confirm dialog)
        r = await client.post(path_of(approver_link) + "/reject", data={"csrf": token_in(page.text), "comment": " "})
        if required:
            assert r.status_code == 400 and "理由" in r.text
            assert holds.get(hid).state is HoldState.HELD_MANAGER  # type: ignore[union-attr]
            r = await client.post(
                path_of(approver_link) + "/reject", data={"csrf": token_in(page.text), "comment": "宛先が違います"}
            )
        assert r.status_code == 303
        assert holds.get(hid).state is HoldState.REJECTED  # type: ignore[union-attr]


async def test_error_pages_lead_back_and_switch_language(
    client: httpx.AsyncClient, store: Store, workflow: HoldWorkflow
) -> None:
    _, link = await held(store, workflow)
    r = await client.post(path_of(link) + "/confirm?lang=ja", data={"csrf": "0" * 72})
    assert r.status_code == 403 and "フォームの有効期限" in r.text
    accessible(r.text)
    back = re.search(r'id="back"', r.text) and re.search(r'href="([^"]+)" id="back"', r.text)
    assert back and back.group(1).startswith(path_of(link))
    switch = re.search(r'class="lang" href="([^"]+)"', r.text)
    assert switch
    page = await client.get(switch.group(1).replace("&amp;", "&"))
    assert page.status_code == 200 and 'lang="en"' in page.text  # not 405: the switch goes to a page


async def test_admin_queue_columns_and_the_shunt_queue(
    client: httpx.AsyncClient, store: Store, holds: HoldStore, workflow: HoldWorkflow
) -> None:
    hid, _ = await held(store, workflow)
    await sign_in(client, "admin")
    queue = await client.get("/admin?lang=ja")
    accessible(queue.text)
    assert f"report {hid}" in queue.text  # the subject
    assert "partner@partner.example" in queue.text and "pii_first_time_external" in queue.text
    assert re.search(r'<select name="rule" id="f-rule">.*pii_first_time_external', queue.text, re.S)
    assert re.search(r"\d+ 分", queue.text)  # the age
    # A message the pipeline gave up on, shown with retry and discard.
    from gateway.message import Envelope, QueuedMessage, new_message_id

    ids = []
    for _ in range(2):
        mid = new_message_id()
        m = QueuedMessage(id=mid, envelope=Envelope("taro@example.co.jp", ("x@partner.example",)), received_at=0.0)
        store.accept([(m, b"Subject: s\r\n\r\nbody\r\n")])
        lease = store.claim_message(Queue.INBOUND, mid, 30)
        assert lease is not None
        lease.message.shunt_reason = "pipeline: ValueError"
        lease.message.attempts = 3
        assert store.move(lease, Queue.SHUNT, lease.message)
        ids.append(mid)
    assert "shunt-alert" in (await client.get("/admin")).text
    shunt = await client.get("/admin/shunt?lang=ja")
    accessible(shunt.text)
    assert all(mid in shunt.text for mid in ids) and "pipeline: ValueError" in shunt.text
    token = token_in(shunt.text)
    assert (await client.post(f"/admin/shunt/{ids[0]}/retry", data={"csrf": token})).status_code == 303
    found = store.get(ids[0])
    assert found is not None and found[0] is Queue.INBOUND and found[1].attempts == 0
    assert (await client.post(f"/admin/shunt/{ids[1]}/discard", data={"csrf": token})).status_code == 303
    assert store.get(ids[1]) is None
    assert (await client.post(f"/admin/shunt/{ids[1]}/discard", data={"csrf": token})).status_code == 409
    assert (await client.post(f"/admin/shunt/{ids[0]}/discard", data={"csrf": "0" * 72})).status_code == 403
    for path in ("/admin/audit", "/admin/stats", f"/admin/holds/{hid}"):
        html = (await client.get(path + "?lang=ja")).text
        accessible(html)
        assert "state_" not in visible(html) and ">held<" not in html


async def test_openapi_validates_and_metrics_need_the_token(client: httpx.AsyncClient) -> None:
    from openapi_spec_validator import validate

    schema = (await client.get("/api/openapi.json")).json()
    validate(schema)
    assert {"/api/holds", "/api/holds/{hold_id}", "/api/holds/{hold_id}/{action}"} <= set(schema["paths"])
    assert (await client.get("/metrics")).status_code == 401
    assert (await client.get("/metrics", headers={"authorization": "Bearer wrong"})).status_code == 401
    r = await client.get("/metrics", headers={"authorization": "Bearer m-secret"})
    assert r.status_code == 200 and "gateway_queue_messages" in r.text


async def test_link_page_is_accessible_for_both_roles(
    client: httpx.AsyncClient, store: Store, workflow: HoldWorkflow
) -> None:
    _, link = await held(store, workflow, rich_verdict(Action.HOLD_MANAGER, approvers=["hanako@example.co.jp"]))
    page = await client.get(path_of(link))
    accessible(page.text)
    await client.post(path_of(link) + "/confirm", data={"csrf": token_in(page.text)})
    (approver_link,) = links_to(store, "hanako@example.co.jp")
    accessible((await client.get(path_of(approver_link))).text)  # asks to sign in
    await sign_in(client, "hanako")
    html = (await client.get(path_of(approver_link))).text
    assert 'id="approve"' in html
    accessible(html)
    accessible((await client.get("/admin/login")).text)
    assert Scope.APPROVER  # (imported for the reader: approver links are the APPROVER scope)


async def test_the_approvers_inbox_approves_several_at_once(
    client: httpx.AsyncClient, store: Store, holds: HoldStore, workflow: HoldWorkflow
) -> None:
    ids = []
    for approver in ("hanako@example.co.jp", "hanako@example.co.jp", "someone@example.co.jp"):
        hid, link = await held(store, workflow, rich_verdict(Action.HOLD_MANAGER, approvers=[approver]))
        page = await client.get(path_of(link))
        await client.post(path_of(link) + "/confirm", data={"csrf": token_in(page.text)})
        ids.append(hid)
    assert (await client.get("/inbox")).status_code == 303  # sign in first
    await sign_in(client, "hanako")
    page = await client.get("/inbox?lang=ja")
    accessible(page.text)
    assert ids[0] in page.text and ids[1] in page.text and ids[2] not in page.text
    token = token_in(page.text)
    r = await client.post("/inbox", data={"csrf": token, "action": "reject", "hold": [ids[0]], "comment": ""})
    assert r.status_code == 400  # a reason is required
    # one decided meanwhile by an admin: reported, not sent twice
    await workflow.admin(ids[1], "release", "root")
    r = await client.post("/inbox", data={"csrf": token, "action": "approve", "hold": [ids[0], ids[1], ids[2]]})
    assert r.status_code == 303
    result = (await client.get(r.headers["location"])).text
    assert "1 通を処理しました" in result and "2 通は既に" in result
    assert sorted(m.id for m in outbound_real(store)) == sorted(ids[:2])
    assert holds.get(ids[2]).state is HoldState.HELD_MANAGER  # type: ignore[union-attr]
    r = await client.post("/inbox", data={"csrf": "0" * 72, "action": "approve", "hold": [ids[2]]})
    assert r.status_code == 403


async def test_metrics_can_listen_elsewhere(store: Store, holds: HoldStore, tmp_path: Path) -> None:
    """web.metrics_listen: /metrics on a listener of its own (real sockets), not on the pages' port."""
    from gateway.web.server import start_web
    from tests.support.net import free_port

    web_port, metrics_port = free_port(), free_port()
    config = hold_config(
        web={
            "listen": f"127.0.0.1:{web_port}",
            "metrics_listen": f"127.0.0.1:{metrics_port}",
            "metrics_token": "m-secret",
            "users_file": str(users_file(tmp_path)),
        }
    )
    server = await start_web(config, store, holds, HoldWorkflow.from_config(store, holds, config))
    try:
        async with httpx.AsyncClient() as c:
            assert (await c.get(f"http://127.0.0.1:{web_port}/metrics")).status_code == 404
            assert (await c.get(f"http://127.0.0.1:{web_port}/healthz")).status_code == 200
            assert (await c.get(f"http://127.0.0.1:{metrics_port}/metrics")).status_code == 401
            r = await c.get(f"http://127.0.0.1:{metrics_port}/metrics", headers={"authorization": "Bearer m-secret"})
            assert r.status_code == 200 and "gateway_queue_messages" in r.text
            assert (await c.get(f"http://127.0.0.1:{metrics_port}/admin")).status_code == 404
    finally:
        await server.close()


async def test_people_are_shown_by_their_directory_name(
    client: httpx.AsyncClient, store: Store, workflow: HoldWorkflow
) -> None:
    v = rich_verdict(Action.HOLD_MANAGER, approvers=["hanako@example.co.jp"])
    v.names = {"taro@example.co.jp": "山田 太郎", "hanako@example.co.jp": "佐藤 花子", "boss@example.co.jp": "部長"}
    _, link = await held(store, workflow, v)
    page = (await client.get(path_of(link))).text
    assert "山田 太郎 &lt;taro@example.co.jp&gt;" in page and "佐藤 花子 &lt;hanako@example.co.jp&gt;" in page
    assert "部長 &lt;boss@example.co.jp&gt;" in page
    body = [m for m in store.list_queue(Queue.OUTBOUND, 100) if m.is_notice][-1]
    text = store.raw(body.id)
    import email as email_lib
    import email.policy as email_policy

    mail = email_lib.message_from_bytes(text, policy=email_policy.default)
    content = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "山田 太郎 <taro@example.co.jp> 様" in content and "部長 <boss@example.co.jp>" in content
