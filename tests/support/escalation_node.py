"""A real gateway (`python -m gateway run`) for the escalation and attachment-preview tests over SMTP
and in Chromium: jiro's mail to a customer needs his manager hanako's approval; nobody acts within
`hold.escalate_after_hours` (3.6 s here), so her deputy saburo is asked, then, as long again, the
fallback approver somu. Notices go to a recording SMTP sink on loopback."""

from __future__ import annotations

import email
import email.policy
import io
import re
import smtplib
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import xlsxwriter
import yaml

from gateway.passwords import hash_password
from tests.support.gateway_proc import GatewayProcess, write_config
from tests.support.net import free_port, wait_for_port
from tests.support.sink import Received, RecordingSink

ESCALATE_HOURS = 0.001  # 3.6 s: deputies after it, the fallback group after twice it
PASSWORD = "pw-test"
LINK = re.compile(r"http://127\.0\.0\.1:\d+/h/[0-9a-f]+/[A-Za-z0-9_\-]+")
CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')
MY_NUMBER = "123456789018"
XSS = '<img src=x onerror="document.title=\'pwned\'"><script>document.title="pwned"</script>'

RULES = """
rules:
  - name: e2e_manager_approves
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


@dataclass
class EscalationNode:
    sink: RecordingSink
    smtp_port: int
    web: str
    log: Path
    store_url: str

    def send(self, subject: str, raw: bytes | None = None) -> str:
        """jiro sends to a customer; returns the link of his `held` notice."""
        before = len(self.notices("jiro@example.co.jp"))
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=30) as client:
            client.sendmail("jiro@example.co.jp", ["customer@customer.example"], raw or message(subject))
        assert self.sink.wait_until(lambda ms: len(notices_to(ms, "jiro@example.co.jp")) > before, 120), (
            self.log.read_text()
        )
        (link,) = LINK.findall(body(self.notices("jiro@example.co.jp")[-1]))
        return link

    def ask_approval(self, link: str) -> None:
        """jiro confirms on his page (GET the page, POST its form): the manager is asked."""
        with httpx.Client(timeout=30) as web:
            page = web.get(link)
            match = CSRF.search(page.text)
            assert match, page.text
            r = web.post(link + "/confirm", data={"csrf": match.group(1)})
            assert r.status_code == 303, r.text

    def notices(self, to: str) -> list[Received]:
        return notices_to(self.sink.snapshot(), to)

    def approval_links(self, to: str, subject: str) -> list[str]:
        return [link for m in self.notices(to) if subject in body(m) for link in LINK.findall(body(m))]


def notices_to(ms: list[Received], to: str) -> list[Received]:
    return [m for m in ms if m.mail_from == "" and m.rcpt_tos == (to,)]


def body(received: Received) -> str:
    mail = email.message_from_bytes(received.data, policy=email.policy.default)
    return str(mail.get_body(("plain",)).get_content())  # type: ignore[union-attr]


def message(subject: str) -> bytes:
    return (
        f"From: <jiro@example.co.jp>\r\nTo: customer@customer.example\r\nSubject: {subject}\r\n"
        f"Message-ID: <{abs(hash(subject))}@example.co.jp>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n契約書をお送りします。\r\n"
    ).encode()


def with_attachments(subject: str) -> bytes:
    """A My Number in an xlsx, a script in a text file, a file nobody can read, a zip member."""
    from email.mime.application import MIMEApplication
    from email.mime.multipart import MIMEMultipart
    from email.mime.text import MIMEText

    m = MIMEMultipart()
    m["From"], m["To"], m["Subject"] = "<jiro@example.co.jp>", "customer@customer.example", subject
    m["Message-ID"] = f"<{abs(hash(subject))}@example.co.jp>"
    m.attach(MIMEText("申込書をお送りします。", "plain", "utf-8"))
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet("明細")
    ws.write_row(0, 0, ["氏名", "マイナンバー", "携帯"])
    ws.write_row(1, 0, ["高橋 一郎", MY_NUMBER, "090-8364-8737"])
    wb.close()
    parts = [
        (buf.getvalue(), "申込者.xlsx"),
        (f"メモ {XSS}\n二行目\n".encode(), "memo.txt"),
        (b"\x00\x01\x02binary nobody reads\xff" * 20, "data.bin"),
    ]
    z = io.BytesIO()
    with zipfile.ZipFile(z, "w") as archive:
        archive.writestr("中身/連絡先.csv", "氏名,電話\n佐藤 花子,03-5555-1234\n")
    parts.append((z.getvalue(), "まとめ.zip"))
    for data, name in parts:
        part = MIMEApplication(data)
        part.add_header("Content-Disposition", "attachment", filename=name)
        m.attach(part)
    return m.as_bytes()


@contextmanager
def escalation_node(tmp: Path) -> Iterator[EscalationNode]:
    rules = tmp / "local.d"
    rules.mkdir()
    (rules / "e2e.yaml").write_text(RULES, encoding="utf-8")
    (tmp / "directory.yaml").write_text(DIRECTORY, encoding="utf-8")
    pw = hash_password(PASSWORD, n=2**10)
    users = [
        {"username": name, "password_hash": pw, "roles": ["approver"], "email": f"{name}@example.co.jp"}
        for name in ("hanako", "saburo", "somu")
    ]
    (tmp / "users.yaml").write_text(yaml.safe_dump({"users": users}), encoding="utf-8")
    web_port = free_port()
    with RecordingSink() as sink:
        config, port = write_config(
            tmp,
            {
                "relay": {"smarthost": f"127.0.0.1:{sink.port}"},
                "web": {
                    "listen": f"127.0.0.1:{web_port}",
                    "base_url": f"http://127.0.0.1:{web_port}",
                    "users_file": str(tmp / "users.yaml"),
                },
                "policy": {"local_dir": str(rules), "directory": str(tmp / "directory.yaml"), "watch": False},
                "hold": {
                    "loop_interval": 0.2,
                    "escalate_after_hours": ESCALATE_HOURS,
                    "remind_before_minutes": 0,
                    "deputies": {"hanako@example.co.jp": ["saburo@example.co.jp"]},
                    "fallback_approvers": ["somu@example.co.jp"],
                },
            },
        )
        with GatewayProcess(config, port, tmp / "gw.log"):
            wait_for_port(web_port, timeout=30)
            yield EscalationNode(
                sink, port, f"http://127.0.0.1:{web_port}", tmp / "gw.log", f"sqlite:///{tmp}/gateway.db"
            )
