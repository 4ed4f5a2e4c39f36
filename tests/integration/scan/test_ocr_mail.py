"""Text in images: real images rendered here, read by Tesseract through the real extraction and scanner.

Skipped only when Tesseract (tesserocr with jpn+eng data) or the Noto CJK font is missing; .ci/run
installs both, so CI runs these."""

from __future__ import annotations

import base64
import io
import struct
import zipfile
import zlib
from email.message import EmailMessage
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from gateway.config.ocr import OcrSettings
from gateway.extract import Extraction, ExtractLimits, extract_message
from gateway.extract.ocr import available
from gateway.scan import ScanConfig, ScanContext
from gateway.scan.engine import Scanner
from gateway.scan.model import ScanResult
from tests.support import images
from tests.unit.extract import extract_fixtures as fx

_MISSING = available(OcrSettings())
pytestmark = [
    pytest.mark.skipif(bool(_MISSING), reason=f"Tesseract with jpn+eng is not installed here: {_MISSING}"),
    pytest.mark.skipif(not images.FONT.exists(), reason=f"the Noto CJK font ({images.FONT}) is not installed"),
]

PEOPLE = images.people(20, seed=7)


def mail(*attachments: tuple[bytes, str, str], body: str = "資料をお送りします。") -> bytes:
    m = EmailMessage()
    m["From"] = "taro@example.co.jp"
    m["To"] = "partner@partner.example"
    m["Subject"] = "資料送付"
    m.set_content(body)
    for data, name, ctype in attachments:
        main, sub = ctype.split("/")
        m.add_attachment(data, maintype=main, subtype=sub, filename=name)
    return m.as_bytes()


def inline_mail(png: bytes) -> bytes:
    """HTML with the image inline (multipart/related, Content-ID, no file name), as mail clients paste it."""
    m = EmailMessage()
    m["From"] = "taro@example.co.jp"
    m["To"] = "partner@partner.example"
    m["Subject"] = "一覧"
    m.set_content("一覧です。")
    m.add_alternative('<p>一覧です。</p><img src="cid:shot1@example.co.jp">', subtype="html")
    html = m.get_payload()[1]
    html.add_related(png, maintype="image", subtype="png", cid="<shot1@example.co.jp>")
    return m.as_bytes()


@pytest.fixture(scope="module")
def scanner() -> Scanner:
    return Scanner(ScanConfig(ner_window_chars=0))


def scan(scanner: Scanner, raw: bytes, limits: ExtractLimits | None = None) -> tuple[Extraction, ScanResult]:
    extraction = extract_message(raw, limits or ExtractLimits())
    return extraction, scanner.scan(extraction.segments, ScanContext(sender="taro@example.co.jp"))


def phones(result: ScanResult) -> int:
    return sum(f.count for f in result.personal if f.entity == "JP_PHONE_NUMBER")


def test_screenshot_of_a_table_is_read_as_a_table(scanner: Scanner) -> None:
    png = images.encode(images.table_image(PEOPLE))
    extraction, result = scan(scanner, mail((png, "scan.png", "image/png")))
    assert not extraction.unscannable
    (seg,) = [s for s in extraction.segments if s.attachment == "scan.png" and s.kind != "filename"]
    assert seg.where.startswith("attachment scan.png › OCR")
    assert seg.kind == "table" and seg.header == images.HEADER and seg.rows >= 18
    assert phones(result) >= 18  # Tesseract misreads a digit now and then; most rows must be found
    names = sum(1 for name, _, _ in PEOPLE if name in seg.text)
    assert names >= 12  # 太郎 read as 太朗 and the like; the scanner still sees people (below)
    assert {"PERSON", "JP_PHONE_NUMBER", "JP_ADDRESS"} <= result.entities()
    assert all(f.where.startswith("attachment scan.png › OCR") for f in result.personal)
    assert extraction.attachments[0].text_extracted and extraction.stats["ocr_images"] == 1


