"""Escalation end to end through the real gateway over SMTP (issue 18, item 7): jiro's mail waits for
his manager's approval; nobody acts within `hold.escalate_after_hours`, so her deputy gets an approval
notice, then, as long again, the fallback approver; the fallback approver's link releases it once and
the customer gets it. The same message's attachments are previewed, masked, on the approver's page
(made by the real inspection worker), and the preview is gone with the held message."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from gateway.hold.backends import open_holds
from tests.support.escalation_node import (
    CSRF,
    MY_NUMBER,
    EscalationNode,
    body,
    escalation_node,
    notices_to,
    with_attachments,
)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EscalationNode]:
    with escalation_node(tmp_path_factory.mktemp("escalation")) as n:
        yield n


def test_nobody_acts_so_the_deputy_then_the_fallback_group_are_asked(node: EscalationNode) -> None:
    subject = "契約書 escalation smtp"
    link = node.send(subject, with_attachments(subject))
    hold_id = link.rsplit("/", 2)[-2]
    node.ask_approval(link)
    assert node.sink.wait_until(lambda ms: len(notices_to(ms, "somu@example.co.jp")) >= 1, 90), node.log.read_text()
    order = [m.rcpt_tos[0] for m in node.sink.snapshot() if m.mail_from == "" and m.rcpt_tos[0] != "jiro@example.co.jp"]
    assert order == ["hanako@example.co.jp", "saburo@example.co.jp", "somu@example.co.jp"]  # one notice each, in turn
    (deputy,) = node.notices("saburo@example.co.jp")
    (fallback,) = node.notices("somu@example.co.jp")
    assert "代理の承認者" in body(deputy) and subject in body(deputy)
    assert subject in body(fallback)
    holds = open_holds(node.store_url)
    try:
        hold = holds.get(hold_id)
        assert hold is not None and hold.escalation == 2
        assert set(hold.approvers) == {"hanako@example.co.jp", "saburo@example.co.jp", "somu@example.co.jp"}
        assert [e.event for e in holds.audit(hold_id)].count("escalated") == 2
        # the approver's page shows the attachments' first lines, masked, from the real worker
        (fallback_link,) = node.approval_links("somu@example.co.jp", subject)
        with httpx.Client(timeout=30) as web:
            page = web.get(fallback_link)
            assert MY_NUMBER not in page.text and "**********18" in page.text
            assert "読み取れませんでした" in page.text and "まとめ.zip › 中身/連絡先.csv" in page.text
            assert "<script>document.title" not in page.text and "&lt;script&gt;" in page.text
            r = web.post(fallback_link + "/approve", data={"csrf": CSRF.findall(page.text)[0]})
            assert r.status_code == 303
        assert node.sink.wait_until(lambda ms: any(m.rcpt_tos == ("customer@customer.example",) for m in ms), 60), (
            node.log.read_text()
        )
        done = holds.get(hold_id)
        assert done is not None and done.decided_by == "somu@example.co.jp"
        assert done.previews == []  # gone with the held message
    finally:
        holds.close()
    for m in node.sink.snapshot():  # no notice carries the attachments' text
        if m.mail_from == "":
            assert "二行目" not in body(m) and "氏名 | マイナンバー" not in body(m)  # samples only
