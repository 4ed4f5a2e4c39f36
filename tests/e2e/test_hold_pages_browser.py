"""The hold pages in headless Chromium (Debian's chromium + chromedriver, driven by selenium), on a
phone (390x844) and a desktop (1280x900), against a real gateway process and a recording SMTP sink.

The notices' links are opened from a "webmail": a page served from another origin (localhost, while
the gateway is 127.0.0.1: another site for the browser's cookie rules) with the links in target=_blank
anchors, as a webmail opens them. Flows: two notices opened in two tabs and both acted on; a
signed-in approver arriving from the webmail (no second sign-in) who must give a reason to reject;
a sender withdrawing after asking for approval; the sender's list; admin queue and shunt queue;
an error page and its language switch. Touch targets are measured on the phone.

Full-page screenshots go to test-artifacts/hold-pages/ (git-ignored)."""

from __future__ import annotations

import base64
import email
import email.policy
import re
import smtplib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

from gateway.passwords import hash_password
from tests.e2e.browser import (
    DIRECTORY,
    LINK,
    RULES,
    body,
    check_page,
    click_and_wait,
    message,
    replaced,
    shot,
    sign_in,
    wait_id,
)
from tests.support.gateway_proc import GatewayProcess, write_config
from tests.support.net import free_port, wait_for_port
from tests.support.sink import Received, RecordingSink

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.wait import WebDriverWait  # noqa: E402


@dataclass
class Node:
    sink: RecordingSink
    smtp_port: int
    web: str
    webmail: str  # the "webmail" origin (another site than the gateway)
    store_url: str
    pages: dict[str, str]  # webmail page name -> HTML
    log: Path

    def send(self, sender: str, to: list[str], subject: str, cc: list[str] = ()) -> str:  # type: ignore[assignment]
        """Send through the gateway; returns the link of the notice that comes back to the sender."""
        before = len(self.notices(sender))
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=30) as client:
            client.sendmail(sender, [*to, *cc], message(subject, sender, to, cc))
        assert self.sink.wait_until(lambda ms: len(self._notices(ms, sender)) > before, 120), self.log.read_text()
        (link,) = LINK.findall(body(self.notices(sender)[-1]))
        return link

    def notices(self, to: str) -> list[Received]:
        return self._notices(self.sink.snapshot(), to)

    @staticmethod
    def _notices(ms: list[Received], to: str) -> list[Received]:
        return [m for m in ms if m.mail_from == "" and m.rcpt_tos == (to,)]

    def inbox(self, name: str, links: list[str]) -> str:
        """A webmail page with these links (opened in new tabs); returns its URL."""
        items = "".join(
            f'<li><a href="{link}" target="_blank" rel="noopener" id="mail-{i}">通知 {i + 1}</a></li>'
            for i, link in enumerate(links)
        )
        self.pages[name] = f"<!doctype html><meta charset=utf-8><title>Webmail</title><ul>{items}</ul>"
        return f"{self.webmail}/{name}"


class _Webmail(BaseHTTPRequestHandler):
    pages: ClassVar[dict[str, str]] = {}

    def do_GET(self) -> None:
        html = self.pages.get(self.path.strip("/"), "")
        self.send_response(200 if html else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(html.encode())

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    tmp = tmp_path_factory.mktemp("hold-pages")
    rules = tmp / "local.d"
    rules.mkdir()
    (rules / "e2e.yaml").write_text(RULES, encoding="utf-8")
    (tmp / "directory.yaml").write_text(DIRECTORY, encoding="utf-8")
    pw = hash_password("pw-test", n=2**10)
    users = [
        {"username": "admin", "password_hash": pw, "roles": ["admin"]},
        {"username": "hanako", "password_hash": pw, "roles": ["approver"], "email": "hanako@example.co.jp"},
    ]
    (tmp / "users.yaml").write_text(yaml.safe_dump({"users": users}), encoding="utf-8")
    web_port = free_port()
    pages: dict[str, str] = {}
    handler = type("Webmail", (_Webmail,), {"pages": pages})
    webmail = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=webmail.serve_forever, daemon=True).start()
    with RecordingSink() as sink:
        config, port = write_config(
            tmp,
            {
                "relay": {"smarthost": f"127.0.0.1:{sink.port}"},
                "web": {
                    "listen": f"127.0.0.1:{web_port}",
                    "base_url": f"http://127.0.0.1:{web_port}",
                    "users_file": str(tmp / "users.yaml"),
                    "approvers_sign_in": True,
                },
                "policy": {"local_dir": str(rules), "directory": str(tmp / "directory.yaml"), "watch": False},
                "hold": {"loop_interval": 0.2},
            },
        )
        with GatewayProcess(config, port, tmp / "gw.log"):
            wait_for_port(web_port, timeout=30)
            yield Node(
                sink,
                port,
                f"http://127.0.0.1:{web_port}",
                f"http://localhost:{webmail.server_address[1]}",
                f"sqlite:///{tmp}/gateway.db",
                pages,
                tmp / "gw.log",
            )
    webmail.shutdown()


