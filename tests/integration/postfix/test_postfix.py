"""The gateway behind a real Postfix, configured exactly as the README's "Behind Postfix" section says.

    client ──▶ Postfix ──relayhost──▶ gateway ──▶ sink                       (relayhost)
    client ──▶ Postfix ──content_filter──▶ gateway ──▶ Postfix:re-injection ──▶ sink   (content filter)

The Postfix is a throwaway instance in a temporary directory (tests/support/postfix.py), on loopback
ports only; the sink stands for the Internet.
"""

from __future__ import annotations

import email
import email.policy
import http.cookiejar
import re
import smtplib
import time
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.store import open_store
from gateway.store.base import Queue
from tests.support.gateway_proc import GatewayProcess, write_config
from tests.support.needs import require
from tests.support.net import free_port
from tests.support.postfix import PostfixInstance, postfix_missing, readme_blocks, with_ports
from tests.support.sink import Received, RecordingSink


@pytest.fixture(autouse=True)
def _needs_postfix() -> None:
    require(postfix_missing())  # skipped with the reason (or failed in CI, which installs Postfix)


SENDER = "taro@example.co.jp"


def message(test_id: str, to: str = "partner@partner.example", body: str = "") -> bytes:
    body = body or "いつもお世話になっております。\r\n来週の打ち合わせの件、よろしくお願いいたします。\r\n.dot line\r\n"
    return (
        f"From: 山田 太郎 <{SENDER}>\r\nTo: <{to}>\r\nSubject: =?UTF-8?B?5omT44Gh5ZCI44KP44Gb?=\r\n"
        f"Message-ID: <{test_id}@example.co.jp>\r\nX-Test-Id: {test_id}\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}"
    ).encode()


def send(port: int, rcpts: list[str], data: bytes, sender: str = SENDER) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.sendmail(sender, rcpts, data)


def test_readme_shows_both_set_ups() -> None:
    blocks = readme_blocks()
    assert "relayhost = [127.0.0.1]:10025" in blocks["relayhost"]["main.cf"]
    assert "content_filter = gateway:[127.0.0.1]:10025" in blocks["content_filter"]["main.cf"]
    master = blocks["content_filter"]["master.cf"]
    assert "127.0.0.1:10026 inet" in master and "-o content_filter=\n" in master


def gateway_db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/gateway.db"


def wait_queues_empty(url: str, timeout: float) -> dict[Queue, int]:
    store = open_store(url)
    try:
        deadline = time.monotonic() + timeout
        while True:
            counts = store.counts()
            if counts[Queue.INBOUND] + counts[Queue.OUTBOUND] == 0 or time.monotonic() > deadline:
                return counts
            time.sleep(0.1)
    finally:
        store.close()


def test_relayhost_relays_end_to_end(tmp_path: Path) -> None:
    with RecordingSink() as sink:
        config, gw_port = write_config(tmp_path, {"relay": {"smarthost": f"127.0.0.1:{sink.port}"}})
        main_cf = with_ports(readme_blocks()["relayhost"]["main.cf"], {10025: gw_port})
        with GatewayProcess(config, gw_port, tmp_path / "gw.log"), PostfixInstance(main_text=main_cf) as mta:
            send(mta.port, ["partner@partner.example", "boss@example.co.jp"], message("pf-1"))
            # A line over 998 bytes: Postfix folds it (smtp_line_length_limit) before the gateway sees it.
            send(mta.port, ["partner@partner.example"], message("pf-2", body="あ" * 600 + "\r\n"))
            assert sink.wait_for(2, timeout=60), mta.log()
            assert mta.wait_log(
                r"relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, .*status=sent \(250 2\.0\.0 Ok: queued as", 30, 2
            )
            got = {m.header("X-Test-Id"): m for m in sink.snapshot()}
    assert sorted(got) == ["pf-1", "pf-2"]
    first = got["pf-1"]
    assert first.mail_from == SENDER
    assert sorted(first.rcpt_tos) == ["boss@example.co.jp", "partner@partner.example"]
    received = first.message.get_all("Received") or []
    assert "by gw.test" in received[0] and "mta.example.co.jp" in received[1]  # gateway's, then Postfix's
    assert "来週の打ち合わせ".encode() in first.data
    assert all(len(line) <= 1000 for line in got["pf-2"].data.split(b"\r\n"))


