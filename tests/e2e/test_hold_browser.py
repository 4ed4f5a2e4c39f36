"""The hold workflow as people see it: a real gateway process, a recording SMTP sink as the next hop,
and headless Chromium (Debian's chromium + chromedriver, driven by selenium; nothing downloaded).

1. A message is held for its sender; the notification arrives at the sink; its link is opened on a
   phone-sized screen; one recipient is unticked; confirm → the sink receives the message for the
   other recipients only, without the removed address in To.
2. A message needs approval: the sender asks for it, the approver's link arrives, the approver
   approves with a comment → the sink receives the message, and the sender a result notice.
Screenshots go to test-artifacts/ (git-ignored).
"""

from __future__ import annotations

import email
import email.policy
import re
import shutil
import smtplib
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.gateway_proc import GatewayProcess, write_config
from tests.support.needs import require
from tests.support.net import free_port, wait_for_port
from tests.support.sink import Received, RecordingSink

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LINK = re.compile(r"http://127\.0\.0\.1:\d+/h/[0-9a-f]+/[A-Za-z0-9_\-]+")

RULES = """
rules:
  - name: e2e_check_external
    description: {ja: 社外宛ては送信者が確認, en: The sender checks mail going outside}
    when:
      recipients.any_external: true
      sender.address: taro@example.co.jp
    action: hold_sender
    reason: {ja: 社外の宛先に送信します。宛先を確認してください。, en: This goes outside. Please check the recipients.}
  - name: e2e_approve_external
    description: {ja: 社外宛ては上長が承認, en: A manager approves mail going outside}
    when:
      recipients.any_external: true
      sender.address: jiro@example.co.jp
    action: hold_manager
    reason: {ja: 上長の承認が必要です。, en: A manager must approve this.}
"""

DIRECTORY = """
people:
  - address: jiro@example.co.jp
    name: 鈴木 次郎
    department: sales
    manager: hanako@example.co.jp
"""


def message(subject: str, sender: str, to: list[str]) -> bytes:
    return (
        f"From: <{sender}>\r\nTo: {', '.join(to)}\r\nSubject: {subject}\r\nMessage-ID: <{subject}@example.co.jp>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n"
        "いつもお世話になっております。\r\n見積書をお送りします。\r\n"
    ).encode()


def body(received: Received) -> str:
    mail = email.message_from_bytes(received.data, policy=email.policy.default)
    return str(mail.get_body(("plain",)).get_content())  # type: ignore[union-attr]


def notices_to(sink: RecordingSink, to: str) -> list[Received]:
    return [m for m in sink.snapshot() if m.mail_from == "" and m.rcpt_tos == (to,)]


@pytest.fixture
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists() or not Path(CHROMEDRIVER).exists():
        require("needs chromium and chromium-driver (apt-get install chromium chromium-driver)")
    profile = tempfile.mkdtemp(prefix="gw-chromium-")
    options = Options()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--window-size=390,844",
    ):
        options.add_argument(arg)
    options.add_experimental_option(
        "mobileEmulation", {"deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 2.0}}
    )
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(driver: object, element_id: str) -> None:
    """Wait for the page after a form post (a click returns before the navigation ends)."""
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    WebDriverWait(driver, 30).until(expected_conditions.presence_of_element_located((By.ID, element_id)))  # type: ignore[arg-type]


def shot(driver: object, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))  # type: ignore[attr-defined]


