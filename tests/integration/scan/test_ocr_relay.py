"""Images through the whole gateway: SMTP in, the inspection pool's OCR lane, a recording sink out.
A customer list in a screenshot, an inline image, a scanned PDF page or a screenshot pasted into a
docx is held for an external recipient and never relayed; a signature logo (alone or in a docx)
passes; with OCR missing the image is held as UNSCANNABLE (its own reason in the sender's notice),
never passed unread."""

from __future__ import annotations

import email
import email.parser
import email.policy
import io
import smtplib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from gateway.config.ocr import OcrSettings
from gateway.extract.ocr import available
from gateway.store import open_store
from gateway.store.base import Queue
from tests.support import images
from tests.support.gateway_proc import GatewayProcess, write_config
from tests.support.sink import Received, RecordingSink

_MISSING = available(OcrSettings())
pytestmark = [
    pytest.mark.skipif(bool(_MISSING), reason=f"Tesseract with jpn+eng is not installed here: {_MISSING}"),
    pytest.mark.skipif(not images.FONT.exists(), reason=f"the Noto CJK font ({images.FONT}) is not installed"),
]

SENDER = "taro@example.co.jp"
EXTERNAL = "partner@partner.example"
PEOPLE = images.people(15, seed=11)


@dataclass
class Node:
    port: int
    sink: RecordingSink
    store_url: str


def start(tmp: Path, sink: RecordingSink, **extract: Any) -> tuple[GatewayProcess, Node]:
    overrides: dict[str, Any] = {"relay": {"smarthost": f"127.0.0.1:{sink.port}"}}
    if extract:
        overrides["extract"] = extract
    config, port = write_config(tmp, overrides)
    gateway = GatewayProcess(config, port, tmp / "gateway.log").start()
    return gateway, Node(port, sink, f"sqlite:///{tmp}/gateway.db")


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    with RecordingSink() as sink:
        gateway, n = start(tmp_path_factory.mktemp("ocr"), sink)
        try:
            yield n
        finally:
            gateway.stop()
            gateway.kill()


def message(test_id: str, body: str, *attachments: tuple[bytes, str, str], inline: bytes | None = None) -> bytes:
    m = EmailMessage()
    m["From"] = f"山田 太郎 <{SENDER}>"
    m["To"] = EXTERNAL
    m["Subject"] = "資料送付"
    m["Message-ID"] = f"<{test_id}@example.co.jp>"
    m["X-Test-Id"] = test_id
    m.set_content(body)
    if inline is not None:
        m.add_alternative(f'<p>{body}</p><img src="cid:{test_id}@img">', subtype="html")
        m.get_payload()[1].add_related(inline, maintype="image", subtype="png", cid=f"<{test_id}@img>")
    for data, name, ctype in attachments:
        main, sub = ctype.split("/")
        m.add_attachment(data, maintype=main, subtype=sub, filename=name)
    return m.as_bytes()


