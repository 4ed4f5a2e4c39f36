"""Misaddressed mail end to end: a real gateway process between an SMTP client and a recording sink.

A history period goes through SMTP and is delivered (the delivery recorder teaches the contact book),
then a slip (a greeting for one customer sent to another) is held for the sender with the reason,
and correctly addressed mail is relayed. The recipient history is seeded first with
`gateway history import --csv`, so that the recipients are not new (no first-time rule in the way),
and `gateway history import --mbox` is exercised on the way.
"""

from __future__ import annotations

import mailbox
import smtplib
import time
from email.message import EmailMessage
from pathlib import Path

from gateway.cli import main
from gateway.hold.backends import open_holds
from gateway.hold.store import HoldFilter
from gateway.recipients.contacts_backends import open_contacts
from gateway.store import open_store
from gateway.store.base import Queue
from tests.support.gateway_proc import GatewayProcess, write_config
from tests.support.sink import RecordingSink

SENDER = "taro@example.co.jp"
MINATO = "yamada@minato-shokai.co.jp"
HOKUTO = "sato@hokuto-shoji.co.jp"
MINATO_GREETING = "株式会社みなと商会\n営業部 山田様\n\nいつもお世話になっております。\n"
HOKUTO_GREETING = "北斗商事株式会社 総務部 佐藤様\n\nいつもお世話になっております。\n"


def message(to: str, body: str, subject: str = "ご連絡") -> bytes:
    m = EmailMessage()
    m["From"] = f"山田 太郎 <{SENDER}>"
    m["To"] = to
    m["Subject"] = subject
    m["Message-ID"] = f"<{time.time_ns()}@example.co.jp>"
    m.set_content(body + "来週のお打ち合わせの件でご連絡しました。\n\n--\n山田 太郎\n")
    return m.as_bytes()


def send(port: int, rcpt: str, data: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.sendmail(SENDER, [rcpt], data)


def wait(predicate: object, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def test_history_then_a_slip_is_held_and_correct_mail_relayed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/gateway.db"
    csv = tmp_path / "sent.csv"
    csv.write_text(f"sender,recipient,sent_at\n{SENDER},{MINATO};{HOKUTO},2026-01-05T10:00:00\n", encoding="utf-8")
    sent = mailbox.mbox(tmp_path / "Sent")
    sent.add(message("鈴木 <suzuki@aozora-kensetsu.co.jp>", "青空建設株式会社 御中\n\nお世話になっております。\n"))
    sent.close()
    with RecordingSink() as sink:
        config, port = write_config(tmp_path, {"relay": {"smarthost": f"127.0.0.1:{sink.port}"}})
        assert main(["history", "import", "--config", str(config), "--csv", str(csv)]) == 0
        assert main(["history", "import", "--config", str(config), "--mbox", str(tmp_path / "Sent")]) == 0
        with GatewayProcess(config, port, tmp_path / "gw.log"):
            # The history period: delivered mail teaches who is who.
            send(port, MINATO, message(f"山田 一郎 <{MINATO}>", MINATO_GREETING))
            send(port, HOKUTO, message(f"佐藤 花子 <{HOKUTO}>", HOKUTO_GREETING))
            assert sink.wait_for(2, timeout=60)
            book = open_contacts(url)
            try:
                assert wait(
                    lambda: (
                        {r.org for r in book.names(["みなと商会", "北斗商事", "青空建設"], 0)}
                        == {
                            "minato-shokai.co.jp",
                            "hokuto-shoji.co.jp",
                            "aozora-kensetsu.co.jp",
                        }
                    )
                )
            finally:
                book.close()

            # The slip: written for みなと商会, sent to 北斗商事.
            send(port, HOKUTO, message(f"佐藤 花子 <{HOKUTO}>", MINATO_GREETING, "お見積りの件"))
            store = open_store(url)
            try:
                assert wait(lambda: store.counts()[Queue.HOLD] == 1)
            finally:
                store.close()
            holds = open_holds(url)
            try:
                (hold,) = holds.find(HoldFilter(rule="misaddressed_external"))
                reasons = " ".join(r["ja"] for r in hold.details["reasons"])
                assert (
                    "本文の宛名「株式会社みなと商会 営業部 山田様」は minato-shokai.co.jp の方ですが、"
                    "宛先は hokuto-shoji.co.jp です" in reasons
                )
                (evidence,) = hold.details["evidence"]
                assert evidence["known_at"] == ["minato-shokai.co.jp"] and evidence["goes_to"] == ["hokuto-shoji.co.jp"]
            finally:
                holds.close()

            # Correct mail, one mentioning the other customer in a sentence: relayed.
            send(
                port,
                MINATO,
                message(f"山田 一郎 <{MINATO}>", MINATO_GREETING + "北斗商事様との件は別途ご連絡します。\n"),
            )
            assert sink.wait_for(4, timeout=60)  # and the hold notice to the sender
            time.sleep(0.5)  # room for a wrong extra delivery to show up
        got = sink.snapshot()
    relayed = [m.rcpt_tos for m in got if m.mail_from == SENDER]
    # In any order (two workers deliver at once); HOKUTO once only: the slip is not among them.
    assert sorted(relayed) == sorted([(MINATO,), (HOKUTO,), (MINATO,)])
    (notice,) = [m for m in got if m.mail_from != SENDER]
    assert notice.rcpt_tos == (SENDER,)