def test_jpeg_attachment_and_inline_image(scanner: Scanner) -> None:
    jpg = images.encode(images.table_image(PEOPLE[:6]), "JPEG")
    _, result = scan(scanner, mail((jpg, "写真.jpg", "image/jpeg")))
    assert phones(result) >= 5 and all("写真.jpg › OCR" in f.where for f in result.personal)
    png = images.encode(images.table_image(PEOPLE[:6]))
    extraction, result = scan(scanner, inline_mail(png))
    assert phones(result) >= 5
    (seg,) = [s for s in extraction.segments if "OCR" in s.path]
    assert seg.attachment.startswith("part ")  # no file name: named by its MIME part


def test_data_uri_image_in_html_and_an_image_in_a_zip(scanner: Scanner) -> None:
    png = images.encode(images.table_image(PEOPLE[:6]))
    m = EmailMessage()
    m["Subject"] = "一覧"
    m.set_content("一覧です。")
    m.add_alternative(f'<p>一覧です。</p><img src="data:image/png;base64,{base64.b64encode(png).decode()}">', "html")
    extraction, result = scan(scanner, m.as_bytes())
    assert phones(result) >= 5
    assert all(f.where.startswith("attachment inline image 1 › OCR") for f in result.personal)
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr("資料/スクリーンショット.png", png)
    extraction, result = scan(scanner, mail((zipped.getvalue(), "資料.zip", "application/zip")))
    assert phones(result) >= 5 and not extraction.unscannable
    assert all("資料.zip › 資料/スクリーンショット.png › OCR" in f.where for f in result.personal)


def test_image_only_pdf_page_is_rendered_and_read(scanner: Scanner) -> None:
    scanned = images.image_pdf(images.scanned_page(PEOPLE[:12]))
    writer = PdfWriter()  # page 1 with a text layer, page 2 a scan
    for blob in (fx.pdf(["お世話になっております。添付の名簿をご確認ください。"]), scanned):
        for page in PdfReader(io.BytesIO(blob)).pages:
            writer.add_page(page)
    out = io.BytesIO()
    writer.write(out)
    extraction, result = scan(scanner, mail((out.getvalue(), "名簿.pdf", "application/pdf")))
    assert not extraction.unscannable
    ocr = [s for s in extraction.segments if "OCR" in s.path]
    assert {s.sheet for s in ocr} == {"page 2"}  # the page with a text layer is not OCR'd
    title, table = ocr
    assert title.text == "顧客名簿" and table.kind == "table" and table.header == images.HEADER
    assert phones(result) >= 10
    assert any(f.where.startswith("attachment 名簿.pdf › OCR › sheet page 2") for f in result.personal)


def test_logos_and_icons_are_skipped_not_read(scanner: Scanner) -> None:
    raw = mail(
        (images.encode(images.logo()), "logo.png", "image/png"),
        (images.encode(images.icon(24)), "twitter.png", "image/png"),
        (images.encode(images.logo(600, 40)), "banner.gif", "image/gif"),
    )
    extraction, result = scan(scanner, raw)
    assert extraction.stats["ocr_skipped"] == 3 and "ocr_images" not in extraction.stats
    assert not extraction.findings and not result.personal


def test_skip_sizes_are_configurable() -> None:
    raw = mail((images.encode(images.logo(240, 80, "TEL 090-8364-8737")), "logo.png", "image/png"))
    small = ExtractLimits(ocr=OcrSettings(min_pixels=10_000))
    assert extract_message(raw, small).stats["ocr_images"] == 1
    with pytest.raises(ValueError, match="min_pixels"):
        OcrSettings(min_pixels=100, max_pixels=10)
    with pytest.raises(ValueError, match="languages"):
        OcrSettings(languages="jpn+../etc")


def test_ocr_missing_is_unscannable_not_a_pass(tmp_path: Path) -> None:
    png = images.encode(images.table_image(PEOPLE[:3]))
    for settings, detail in (
        (OcrSettings(tessdata=str(tmp_path)), "not found"),  # language data missing
        (OcrSettings(enabled=False), "switched off"),
    ):
        extraction = extract_message(mail((png, "scan.png", "image/png")), ExtractLimits(ocr=settings))
        (finding,) = extraction.unscannable
        assert finding.reason == "ocr-unavailable" and detail in finding.detail
        assert finding.attachment == "scan.png"
    pdf = images.image_pdf(images.scanned_page(PEOPLE[:3]))
    off = ExtractLimits(ocr=OcrSettings(enabled=False))
    (finding,) = extract_message(mail((pdf, "scan.pdf", "application/pdf")), off).unscannable
    assert (finding.reason, finding.sheet) == ("ocr-unavailable", "page 1")


