"""The hold workflow as people see it: a real gateway process, a recording SMTP sink as the next hop,
and headless Chromium (Debian's chromium + chromedriver, driven by selenium; nothing downloaded).

1. A message is held for its sender; the notification arrives at the sink; its link is opened on a
   phone-sized screen; one recipient is unticked; confirm → the sink receives the message for the
   other recipients only, without the removed address in To.
2. A message needs approval: the sender asks for it, the approver's link arrives, the approver
   approves with a comment → the sink receives the message, and the sender a result notice.
Screenshots go to test-artifacts/hold-flow/ (git-ignored).
"""

from __future__ import annotations

import shutil
import smtplib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.browser import DIRECTORY, LINK, RULES, body, make_browser, message, notices_to, wait_id
from tests.e2e.browser import shot as full_page_shot
from tests.support.gateway_proc import GatewayProcess, write_config
from tests.support.net import free_port, wait_for_port
from tests.support.sink import RecordingSink

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402


@pytest.fixture
def browser() -> Iterator[Any]:
    """Only the phone here (tests/e2e/conftest.py's browser takes both sizes)."""
    driver = make_browser(390, 844)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(driver.profile_dir, ignore_errors=True)


def shot(driver: Any, name: str) -> None:
    full_page_shot(driver, "phone", name, folder="hold-flow")


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
            wait_id(driver, "result")
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
            wait_id(driver, "result")
            assert sink.wait_until(lambda ms: any(m.rcpt_tos == ("hanako@example.co.jp",) for m in ms), 60)
            (approval,) = notices_to(sink, "hanako@example.co.jp")
            assert "jiro@example.co.jp" in body(approval)
            (link,) = LINK.findall(body(approval))
            driver.get(link)  # type: ignore[attr-defined]
            driver.find_element(By.ID, "comment").send_keys("確認しました")  # type: ignore[attr-defined]
            shot(driver, "5-approver-page")
            driver.find_element(By.ID, "approve").click()  # type: ignore[attr-defined]
            wait_id(driver, "result")
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