def docx_with(*pictures: bytes) -> bytes:
    """A Word document with the pictures pasted in its body."""
    import docx

    document = docx.Document()
    document.add_paragraph("先日の件、画面を貼り付けます。")
    for picture in pictures:
        document.add_picture(io.BytesIO(picture))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def send(node: Node, raw: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", node.port, timeout=60) as client:
        client.sendmail(SENDER, [EXTERNAL], raw)


def held_ids(node: Node, want: set[str], timeout: float = 240) -> set[str]:
    """X-Test-Ids of the held messages, once all of `want` are held (or the time is up)."""
    headers = email.parser.BytesHeaderParser(policy=email.policy.compat32)
    store = open_store(node.store_url)
    try:
        deadline = time.monotonic() + timeout
        while True:
            queued = store.list_queue(Queue.HOLD, 1000)
            held = {headers.parsebytes(store.raw(m.id)).get("X-Test-Id", "") for m in queued}
            if want <= held or time.monotonic() > deadline:
                return held
            time.sleep(0.5)
    finally:
        store.close()


def relayed(node: Node, test_id: str) -> list[Received]:
    return [m for m in node.sink.snapshot() if m.header("X-Test-Id") == test_id and EXTERNAL in m.rcpt_tos]


def notice_for(node: Node, subject_word: str) -> list[str]:
    """Bodies of the hold notices to the sender (they quote the held message's attachments)."""
    out = []
    for m in node.sink.snapshot():
        if m.mail_from == "" and SENDER in m.rcpt_tos:
            msg = email.message_from_bytes(m.data, policy=email.policy.default)
            body = msg.get_body(("plain",))
            text = body.get_content() if body is not None else ""
            if subject_word in text:
                out.append(text)
    return out


def test_customer_lists_in_images_are_held_and_logos_pass(node: Node) -> None:
    table = images.encode(images.table_image(PEOPLE))
    scanned = images.image_pdf(images.scanned_page(PEOPLE))
    cases = {
        "ocr-screenshot": message("ocr-screenshot", "一覧を送ります。", (table, "scan.png", "image/png")),
        "ocr-inline": message("ocr-inline", "下記の通りです。", inline=table),
        "ocr-scanned-pdf": message("ocr-scanned-pdf", "スキャンしました。", (scanned, "名簿.pdf", "application/pdf")),
        "ocr-docx": message("ocr-docx", "報告書をお送りします。", (docx_with(table), "報告.docx", DOCX)),
    }
    logo = message(
        "ocr-logo",
        "よろしくお願いいたします。\n株式会社さくら",
        (images.encode(images.logo()), "logo.png", "image/png"),
        (images.encode(images.icon()), "x.png", "image/png"),
        (docx_with(images.encode(images.logo()), images.encode(images.icon())), "案内.docx", DOCX),
    )
    for raw in [*cases.values(), logo]:
        send(node, raw)
    assert node.sink.wait_until(lambda got: any(m.header("X-Test-Id") == "ocr-logo" for m in got), timeout=120)
    assert held_ids(node, set(cases)) >= set(cases)
    for test_id in cases:
        assert relayed(node, test_id) == [], test_id
    assert node.sink.wait_until(lambda got: len(notice_for(node, "名簿.pdf")) >= 1, timeout=60)
    (pdf_notice,) = notice_for(node, "名簿.pdf")
    assert "電話番号" in pdf_notice  # the entity by its Japanese label, not its code
    assert not any(phone in pdf_notice for _, _, phone in PEOPLE)  # masked samples only
    assert node.sink.wait_until(lambda got: len(notice_for(node, "報告.docx")) >= 1, timeout=60)
    (docx_notice,) = notice_for(node, "報告.docx")
    assert "電話番号" in docx_notice and "word/media/image1.png" in docx_notice


def test_with_ocr_missing_an_image_is_held_as_unscannable(tmp_path: Path) -> None:
    table = images.encode(images.table_image(PEOPLE[:3]))
    with RecordingSink() as sink:
        gateway, n = start(tmp_path, sink, ocr={"tessdata": str(tmp_path / "no-tessdata")})
        try:
            send(n, message("ocr-missing", "添付します。", (table, "scan.png", "image/png")))
            send(n, message("ocr-missing-logo", "署名のみ", (images.encode(images.logo()), "logo.png", "image/png")))
            assert "ocr-missing" in held_ids(n, {"ocr-missing"})
            assert sink.wait_until(lambda got: any(m.header("X-Test-Id") == "ocr-missing-logo" for m in got), 120)
            assert relayed(n, "ocr-missing") == []
            assert sink.wait_until(lambda got: len(notice_for(n, "scan.png")) >= 1, timeout=60)
            (notice,) = notice_for(n, "scan.png")
            assert "画像の文字を読み取れません (OCR が利用できません)" in notice
        finally:
            gateway.stop()
            gateway.kill()