def test_sender_removes_a_recipient_then_a_manager_approves(tmp_path: Path, browser: object) -> None:
    driver = browser
    rules = tmp_path / "local.d"
    rules.mkdir()
    (rules / "e2e.yaml").write_text(RULES, encoding="utf-8")
    directory = tmp_path / "directory.yaml"
    directory.write_text(DIRECTORY, encoding="utf-8")
    web_port = free_port()
    with RecordingSink() as sink:
        config, port = write_config(
            tmp_path,
            {
                "relay": {"smarthost": f"127.0.0.1:{sink.port}"},
                "web": {"listen": f"127.0.0.1:{web_port}", "base_url": f"http://127.0.0.1:{web_port}"},
                "policy": {"local_dir": str(rules), "directory": str(directory), "watch": False},
                "hold": {"loop_interval": 0.2},
            },
        )
        with GatewayProcess(config, port, tmp_path / "gw.log"):
            wait_for_port(web_port, timeout=30)
            # 1. The sender removes one recipient and confirms.
            rcpts = ["partner@partner.example", "wrong@other.example", "boss@example.co.jp"]
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
                client.sendmail("taro@example.co.jp", rcpts, message("e2e-remove", "taro@example.co.jp", rcpts))
            assert sink.wait_until(lambda ms: any(m.rcpt_tos == ("taro@example.co.jp",) for m in ms), 120), (
                tmp_path / "gw.log"
            ).read_text()
            (notice,) = notices_to(sink, "taro@example.co.jp")
            (link,) = LINK.findall(body(notice))
            driver.get(link)  # type: ignore[attr-defined]
            assert "wrong@other.example" in driver.page_source  # type: ignore[attr-defined]
            shot(driver, "1-sender-interstitial")
            driver.find_element(By.CSS_SELECTOR, 'input[value="wrong@other.example"]').click()  # type: ignore[attr-defined]
            shot(driver, "2-sender-recipient-unticked")
            driver.find_element(By.ID, "confirm").click()  # type: ignore[attr-defined]
            wait_for(driver, "result")
            assert "送信" in driver.find_element(By.ID, "result").text  # type: ignore[attr-defined]
            shot(driver, "3-sender-done")
            assert sink.wait_until(lambda ms: any(m.mail_from == "taro@example.co.jp" for m in ms), 60)
            (sent,) = [m for m in sink.snapshot() if m.mail_from == "taro@example.co.jp"]
            assert sorted(sent.rcpt_tos) == ["boss@example.co.jp", "partner@partner.example"]
            assert "wrong@other.example" not in (sent.header("To") or "")
            # A second visit (a mail scanner, a double click) changes nothing.
            driver.get(link)  # type: ignore[attr-defined]
            assert not driver.find_elements(By.ID, "confirm")  # type: ignore[attr-defined]

            # 2. The approval flow.
            rcpts = ["customer@customer.example"]
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
                client.sendmail("jiro@example.co.jp", rcpts, message("e2e-approve", "jiro@example.co.jp", rcpts))
            assert sink.wait_until(lambda ms: any(m.rcpt_tos == ("jiro@example.co.jp",) for m in ms), 120)
            (link,) = LINK.findall(body(notices_to(sink, "jiro@example.co.jp")[0]))
            driver.get(link)  # type: ignore[attr-defined]
            assert "hanako@example.co.jp" in driver.page_source  # type: ignore[attr-defined]
            shot(driver, "4-sender-asks-approval")
            driver.find_element(By.ID, "confirm").click()  # type: ignore[attr-defined]
            wait_for(driver, "result")
            assert sink.wait_until(lambda ms: any(m.rcpt_tos == ("hanako@example.co.jp",) for m in ms), 60)
            (approval,) = notices_to(sink, "hanako@example.co.jp")
            assert "jiro@example.co.jp" in body(approval)
            (link,) = LINK.findall(body(approval))
            driver.get(link)  # type: ignore[attr-defined]
            driver.find_element(By.ID, "comment").send_keys("確認しました")  # type: ignore[attr-defined]
            shot(driver, "5-approver-page")
            driver.find_element(By.ID, "approve").click()  # type: ignore[attr-defined]
            wait_for(driver, "result")
            shot(driver, "6-approver-done")
            assert sink.wait_until(lambda ms: any(m.mail_from == "jiro@example.co.jp" for m in ms), 60)
            assert sink.wait_until(
                lambda ms: sum(m.mail_from == "" and m.rcpt_tos == ("jiro@example.co.jp",) for m in ms) == 2, 60
            )
        got = sink.snapshot()
    (approved,) = [m for m in got if m.mail_from == "jiro@example.co.jp"]
    assert approved.rcpt_tos == ("customer@customer.example",)
    result = notices_to(sink, "jiro@example.co.jp")[1]
    assert "確認しました" in body(result) and "hanako@example.co.jp" in body(result)
    # Exactly what was meant to go out went out: two messages, no duplicates.
    assert len([m for m in got if m.mail_from]) == 2