def test_ocr_past_its_budget_is_unscannable() -> None:
    page = images.encode(images.scanned_page(PEOPLE))
    tight = ExtractLimits(ocr=OcrSettings(image_seconds=0.05))
    reasons = [f.reason for f in extract_message(mail((page, "scan.png", "image/png")), tight).unscannable]
    assert reasons == ["limit-ocr-time"]
    # The message's budget: once spent, the next image is not even started.
    shot = images.encode(images.table_image(PEOPLE[:4]))
    per_message = ExtractLimits(ocr=OcrSettings(message_seconds=0.05))
    x = extract_message(mail((page, "a.png", "image/png"), (shot, "b.png", "image/png")), per_message)
    expected = [("a.png", "limit-ocr-time"), ("b.png", "limit-ocr-time")]
    assert [(f.attachment, f.reason) for f in x.unscannable] == expected
    assert "used up" in x.unscannable[1].detail


def _png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims a size it does not have (a decompression bomb's first step)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
        + struct.pack(">I", 0)
        + b"IEND"
        + struct.pack(">I", zlib.crc32(b"IEND"))
    )


def test_huge_broken_and_truncated_images_are_unscannable() -> None:
    huge = extract_message(mail((_png_claiming(60_000, 60_000), "bomb.png", "image/png")))
    assert [f.reason for f in huge.unscannable] == ["limit-image-pixels"]
    whole = images.encode(images.table_image(PEOPLE[:4]))
    cut = extract_message(mail((whole[: len(whole) // 2], "cut.png", "image/png")))
    assert [f.reason for f in cut.unscannable] == ["image-undecodable"]


def _page_with(picture: bytes, x: float, y: float, scale: float = 1.0) -> bytes:
    """An A4 page with a text layer (a letter) and `picture` (an image-only PDF page) drawn at (x, y)."""
    from pypdf import Transformation

    letter = fx.pdf(["お世話になっております。先日のご依頼の件、下記の通りご報告いたします。", "以上"][:1])
    writer = PdfWriter()
    page = writer.add_blank_page(595, 842)
    page.merge_page(PdfReader(io.BytesIO(letter)).pages[0])
    page.merge_transformed_page(
        PdfReader(io.BytesIO(picture)).pages[0], Transformation().scale(scale, scale).translate(x, y)
    )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_screenshot_on_a_pdf_page_with_text_is_read(scanner: Scanner) -> None:
    shot = images.image_pdf(images.table_image(PEOPLE[:8]), dpi=150)  # 480 pt wide: 40% of the page
    extraction, result = scan(scanner, mail((_page_with(shot, 50, 380), "報告.pdf", "application/pdf")))
    assert not extraction.unscannable
    ocr = [s for s in extraction.segments if "OCR" in s.path]
    assert {s.sheet for s in ocr} == {"page 1 image 1"}
    assert phones(result) >= 6
    assert all(f.where.startswith("attachment 報告.pdf › OCR › sheet page 1 image 1") for f in result.personal)


def test_logo_on_a_pdf_page_with_text_is_not_read() -> None:
    logo = images.image_pdf(images.logo(600, 200), dpi=300)  # 144x48 pt: a letterhead logo
    extraction = extract_message(mail((_page_with(logo, 400, 760), "letter.pdf", "application/pdf")))
    assert not extraction.findings and "ocr_images" not in extraction.stats


def test_the_same_image_on_every_pdf_page_is_read_once() -> None:
    shot = images.image_pdf(images.table_image(PEOPLE[:8]), dpi=150)
    page = PdfReader(io.BytesIO(_page_with(shot, 50, 380))).pages[0]
    writer = PdfWriter()
    for _ in range(3):  # a report whose every page carries the same picture
        writer.add_page(page)
    out = io.BytesIO()
    writer.write(out)
    extraction = extract_message(mail((out.getvalue(), "報告.pdf", "application/pdf")))
    assert not extraction.unscannable and extraction.stats["ocr_images"] == 1
    assert {s.sheet for s in extraction.segments if "OCR" in s.path} == {"page 1 image 1"}