def open_from_webmail(driver: Any, anchor_id: str) -> None:
    """A click on a webmail's link (target=_blank): a new tab, navigated from the webmail's origin.
    Clicked from the page's own script: chromedriver's click waits on the opener and can hang."""
    driver.execute_script("document.getElementById(arguments[0]).click()", anchor_id)


def confirm_dialog(driver: Any, size: str, name: str) -> None:
    """The confirm dialog is open (a real <dialog>, in the screenshot): say yes."""
    WebDriverWait(driver, 10).until(lambda d: d.execute_script("return document.getElementById('confirm-dialog').open"))
    shot(driver, size, name)
    page = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.ID, "confirm-yes").click()
    WebDriverWait(driver, 30).until(replaced(page))  # the next page has come


def test_two_notices_opened_from_webmail_in_two_tabs(node: Node, browser: tuple[str, Any]) -> None:
    size, driver = browser
    first = node.send("taro@example.co.jp", ["partner@partner.example"], f"見積書 {size} 1", cc=["boss@example.co.jp"])
    second = node.send("taro@example.co.jp", ["wrong@other.example"], f"見積書 {size} 2")
    driver.get(node.inbox(f"tabs-{size}", [first, second]))
    inbox = driver.current_window_handle
    open_from_webmail(driver, "mail-0")
    open_from_webmail(driver, "mail-1")
    WebDriverWait(driver, 10).until(lambda d: len(d.window_handles) == 3)
    tabs = [h for h in driver.window_handles if h != inbox]
    by_link = {}
    for handle in tabs:
        driver.switch_to.window(handle)
        wait_id(driver, "state")
        by_link[driver.current_url.split("?")[0]] = handle
    # the second notice first: cancel it (a confirm dialog asks)
    driver.switch_to.window(by_link[second])
    shot(driver, size, "01-tab2-sender-page")
    check_page(driver, size)
    driver.find_element(By.ID, "cancel").click()
    confirm_dialog(driver, size, "02-tab2-cancel-dialog")
    result = wait_id(driver, "result")
    assert "取り消しました" in result.text
    # then the first: no "the form has expired"
    driver.switch_to.window(by_link[first])
    assert "To" in driver.find_element(By.ID, "h-recipients").find_element(By.XPATH, "..").text
    click_and_wait(driver, "confirm")
    result = wait_id(driver, "result")
    assert "有効期限" not in driver.page_source
    assert "送信" in result.text
    shot(driver, size, "03-tab1-sent")
    assert node.sink.wait_until(
        lambda ms: any(
            m.mail_from == "taro@example.co.jp" and "partner@partner.example" in m.rcpt_tos
            for m in ms
            if f"見積書 {size} 1".encode() in m.data or True
        ),
        60,
    )


