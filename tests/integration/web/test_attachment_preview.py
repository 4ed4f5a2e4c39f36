"""The masked preview of each attachment's text on the hold pages (issue 18, item 8), over HTTP on the
real app and stores, with the previews made by a real inspection worker from a real message: a My
Number in an xlsx appears masked, a script in a text file is text, an unreadable file says so, a
zip member is shown with its path; previews go when the held message goes, never into notices or
the API."""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import xlsxwriter

from gateway.config.inspection import InspectionConfig
from gateway.extract import ExtractLimits
from gateway.hold.model import HoldState
from gateway.hold.store import HoldStore
from gateway.hold.workflow import HoldWorkflow
from gateway.inspection.pool import InspectPool
from gateway.scan import ScanConfig, ScanContext
from gateway.store.base import Store
from gateway.verdict import Action
from gateway.web.app import create_app
from tests.integration.web.test_hold_pages import (
    BASE,
    held,
    path_of,
    rich_verdict,
    sign_in,
    token_in,
    users_file,
    visible,
)
from tests.support.holding import hold_config, links_to, notices
from tests.unit.extract.extract_fixtures import attach, mail

MY_NUMBER = "123456789018"
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
APPROVER = "hanako@example.co.jp"


def sheet() -> bytes:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet("明細")
    for i, row in enumerate([["氏名", "マイナンバー", "携帯"], ["高橋 一郎", MY_NUMBER, "090-8364-8737"]]):
        ws.write_row(i, 0, row)
    wb.close()
    return buf.getvalue()


def message() -> bytes:
    m = mail("資料をお送りします。")
    attach(m, sheet(), "申込者.xlsx")
    attach(m, f"メモ {XSS}\n二行目\n".encode(), "memo.txt", "text/plain")
    attach(m, b"%PDF-1.7\n" + b"\x00garbage" * 40, "壊れた.pdf", "application/pdf")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("中身/連絡先.csv", "氏名,電話\n佐藤 花子,03-5555-1234\n")
    attach(m, buf.getvalue(), "まとめ.zip")
    return m.as_bytes()


@pytest.fixture(scope="module")
def previews() -> Iterator[list[dict[str, Any]]]:
    pool = InspectPool(ScanConfig(ner_window_chars=0), InspectionConfig(workers=1))
    pool.start_sync()
    try:
        _, scan = pool.inspect_sync(message(), ExtractLimits(), ScanContext(sender="taro@example.co.jp"))
        yield [p.to_json() for p in scan.previews]
    finally:
        pool.close_sync()


@pytest.fixture
def workflow(store: Store, holds: HoldStore, tmp_path: Path) -> HoldWorkflow:
    config = hold_config(web={"users_file": str(users_file(tmp_path)), "approvers_sign_in": True})
    return HoldWorkflow.from_config(store, holds, config)


@pytest.fixture
async def client(
    store: Store, holds: HoldStore, workflow: HoldWorkflow, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    config = hold_config(web={"users_file": str(users_file(tmp_path)), "approvers_sign_in": True})
    app = create_app(config, store, holds, workflow)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        yield c


def verdict_with(previews: list[dict[str, Any]], action: Action = Action.HOLD_MANAGER) -> Any:
    v = rich_verdict(action, approvers=[APPROVER]) if action is Action.HOLD_MANAGER else rich_verdict(action)
    v.previews = previews
    return v


def assert_preview(html: str) -> None:
    text = visible(html)
    assert "添付ファイルの内容 (冒頭)" in text
    assert MY_NUMBER not in html and "**********18" in text  # the My Number, masked
    # the middle digits masked; looked for in the text, and as the number anywhere in the page (a
    # random hex token in a form may hold "8364" by chance)
    assert "8364" not in text and "090-8364" not in html and "090-****-8737" in text
    assert "一郎" not in html and "高橋**" in text
    assert "<script>alert" not in html and "onerror=alert(1)>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html  # shown as text
    assert "壊れた.pdf" in text and "読み取れませんでした" in text
    assert "まとめ.zip › 中身/連絡先.csv" in text and "03-5***-1234" in text and "花子" not in html
    assert "unknown-format" not in text and "parse-error" not in text  # reasons in words


async def test_the_preview_is_masked_escaped_and_on_every_hold_page(
    client: httpx.AsyncClient,
    store: Store,
    holds: HoldStore,
    workflow: HoldWorkflow,
    previews: list[dict[str, Any]],
) -> None:
    assert {p["file"] for p in previews} >= {"申込者.xlsx", "memo.txt", "壊れた.pdf", "まとめ.zip › 中身/連絡先.csv"}
    hid, link = await held(store, workflow, verdict_with(previews))
    sender_page = await client.get(path_of(link) + "?lang=ja")
    assert_preview(sender_page.text)
    en = (await client.get(path_of(link) + "?lang=en")).text
    assert "Could not be read" in en and "Start of the attachment&#39;s text" in en
    await client.post(path_of(link) + "/confirm", data={"csrf": token_in(sender_page.text)})
    assert_preview((await client.get(path_of(link))).text)  # still held, waiting for approval
    (approver_link,) = links_to(store, APPROVER)
    await sign_in(client, "hanako")
    approver_page = (await client.get(path_of(approver_link))).text
    assert 'id="approve"' in approver_page
    assert_preview(approver_page)
    await sign_in(client, "admin")
    assert_preview((await client.get(f"/admin/holds/{hid}")).text)
    api = (await client.get(f"/api/holds/{hid}")).json()
    assert "previews" not in api["hold"]
    for _, notice in notices(store):  # notices carry findings' samples, never the attachments' text
        body = notice.as_string()
        assert "二行目" not in body and "氏名 | マイナンバー" not in body


async def test_previews_go_with_the_held_message(
    client: httpx.AsyncClient,
    store: Store,
    holds: HoldStore,
    workflow: HoldWorkflow,
    previews: list[dict[str, Any]],
) -> None:
    hid, link = await held(store, workflow, verdict_with(previews, Action.HOLD_SENDER))
    stored = holds.get(hid)
    assert stored is not None and stored.previews and "**********18" not in repr(stored)
    page = await client.get(path_of(link))
    await client.post(path_of(link) + "/cancel", data={"csrf": token_in(page.text)})
    done = holds.get(hid)
    assert done is not None and done.state is HoldState.CANCELLED and done.settled
    assert done.previews == [] and store.get(hid) is None  # the message and its previews are gone together
    assert "添付ファイルの内容" not in (await client.get(path_of(link))).text
