"""What the browser tests share: headless Chromium (Debian's chromium + chromedriver, driven by
selenium; nothing downloaded) at a phone or desktop size, full-page screenshots kept as test
artifacts (test-artifacts/, git-ignored), waits for the page a form post leads to, the page checks
every hold page must pass (one h1, 44 px touch targets on the phone, no sideways scroll), and the
rules, directory and message the hold flows are driven with."""

from __future__ import annotations

import base64
import email
import email.policy
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tests.support.needs import require
from tests.support.sink import Received, RecordingSink

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException  # noqa: E402
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.wait import WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LINK = re.compile(r"http://127\.0\.0\.1:\d+/h/[0-9a-f]+/[A-Za-z0-9_\-]+")
SIZES = {"phone": (390, 844), "desktop": (1280, 900)}

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


def message(subject: str, sender: str, to: list[str], cc: list[str] = ()) -> bytes:  # type: ignore[assignment]
    cc_line = f"Cc: {', '.join(cc)}\r\n" if cc else ""
    return (
        f"From: <{sender}>\r\nTo: {', '.join(to)}\r\n{cc_line}Subject: {subject}\r\n"
        f"Message-ID: <{abs(hash(subject))}@example.co.jp>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n"
        "いつもお世話になっております。\r\n見積書をお送りします。\r\n"
    ).encode()


def body(received: Received) -> str:
    mail = email.message_from_bytes(received.data, policy=email.policy.default)
    return str(mail.get_body(("plain",)).get_content())  # type: ignore[union-attr]


def notices_to(sink: RecordingSink, to: str) -> list[Received]:
    """The gateway's own mail (null sender) to this one address, in arrival order."""
    return [m for m in sink.snapshot() if m.mail_from == "" and m.rcpt_tos == (to,)]


def make_browser(width: int, height: int) -> Any:
    """Headless Chromium with a fresh profile (driver.profile_dir), phone emulation below 700 px."""
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
        "--lang=ja-JP",
        f"--user-data-dir={profile}",
        f"--window-size={width},{height}",
    ):
        options.add_argument(arg)
    if width < 700:
        options.add_experimental_option(
            "mobileEmulation", {"deviceMetrics": {"width": width, "height": height, "pixelRatio": 2.0}}
        )
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.profile_dir = profile
    return driver


def shot(driver: Any, size: str, name: str, folder: str = "hold-pages") -> None:
    """A full-page screenshot (beyond the viewport), kept as a test artifact."""
    where = ARTIFACTS / folder
    where.mkdir(parents=True, exist_ok=True)
    data = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    (where / f"{size}-{name}.png").write_bytes(base64.b64decode(data["data"]))


def wait_id(driver: Any, element_id: str, timeout: float = 30) -> Any:
    return WebDriverWait(driver, timeout).until(EC.presence_of_element_located((By.ID, element_id)))


def replaced(page: Any) -> Any:
    """The page (its <html> element) is gone: the next one has come. Chromium says so either as a
    stale element or as a node that no longer belongs to the document."""

    def gone(driver: Any) -> bool:
        try:
            page.is_enabled()
        except (StaleElementReferenceException, WebDriverException):
            return True
        return False

    return gone


def click_and_wait(driver: Any, element_id: str) -> None:
    """Click a submit button and wait for the page the POST leads to."""
    page = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.ID, element_id).click()
    WebDriverWait(driver, 30).until(replaced(page))


def sign_in(driver: Any, web: str, username: str, password: str = "pw-test") -> None:
    driver.get(f"{web}/admin/login")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "signin").click()
    WebDriverWait(driver, 30).until(lambda d: "/admin/login" not in d.current_url)


def small_targets(driver: Any) -> list[str]:
    """Links, buttons and form controls smaller than 44 px high (checkboxes: their label row)."""
    return driver.execute_script(
        """
        const out = [];
        const all = 'main a, header a, button, select, textarea, input:not([type=hidden])';
        for (const el of document.querySelectorAll(all)) {
          if (el.closest('dialog') && !el.closest('dialog').open) continue;
          let box = el.getBoundingClientRect();
          if (el.type === 'checkbox') box = el.closest('li, .rcpt').getBoundingClientRect();
          if (box.width === 0) continue;
          const name = el.tagName + '#' + (el.id || el.textContent.trim().slice(0, 20));
          if (box.height < 44 - 0.5) out.push(name + ' ' + box.height);
        }
        return out;
        """
    )


def h1_count(driver: Any) -> int:
    return int(driver.execute_script("return document.querySelectorAll('h1').length"))


def check_page(driver: Any, size: str) -> None:
    assert h1_count(driver) == 1
    if size == "phone":
        assert small_targets(driver) == []
        assert driver.execute_script("return document.documentElement.scrollWidth") <= 390 + 1  # no sideways scroll