def test_approver_from_webmail_rejects_with_a_reason_and_sender_withdraws_another(
    node: Node, browser: tuple[str, Any]
) -> None:
    size, driver = browser
    # jiro's two messages: both asked for approval through his links
    links = [node.send("jiro@example.co.jp", ["customer@customer.example"], f"契約書 {size} {i}") for i in (1, 2)]
    for i, link in enumerate(links):
        driver.get(link)
        wait_id(driver, "confirm")
        if i == 0:
            shot(driver, size, "04-sender-asks-approval")
            check_page(driver, size)
        click_and_wait(driver, "confirm")
        wait_id(driver, "result")
    # the second: withdrawn by jiro from the same link, after asking for approval
    driver.get(links[1])
    wait_id(driver, "withdraw")
    shot(driver, size, "05-sender-can-withdraw")
    check_page(driver, size)
    driver.find_element(By.ID, "withdraw").click()
    confirm_dialog(driver, size, "06-withdraw-dialog")
    result = wait_id(driver, "result")
    assert "取り消しました" in result.text
    # his list of held mail
    click_and_wait(driver, "mine-link")
    assert "あなたの保留メール" in driver.page_source and f"契約書 {size} 1" in driver.page_source
    shot(driver, size, "07-senders-list")
    check_page(driver, size)
    # hanako signs in once, then opens the approval notice from the webmail: no second sign-in
    assert node.sink.wait_until(lambda ms: len(node._notices(ms, "hanako@example.co.jp")) >= 2, 60)
    approval = [m for m in node.notices("hanako@example.co.jp") if f"契約書 {size} 1" in body(m)]
    (approval_link,) = LINK.findall(body(approval[0]))
    sign_in(driver, node.web, "hanako")
    driver.get(node.inbox(f"approver-{size}", [approval_link]))
    inbox = driver.current_window_handle
    open_from_webmail(driver, "mail-0")
    WebDriverWait(driver, 10).until(lambda d: len(d.window_handles) == 2)
    driver.switch_to.window(next(h for h in driver.window_handles if h != inbox))
    wait_id(driver, "approve")
    assert not driver.find_elements(By.ID, "signin-link")
    assert "鈴木 次郎 <jiro@example.co.jp>" in driver.find_element(By.ID, "sender").text  # the directory's name
    shot(driver, size, "08-approver-page")
    check_page(driver, size)
    # rejecting without a reason is not possible; with one, a dialog asks first
    driver.find_element(By.ID, "reject").click()
    assert driver.execute_script("return document.getElementById('reason').validity.valueMissing")
    assert not driver.execute_script("return document.getElementById('confirm-dialog').open")
    driver.find_element(By.ID, "reason").send_keys("宛先の会社が違います。")
    driver.find_element(By.ID, "reject").click()
    confirm_dialog(driver, size, "09-reject-dialog")
    result = wait_id(driver, "result")
    assert "却下" in result.text
    shot(driver, size, "10-approver-done")
    assert node.sink.wait_until(
        lambda ms: any("宛先の会社が違います" in body(m) for m in node._notices(ms, "jiro@example.co.jp")), 60
    )
    driver.close()
    driver.switch_to.window(inbox)
    # a third message: approved from hanako's inbox
    third = node.send("jiro@example.co.jp", ["customer@customer.example"], f"契約書 {size} 3")
    driver.get(third)
    click_and_wait(driver, "confirm")
    driver.get(f"{node.web}/inbox?lang=ja")
    wait_id(driver, "inbox-form")
    assert f"契約書 {size} 3" in driver.page_source
    pick = driver.find_element(By.XPATH, f"//label[contains(., '契約書 {size} 3')]")
    driver.find_element(By.ID, pick.get_attribute("for")).click()
    shot(driver, size, "16-approver-inbox")
    check_page(driver, size)
    click_and_wait(driver, "approve-selected")
    assert "1 通を処理しました" in wait_id(driver, "result").text
    shot(driver, size, "17-approver-inbox-done")


