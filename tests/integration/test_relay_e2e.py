"""The whole node end to end: a real gateway process between an SMTP client and a recording sink."""

from __future__ import annotations

import smtplib
import time
from pathlib import Path

from gateway.cli import main
from gateway.recipients.history_backends import open_history
from tests.support.gateway_proc import GatewayProcess, write_config
from tests.support.net import free_port
from tests.support.sink import RecordingSink

MESSAGE = (
    "From: 山田 <taro@example.co.jp>\r\nTo: partner@partner.example\r\nSubject: =?UTF-8?B?5pyI5qyh5aCx5ZGK?=\r\n"
    "Message-ID: <e2e-1@example.co.jp>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n"
    "いつもお世話になっております。\r\n.leading dot line\r\n"
).encode()


def _send(port: int, rcpts: list[str], data: bytes = MESSAGE, sender: str = "taro@example.co.jp") -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.sendmail(sender, rcpts, data)


def test_relays_message_unchanged_but_for_received(tmp_path: Path) -> None:
    with RecordingSink() as sink:
        config, port = write_config(tmp_path, {"relay": {"smarthost": f"127.0.0.1:{sink.port}"}})
        with GatewayProcess(config, port, tmp_path / "gw.log"):
            _send(port, ["partner@partner.example", "boss@example.co.jp"])
            assert sink.wait_for(1, timeout=60)
            history = open_history(f"sqlite:///{tmp_path}/gateway.db")
            for _ in range(200):  # recorded right after the next hop's 250
                if history.sent_to("taro@example.co.jp", ["partner@partner.example"], 0):
                    break
                time.sleep(0.05)
            assert history.sent_to("taro@example.co.jp", ["partner@partner.example", "x@partner.example"], 0) == {
                "partner@partner.example"
            }
            history.close()
        (got,) = sink.snapshot()
        assert got.mail_from == "taro@example.co.jp"
        assert sorted(got.rcpt_tos) == ["boss@example.co.jp", "partner@partner.example"]
        assert got.data.endswith(MESSAGE)  # only our Received: header is prepended
        assert got.data[: -len(MESSAGE)].startswith(b"Received: ")


def test_next_hop_down_then_up_delivers_after_retry(tmp_path: Path) -> None:
    hop_port = free_port()
    config, port = write_config(tmp_path, {"relay": {"smarthost": f"127.0.0.1:{hop_port}"}})
    with GatewayProcess(config, port, tmp_path / "gw.log"):
        for i in range(5):
            _send(port, ["partner@partner.example"], MESSAGE.replace(b"e2e-1@", f"down-{i}@".encode()))
        time.sleep(1.5)  # let at least one attempt fail against the closed port (retry.initial is 0.5 s)
        with RecordingSink(port=hop_port) as sink:
            assert sink.wait_for(5, timeout=60)
    ids = sorted(m.header("Message-ID") or "" for m in sink.snapshot())
    assert ids == [f"<down-{i}@example.co.jp>" for i in range(5)]


def test_permanent_refusal_sends_exactly_one_notice_and_none_about_it(tmp_path: Path) -> None:
    with RecordingSink() as sink:
        sink.refuse_rcpt = {
            "nobody@partner.example": "550 5.1.1 No such user",
            "ghost@example.co.jp": "550 5.1.1 No such user",
        }
        config, port = write_config(tmp_path, {"relay": {"smarthost": f"127.0.0.1:{sink.port}"}})
        with GatewayProcess(config, port, tmp_path / "gw.log"):
            _send(port, ["partner@partner.example", "nobody@partner.example"])
            # The sender "ghost" cannot receive its notice either: that must not cause a notice loop.
            _send(port, ["nobody@partner.example"], MESSAGE.replace(b"e2e-1@", b"ghost@"), "ghost@example.co.jp")
            assert sink.wait_for(2, timeout=60)
            time.sleep(3)  # room for any wrong extra notice to show up
        got = sink.snapshot()
    assert len(got) == 2
    relayed, notice = sorted(got, key=lambda m: m.mail_from == "")
    assert relayed.rcpt_tos == ("partner@partner.example",)
    assert notice.mail_from == ""
    assert notice.rcpt_tos == ("taro@example.co.jp",)
    assert notice.message.get_content_type() == "multipart/report"
    assert b"nobody@partner.example" in notice.data
    assert b"5.1.1" in notice.data


def test_check_prints_relay_decision(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    eml = tmp_path / "m.eml"
    eml.write_bytes(MESSAGE)
    assert main(["check", "--json", str(eml)]) == 0
    out = capsys.readouterr().out
    assert '"action": "relay"' in out
    assert '"rcpt_to": [\n      "partner@partner.example"' in out
