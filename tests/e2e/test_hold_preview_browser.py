"""In headless Chromium at 390x844 and 1280x900, against a real gateway over SMTP (issue 18): the
masked preview of each attachment on the sender's and the approver's page (a My Number in an xlsx
masked, a script in a text file shown as text and never run, an unreadable file said in Japanese, a
zip member with its path); an approver who sets themself away with a deputy on their inbox page and
comes back; and escalation: nobody approves in time, so the fallback approver, asked last, approves
from their inbox and the customer gets the mail. Screenshots in test-artifacts/hold-pages/."""

from __future__ import annotations

import email.policy
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.browser import (
    check_page,
    click_and_wait,
    shot,
    sign_in,
    wait_id,
)
from tests.support.escalation_node import MY_NUMBER, EscalationNode, escalation_node, notices_to, with_attachments

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.select import Select  # noqa: E402


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EscalationNode]:
    with escalation_node(tmp_path_factory.mktemp("preview-browser")) as n:
        yield n


def previews(driver: Any) -> dict[str, str]:
    """File label -> the text shown for it (preview, or why it could not be read)."""
    out = {}
    for item in driver.find_elements(By.CSS_SELECTOR, "#attachment-previews .att-preview"):
        name = item.find_element(By.CSS_SELECTOR, ".filename").text
        out[name] = item.text.removeprefix(name).strip()
    return out


def assert_masked_preview(driver: Any) -> None:
    shown = previews(driver)
    assert set(shown) >= {"申込者.xlsx", "memo.txt", "data.bin", "まとめ.zip › 中身/連絡先.csv"}, shown
    assert "**********18" in shown["申込者.xlsx"] and "090-****-8737" in shown["申込者.xlsx"]
    assert "高橋**" in shown["申込者.xlsx"]
    assert '<script>document.title="pwned"</script>' in shown["memo.txt"]  # shown as text
    assert shown["data.bin"].startswith("読み取れませんでした") and "形式を判別できないファイル" in shown["data.bin"]
    assert "03-5***-1234" in shown["まとめ.zip › 中身/連絡先.csv"]
    source = driver.page_source
    assert MY_NUMBER not in source and "8364" not in source and "一郎" not in source and "花子" not in source
    assert driver.title != "pwned" and not driver.find_elements(By.CSS_SELECTOR, "main img")


def test_attachment_preview_on_the_senders_and_approvers_pages(node: EscalationNode, browser: tuple[str, Any]) -> None:
    size, driver = browser
    subject = f"申込書 preview {size}"
    link = node.send(subject, with_attachments(subject))
    driver.get(link)
    wait_id(driver, "attachment-previews")
    assert_masked_preview(driver)
    driver.execute_script("document.getElementById('attachment-previews').scrollIntoView()")
    shot(driver, size, "20-sender-attachment-preview")
    check_page(driver, size)
    click_and_wait(driver, "confirm")
    wait_id(driver, "result")
    assert node.sink.wait_until(lambda ms: bool(node.approval_links("hanako@example.co.jp", subject)), 60)
    (approval,) = node.approval_links("hanako@example.co.jp", subject)
    driver.get(approval)
    wait_id(driver, "approve")
    assert_masked_preview(driver)
    shot(driver, size, "21-approver-attachment-preview")
    check_page(driver, size)
    click_and_wait(driver, "approve")
    wait_id(driver, "result")
    assert "添付ファイルの内容" not in driver.page_source  # released: the preview went with the held message


def test_away_with_a_deputy_from_the_inbox_and_back(node: EscalationNode, browser: tuple[str, Any]) -> None:
    size, driver = browser
    sign_in(driver, node.web, "hanako")
    driver.get(f"{node.web}/inbox?lang=ja")
    Select(wait_id(driver, "deputy")).select_by_value("saburo@example.co.jp")
    shot(driver, size, "24-inbox-away-form")
    check_page(driver, size)
    click_and_wait(driver, "away-set")
    assert "代理: saburo@example.co.jp" in wait_id(driver, "away-status").text
    shot(driver, size, "25-inbox-away-set")
    check_page(driver, size)
    click_and_wait(driver, "away-clear")
    wait_id(driver, "away-set")


def test_the_fallback_approver_approves_from_the_inbox_after_escalation(
    node: EscalationNode, browser: tuple[str, Any]
) -> None:
    size, driver = browser
    subject = f"契約書 escalated {size}"
    node.ask_approval(node.send(subject))
    assert node.sink.wait_until(lambda ms: bool(node.approval_links("somu@example.co.jp", subject)), 90), (
        node.log.read_text()
    )
    assert node.approval_links("saburo@example.co.jp", subject)  # the deputy was asked before
    sign_in(driver, node.web, "somu")
    driver.get(f"{node.web}/inbox?lang=ja")
    wait_id(driver, "inbox-form")
    pick = driver.find_element(By.XPATH, f"//label[contains(., '{subject}')]")
    driver.find_element(By.ID, pick.get_attribute("for")).click()
    shot(driver, size, "22-escalated-inbox")
    check_page(driver, size)
    click_and_wait(driver, "approve-selected")
    assert "1 通を処理しました" in wait_id(driver, "result").text
    shot(driver, size, "23-escalated-inbox-done")
    assert node.sink.wait_until(
        lambda ms: any(m.rcpt_tos == ("customer@customer.example",) and subject_of(m) == subject for m in ms), 60
    )
    assert notices_to(node.sink.snapshot(), "somu@example.co.jp")


def subject_of(m: Any) -> str:
    return str(email.message_from_bytes(m.data, policy=email.policy.default)["Subject"])
