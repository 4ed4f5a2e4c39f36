"""Personal data in the places issue 14 added, through a live gateway: SMTP in, a recording sink
behind it. Each message carries a My Number (held for a manager whatever the recipient history)
only in one such place and goes to an external recipient: every one ends held, none is relayed,
while the same message without the number is relayed."""

from __future__ import annotations

import email.parser
import email.policy
import smtplib
import time
from collections.abc import Callable, Iterator
from email import encoders
from email.header import Header
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path

import pytest

from gateway.store import open_store
from gateway.store.base import Queue
from tests.support.gateway_proc import GatewayProcess, write_config
from tests.support.sink import RecordingSink
from tests.unit.extract import coverage_fixtures as cf
from tests.unit.extract.extract_fixtures import pdf

SENDER = "taro@example.co.jp"
EXTERNAL = "partner@partner.example"
SECRET = "マイナンバー 123456789018"
HARMLESS = "ご確認ください"


def _base(test_id: str, body: str = "お世話になっております。資料をお送りします。") -> MIMEMultipart:
    m = MIMEMultipart()
    m["From"] = SENDER
    m["To"] = EXTERNAL
    m["Subject"] = "資料"
    m["Message-ID"] = f"<{test_id}@example.co.jp>"
    m["X-Test-Id"] = test_id
    m.attach(MIMEText(body, "plain", "utf-8"))
    return m


def _file(m: MIMEMultipart, data: bytes, name: str, ctype: str = "application/octet-stream") -> None:
    main, sub = ctype.split("/")
    part = MIMEBase(main, sub)
    part.set_payload(data)
    encoders.encode_base64(part)
    part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", name))
    m.attach(part)


def html_comment(test_id: str, text: str) -> bytes:
    m = MIMEMultipart("alternative")
    m["From"], m["To"], m["Subject"] = SENDER, EXTERNAL, "資料"
    m["X-Test-Id"] = test_id
    m.attach(MIMEText("ご確認ください。", "plain", "utf-8"))
    m.attach(MIMEText(f"<html><body><p>ご確認ください。</p><!-- {text} --></body></html>", "html", "utf-8"))
    return m.as_bytes()


def zero_width(test_id: str, text: str) -> bytes:
    return _base(test_id, "\u200b".join(text) + "\n").as_bytes()


def x_header(test_id: str, text: str) -> bytes:
    m = _base(test_id)
    m["X-Note"] = Header(text, "utf-8").encode()
    return m.as_bytes()


def file_name(test_id: str, text: str) -> bytes:
    m = _base(test_id)
    _file(m, "メモ".encode(), f"{text.replace(' ', '_')}.txt", "text/plain")
    return m.as_bytes()


def uuencoded(test_id: str, text: str) -> bytes:
    return _base(test_id, "添付します。\n" + cf.uuencode(f"{text}\n".encode(), "memo.txt")).as_bytes()


def tnef(test_id: str, text: str) -> bytes:
    m = _base(test_id)
    _file(m, cf.tnef("件名", f"本文 {text}", {}), "winmail.dat", "application/ms-tnef")
    return m.as_bytes()


def docx_footer(test_id: str, text: str) -> bytes:
    m = _base(test_id)
    _file(m, cf.docx_with(footer=text), "報告.docx")
    return m.as_bytes()


def xlsx_comment(test_id: str, text: str) -> bytes:
    m = _base(test_id)
    _file(m, cf.xlsx_with(comment=text), "集計.xlsx")
    return m.as_bytes()


def pdf_field(test_id: str, text: str) -> bytes:
    m = _base(test_id)
    _file(m, cf.pdf_with(pdf(["申込書"]), field_value=text), "申込書.pdf", "application/pdf")
    return m.as_bytes()


PLACES: dict[str, Callable[[str, str], bytes]] = {
    "html-comment": html_comment,
    "zero-width": zero_width,
    "x-header": x_header,
    "file-name": file_name,
    "uuencoded": uuencoded,
    "tnef": tnef,
    "docx-footer": docx_footer,
    "xlsx-comment": xlsx_comment,
    "pdf-field": pdf_field,
}


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GatewayProcess, RecordingSink, str]]:
    tmp: Path = tmp_path_factory.mktemp("coverage")
    with RecordingSink() as sink:
        config, port = write_config(tmp, {"relay": {"smarthost": f"127.0.0.1:{sink.port}"}, "hold": {"language": "en"}})
        gateway = GatewayProcess(config, port, tmp / "gateway.log").start()
        try:
            yield gateway, sink, f"sqlite:///{tmp}/gateway.db"
        finally:
            gateway.stop()
            gateway.kill()


def _send(port: int, raw: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.sendmail(SENDER, [EXTERNAL], raw)


def _held_ids(store_url: str) -> set[str]:
    store = open_store(store_url)
    headers = email.parser.BytesHeaderParser(policy=email.policy.compat32)
    try:
        held = [m for q in (Queue.HOLD, Queue.SHUNT) for m in store.list_queue(q, 1000)]
        return {headers.parsebytes(store.raw(m.id)).get("X-Test-Id", "") for m in held}
    finally:
        store.close()


def test_personal_data_in_every_new_place_is_held_not_relayed(node: tuple[GatewayProcess, RecordingSink, str]) -> None:
    gateway, sink, store_url = node
    held_ids = {f"held-{place}" for place in PLACES}
    clean_ids = {f"clean-{place}" for place in PLACES}
    for place, make in PLACES.items():
        _send(gateway.port, make(f"held-{place}", SECRET))
        _send(gateway.port, make(f"clean-{place}", HARMLESS))
    # The clean twins are relayed: the places themselves are no reason to hold.
    assert sink.wait_until(lambda got: clean_ids <= {m.header("X-Test-Id") for m in got}, timeout=120), sorted(
        clean_ids - {m.header("X-Test-Id") for m in sink.snapshot()}
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not held_ids <= _held_ids(store_url):
        time.sleep(0.5)
    assert held_ids <= _held_ids(store_url), sorted(held_ids - _held_ids(store_url))
    relayed = {m.header("X-Test-Id") for m in sink.snapshot()}
    assert not held_ids & relayed, sorted(held_ids & relayed)