def test_content_filter_reinjects_once_without_loop(tmp_path: Path) -> None:
    reinject = free_port()
    with RecordingSink() as sink:
        config, gw_port = write_config(
            tmp_path, {"relay": {"smarthost": f"127.0.0.1:{reinject}"}, "store": {"url": gateway_db(tmp_path)}}
        )
        blocks = {
            k: with_ports(v, {10025: gw_port, 10026: reinject}) for k, v in readme_blocks()["content_filter"].items()
        }
        # After the gateway, Postfix delivers as usual: here "the Internet" is the sink.
        with (
            GatewayProcess(config, gw_port, tmp_path / "gw.log"),
            PostfixInstance(
                main={"relayhost": f"[127.0.0.1]:{sink.port}"}, main_text=blocks["main.cf"], master=blocks["master.cf"]
            ) as mta,
        ):
            for i in range(5):
                send(mta.port, [f"partner{i}@partner.example"], message(f"cf-{i}"))
            assert sink.wait_for(5, timeout=60), mta.log()
            assert mta.wait_log(r"removed", 30, 10)  # 5 messages in, 5 re-injected, all gone
            time.sleep(2)  # room for a looping copy to show up
            counts = wait_queues_empty(gateway_db(tmp_path), 10)
            queue = mta.queue()
            log = mta.log()
        got = sink.snapshot()
    ids = Counter(m.header("X-Test-Id") for m in got)
    assert ids == Counter({f"cf-{i}": 1 for i in range(5)})
    assert counts[Queue.INBOUND] + counts[Queue.OUTBOUND] == 0
    assert queue == []
    # Each message went through the gateway exactly once: Postfix(front) → gateway → Postfix(re-injection).
    for m in got:
        received = m.message.get_all("Received") or []
        assert sum("by gw.test" in r for r in received) == 1
        assert len(received) == 3
    assert len([line for line in log.splitlines() if f"relay=127.0.0.1[127.0.0.1]:{gw_port}" in line]) == 5


@pytest.fixture
def looping(tmp_path: Path) -> Iterator[tuple[PostfixInstance, str]]:
    """A misconfiguration: Postfix relays to the gateway, whose smarthost is that same Postfix."""
    mta = PostfixInstance()
    config, gw_port = write_config(
        tmp_path,
        {
            "relay": {"smarthost": f"127.0.0.1:{mta.port}"},
            "smtp": {"max_received_headers": 12},
            "store": {"url": gateway_db(tmp_path)},
        },
    )
    mta.main = {"relayhost": f"[127.0.0.1]:{gw_port}"}
    with GatewayProcess(config, gw_port, tmp_path / "gw.log"), mta:
        yield mta, gateway_db(tmp_path)


def test_a_routing_loop_is_cut_and_ends(looping: tuple[PostfixInstance, str]) -> None:
    mta, url = looping
    send(mta.port, ["partner@partner.example"], message("loop-1"))
    # Each round adds two Received headers; past 12 the gateway answers 554 5.4.6 and Postfix bounces.
    assert mta.wait_log(r"status=bounced .*5\.4\.6", 60), mta.log()
    # The bounce travels the same loop, is cut the same way, and the double bounce is discarded:
    # after that nothing moves any more.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not mta.queue() and sum(wait_queues_empty(url, 0).values()) == 0:
            break
        time.sleep(0.5)
    assert mta.queue() == []
    assert sum(wait_queues_empty(url, 0).values()) == 0
    settled = mta.log().count("status=sent")
    time.sleep(3)
    assert mta.log().count("status=sent") == settled


PII_BODY = (
    "田中様\r\n\r\nご依頼の顧客連絡先です。\r\n"
    "佐藤 花子 090-1234-5678 東京都千代田区丸の内1-1-1 hanako.sato@gmail.com\r\n"
    "鈴木 一郎 080-2345-6789 大阪府大阪市北区梅田2-2-2 ichiro.suzuki@yahoo.co.jp\r\n"
    "高橋 健 070-3456-7890 愛知県名古屋市中区栄3-3-3 ken.takahashi@outlook.jp\r\n"
)
LINK = re.compile(r"http://127\.0\.0\.1:\d+/h/[0-9a-f]+/[A-Za-z0-9_\-]+")