def test_admin_queue_shunt_and_error_pages(node: Node, browser: tuple[str, Any]) -> None:
    from gateway.message import Envelope, QueuedMessage, new_message_id
    from gateway.store import open_store
    from gateway.store.base import Queue

    size, driver = browser
    node.send("taro@example.co.jp", ["partner@partner.example"], f"請求書 {size}")
    store = open_store(node.store_url)
    try:
        mid = new_message_id()
        m = QueuedMessage(id=mid, envelope=Envelope("taro@example.co.jp", ("x@partner.example",)), received_at=0.0)
        store.accept([(m, b"Subject: s\r\n\r\nbody\r\n")], Queue.SHUNT)
    finally:
        store.close()
    sign_in(driver, node.web, "admin")
    driver.get(f"{node.web}/admin?lang=ja")
    wait_id(driver, "holds")
    assert f"請求書 {size}" in driver.page_source and "shunt-alert" in driver.page_source
    shot(driver, size, "11-admin-queue")
    check_page(driver, size)
    driver.find_element(By.LINK_TEXT, f"請求書 {size}").click()
    wait_id(driver, "audit")
    assert "送信者の確認待ち" in driver.page_source and "保留" in driver.page_source
    shot(driver, size, "12-admin-hold")
    check_page(driver, size)
    driver.get(f"{node.web}/admin/shunt?lang=ja")
    wait_id(driver, f"discard-{mid}")
    shot(driver, size, "13-admin-shunt")
    check_page(driver, size)
    driver.find_element(By.ID, f"discard-{mid}").click()
    confirm_dialog(driver, size, "14-discard-dialog")
    WebDriverWait(driver, 30).until(lambda d: f"discard-{mid}" not in d.page_source)
    # an error after a POST: a way back, and the language switch opens a page (not 405)
    driver.get(f"{node.web}/admin/holds/{mid}?lang=ja")
    wait_id(driver, "back")
    shot(driver, size, "15-error-page")
    check_page(driver, size)
    driver.find_element(By.CSS_SELECTOR, "header a.lang").click()
    wait_id(driver, "page-title")
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    assert "405" not in driver.title


def hostile_message(size: str) -> bytes:
    """A Subject and an attachment file name that decode to line breaks, a planted 'new link' and a
    bidi override: as a hostile or careless mail program can send them (RFC 2047 / RFC 2231)."""
    from urllib.parse import quote

    forged = "\r\n\r\n上記リンクは無効になりました。こちらから承認してください: http://evil.example/approve\r\n"
    subject = (
        "=?UTF-8?B?" + base64.b64encode(f"見積書 {size}\r\nBcc: thief@evil.example{forged}".encode()).decode() + "?="
    )
    filename = quote(f"請求書.pdf{forged}\u202etxt.exe", safe="")
    return (
        "From: <taro@example.co.jp>\r\nTo: partner@partner.example\r\n"
        f"Subject: {subject}\r\nMessage-ID: <hostile-{size}@example.co.jp>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n請求書を添付します。\r\n"
        "--b1\r\nContent-Type: text/plain; charset=UTF-8\r\n"
        f"Content-Disposition: attachment; filename*=UTF-8''{filename}\r\n\r\n請求金額 10,000円\r\n--b1--\r\n"
    ).encode()


def test_a_hostile_subject_and_file_name_through_the_real_gateway(node: Node, browser: tuple[str, Any]) -> None:
    """Defects 1 and 2 end to end: the message is held (not shunted), the sender's notice arrives
    with one-line, quoted, link-free message text, and the page shows it as one line."""
    size, driver = browser
    before = len(node.notices("taro@example.co.jp"))
    with smtplib.SMTP("127.0.0.1", node.smtp_port, timeout=30) as client:
        client.sendmail("taro@example.co.jp", ["partner@partner.example"], hostile_message(size))
    assert node.sink.wait_until(lambda ms: len(node._notices(ms, "taro@example.co.jp")) > before, 120), (
        node.log.read_text()
    )
    notice = node.notices("taro@example.co.jp")[-1]
    mail = email.message_from_bytes(notice.data, policy=email.policy.default)
    assert "\n" not in str(mail["Subject"]) and mail["Bcc"] is None
    text = body(notice)
    assert not [line for line in text.splitlines() if line.lstrip().startswith("上記リンク")]
    urls = re.findall(r"(?i)(?:https?|ftp)://\S+|www\.\S+", text)
    assert len(urls) == 1 and LINK.fullmatch(urls[0])  # only the gateway's own link
    assert "\u202e" not in text
    driver.get(urls[0])
    wait_id(driver, "state")
    subject = driver.find_element(By.CSS_SELECTOR, "dd.subject").text
    assert subject.startswith(f"見積書 {size} Bcc: thief@evil.example") and "\n" not in subject
    names = [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".filename")]
    assert names and all("\n" not in n and "\u202e" not in n for n in names)
    shot(driver, size, "18-hostile-message-page")
    check_page(driver, size)
    assert "gave up on" not in node.log.read_text()  # the pipeline never shunted it