def notices_to(messages: list[Received], rcpt: str) -> list[Received]:
    return [m for m in messages if m.mail_from == "" and m.rcpt_tos == (rcpt,)]


def text_of(received: Received) -> str:
    mail = email.message_from_bytes(received.data, policy=email.policy.default)
    part = mail.get_body(("plain",))  # type: ignore[attr-defined]
    assert part is not None
    return str(part.get_content())


def confirm(link: str) -> str:
    """What a person does in the browser: open the page, press the confirm button (POST, CSRF token)."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with opener.open(link, timeout=30) as page:
        html = page.read().decode()
    form = re.search(
        r'<form method="post" action="([^"]+)" id="confirm-form">\s*<input type="hidden" name="csrf" '
        r'value="([^"]+)"',
        html,
    )
    assert form is not None, html
    action = urllib.parse.urljoin(link, form.group(1).replace("&amp;", "&"))
    data = urllib.parse.urlencode({"csrf": form.group(2)}).encode()
    with opener.open(urllib.request.Request(action, data=data, method="POST"), timeout=30) as result:
        return result.read().decode()


def test_hold_confirmed_by_the_sender_is_delivered(tmp_path: Path) -> None:
    web_port = free_port()
    with RecordingSink() as sink:
        config, gw_port = write_config(
            tmp_path,
            {
                "relay": {"smarthost": f"127.0.0.1:{sink.port}"},
                "web": {"listen": f"127.0.0.1:{web_port}", "base_url": f"http://127.0.0.1:{web_port}"},
                "hold": {"language": "en"},
            },
        )
        main_cf = with_ports(readme_blocks()["relayhost"]["main.cf"], {10025: gw_port})
        with GatewayProcess(config, gw_port, tmp_path / "gw.log"), PostfixInstance(main_text=main_cf) as mta:
            send(mta.port, ["tanaka@partner.example"], message("held-1", to="tanaka@partner.example", body=PII_BODY))
            # The sender's notice comes back through the same route; the message itself does not.
            assert sink.wait_until(lambda got: bool(notices_to(got, SENDER)), timeout=60), mta.log()
            (notice,) = notices_to(sink.snapshot(), SENDER)
            assert [m.header("X-Test-Id") for m in sink.snapshot()] == [None]
            links = LINK.findall(text_of(notice))
            assert links, text_of(notice)
            confirm(links[0])
            assert sink.wait_until(lambda got: any(m.header("X-Test-Id") == "held-1" for m in got), timeout=60)
            time.sleep(1)
            got = sink.snapshot()
    released = [m for m in got if m.header("X-Test-Id") == "held-1"]
    assert len(released) == 1
    assert released[0].rcpt_tos == ("tanaka@partner.example",)
    assert "佐藤 花子".encode() in released[0].data


def test_reject_reaches_the_sender_as_a_notice_through_reinjection(tmp_path: Path) -> None:
    reinject = free_port()
    with RecordingSink() as sink:
        config, gw_port = write_config(
            tmp_path,
            {
                "relay": {"smarthost": f"127.0.0.1:{reinject}"},
                "recipients": {"dns": {"enabled": False}, "deny_domains": ["blocked.example"]},
                "hold": {"language": "en"},
            },
        )
        blocks = {
            k: with_ports(v, {10025: gw_port, 10026: reinject}) for k, v in readme_blocks()["content_filter"].items()
        }
        with (
            GatewayProcess(config, gw_port, tmp_path / "gw.log"),
            PostfixInstance(
                main={"relayhost": f"[127.0.0.1]:{sink.port}"}, main_text=blocks["main.cf"], master=blocks["master.cf"]
            ) as mta,
        ):
            send(mta.port, ["someone@blocked.example"], message("rejected-1", to="someone@blocked.example"))
            assert sink.wait_until(lambda got: bool(notices_to(got, SENDER)), timeout=60), mta.log()
            time.sleep(1)
            got = sink.snapshot()
    assert len(got) == 1
    (notice,) = got
    assert "blocked.example" in text_of(notice)
    assert "Not sent" in str(notice.message["Subject"]) or "送信" in str(notice.message["Subject"])
    # The notice came through Postfix's re-injection listener (and was not inspected again).
    assert sum("mta.example.co.jp" in r for r in notice.message.get_all("Received") or []) >= 1
