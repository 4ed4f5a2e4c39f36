"""Pictures inside Office packages and ODF, metafiles and SVG (issue 14): each with personal data
only in that one place, through the real extraction and scanner, found there or UNSCANNABLE.
The OCR of large pictures is in tests/integration/scan/test_ocr_office.py (it needs Tesseract)."""

from __future__ import annotations

import io
import zipfile

import pytest
from PIL import Image, ImageDraw

from gateway.config.extract import ExtractLimits
from gateway.config.ocr import OcrSettings
from gateway.content import Extraction
from gateway.extract import extract_message
from gateway.scan import ScanConfig, ScanContext
from gateway.scan.engine import Scanner
from gateway.scan.model import ScanResult
from tests.unit.extract import coverage_fixtures as cf
from tests.unit.extract import picture_fixtures as pf
from tests.unit.extract.extract_fixtures import ods, with_attachment

PHONE = "090-1234-5678"
CONTEXT = ScanContext(sender="taro@example.co.jp", recipients=("hanako@partner.example",))
DOCX = "報告.docx"


@pytest.fixture(scope="module")
def scanner() -> Scanner:
    return Scanner(ScanConfig(ner_window_chars=0))


def inspect(scanner: Scanner, raw: bytes, limits: ExtractLimits | None = None) -> tuple[Extraction, ScanResult]:
    x = extract_message(raw, limits)
    return x, scanner.scan(x.segments, CONTEXT)


def phones(result: ScanResult) -> list[str]:
    return [f.where for f in result.personal if f.entity == "JP_PHONE_NUMBER"]


def png(width: int, height: int, colour: tuple[int, int, int] = (20, 60, 140)) -> bytes:
    img = Image.new("RGB", (width, height), colour)
    ImageDraw.Draw(img).rectangle((4, 4, width // 2, height // 2), fill="white")
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def reasons(x: Extraction) -> list[tuple[str, str]]:
    return [(f.reason, f.where) for f in x.unscannable]


# -- metafiles --------------------------------------------------------------------------------------


def test_emf_text_records_in_a_docx(scanner: Scanner) -> None:
    drawing = pf.emf(pf.exttextoutw("顧客 山田太郎"), pf.exttextoutw(f"携帯 {PHONE}"))
    x, result = inspect(scanner, with_attachment(pf.docx_with_picture(drawing, "image1.emf", "image/x-emf"), DOCX))
    assert not x.unscannable
    assert phones(result) == [f"attachment {DOCX} › word/media/image1.emf › part 2"]
    (seg,) = [s for s in x.segments if s.path == ("word/media/image1.emf",) and s.kind != "filename"]
    assert seg.text.splitlines() == ["顧客 山田太郎", f"携帯 {PHONE}"]


def test_emf_plus_drawstring(scanner: Scanner) -> None:
    drawing = pf.emf(pf.emf_plus_drawstring(f"携帯 {PHONE}"))
    x, result = inspect(scanner, with_attachment(drawing, "chart.emf", "image/x-emf"))
    assert not x.unscannable and x.attachments[0].detected_type == "image/emf"
    assert phones(result) == ["attachment chart.emf › part 2"]


def test_emf_text_as_glyph_indices_is_unscannable() -> None:
    drawing = pf.emf(pf.exttextoutw("\x01\x02\x03\x04", options=pf.ETO_GLYPH_INDEX))
    x = extract_message(with_attachment(pf.docx_with_picture(drawing, "image1.emf", "image/x-emf"), DOCX))
    assert reasons(x) == [("metafile-text", f"attachment {DOCX} › word/media/image1.emf › part 2")]


def test_truncated_emf_is_unscannable() -> None:
    drawing = pf.emf(pf.exttextoutw(f"携帯 {PHONE}"))
    x = extract_message(with_attachment(drawing[:120], "chart.emf", "image/x-emf"))
    assert [f.reason for f in x.unscannable] == ["metafile-text"]


def test_emf_bitmap_of_logo_size_is_skipped() -> None:
    logo = Image.open(io.BytesIO(png(200, 60)))
    drawing = pf.emf(pf.stretchdibits(logo), pf.exttextoutw("株式会社さくら"))
    x = extract_message(with_attachment(pf.docx_with_picture(drawing, "image1.emf", "image/x-emf"), DOCX))
    assert not x.findings and x.stats["ocr_skipped"] == 1


def test_emf_bitmap_is_read_as_an_image() -> None:
    shot = Image.open(io.BytesIO(png(600, 300)))
    drawing = pf.emf(pf.stretchdibits(shot))
    off = ExtractLimits(ocr=OcrSettings(enabled=False))  # the bitmap reaches the OCR step
    x = extract_message(with_attachment(pf.docx_with_picture(drawing, "image1.emf", "image/x-emf"), DOCX), off)
    assert reasons(x) == [("ocr-unavailable", f"attachment {DOCX} › word/media/image1.emf › bitmap 1 › part 2")]


def test_wmf_shift_jis_text(scanner: Scanner) -> None:
    drawing = pf.wmf_text(f"山田太郎 携帯 {PHONE}")
    x, result = inspect(scanner, with_attachment(pf.docx_with_picture(drawing, "image2.wmf", "image/x-wmf"), DOCX))
    assert not x.unscannable
    assert phones(result) == [f"attachment {DOCX} › word/media/image2.wmf › part 2"]
    assert any("山田太郎" in s.text for s in x.segments)


# -- SVG --------------------------------------------------------------------------------------------


def test_svg_text_in_a_docx_and_as_an_attachment(scanner: Scanner) -> None:
    drawing = pf.svg(PHONE)
    x, result = inspect(scanner, with_attachment(pf.docx_with_picture(drawing, "image3.svg", "image/svg+xml"), DOCX))
    assert not x.unscannable
    assert phones(result) == [f"attachment {DOCX} › word/media/image3.svg › part 2"]
    x, result = inspect(scanner, with_attachment(drawing, "icon.svg", "image/svg+xml"))
    assert phones(result) == ["attachment icon.svg › part 2"]
    (seg,) = [s for s in x.segments if s.attachment == "icon.svg" and s.kind != "filename"]
    assert seg.text.splitlines() == ["連絡先", f"携帯 {PHONE}"]  # text, not markup


def test_svg_with_a_doctype_is_refused() -> None:
    x = extract_message(with_attachment(pf.docx_with_picture(pf.svg(PHONE, True), "a.svg", "image/svg+xml"), DOCX))
    assert reasons(x) == [("xml-doctype", f"attachment {DOCX} › word/media/a.svg › part 2")]


# -- pictures that cannot be decoded ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("blob", "ctype"),
    [
        (b"\x00\x11\x02\xff" * 64, "image/x-pict"),  # a format Pillow does not read
        (png(600, 400)[:200], "image/png"),  # cut
        (b"VCLMTF\x01\x00" + b"\x00" * 64, "image/x-svm"),  # LibreOffice's own metafile
    ],
    ids=["pict", "truncated-png", "svm"],
)
def test_picture_that_cannot_be_decoded_is_unscannable(blob: bytes, ctype: str) -> None:
    x = extract_message(with_attachment(pf.docx_with_picture(blob, "image1.bin", ctype), DOCX))
    assert [(f.reason, f.path) for f in x.unscannable] == [("image-undecodable", ("word/media/image1.bin",))]


# -- what is not read, by size ----------------------------------------------------------------------


def test_logos_icons_thumbnails_and_repeats_cost_no_ocr() -> None:
    members = cf.zip_members(cf.docx_with(header="株式会社さくら"))  # python-docx ships a 395x512 thumbnail
    logo = png(240, 80)
    for i, (name, blob) in enumerate(
        [("image1.png", logo), ("image2.png", png(24, 24)), ("image3.png", png(600, 12)), ("image4.png", logo)]
    ):
        cf.add_part(members, f"word/media/{name}", blob, "image/png", "word/header1.xml", "image", f"rIdI{i}")
    x = extract_message(with_attachment(cf.rezip(members), DOCX))
    assert not x.findings
    assert x.stats["ocr_skipped"] == 3 and "ocr_images" not in x.stats  # image4 is image1 again
    # Parts of the document, not attachments: a letterhead logo in every document must not make
    # two documents "the same file" for the misaddressed-mail comparison, nor count as files.
    assert [a.name for a in x.attachments] == [DOCX]
    assert not [s for s in x.segments if s.kind == "filename" and s.path]


def test_large_thumbnail_and_large_pictures_are_read_not_skipped() -> None:
    members = cf.zip_members(cf.docx_with())
    members["docProps/thumbnail.jpeg"] = png(800, 1000)  # larger than any thumbnail Office writes
    cf.add_part(members, "word/media/image1.png", png(1000, 650), "image/png", "word/document.xml", "image", "rIdS")
    off = ExtractLimits(ocr=OcrSettings(enabled=False))
    x = extract_message(with_attachment(cf.rezip(members), DOCX), off)
    assert sorted(f.path for f in x.unscannable if f.reason == "ocr-unavailable") == [
        ("docProps/thumbnail.jpeg",),
        ("word/media/image1.png",),
    ]


def test_opendocument_pictures() -> None:
    members = cf.zip_members(ods())
    members["Pictures/logo.png"] = png(200, 60)
    members["Pictures/shot.png"] = png(900, 500)
    members["Pictures/drawing.svm"] = b"VCLMTF\x01\x00" + b"\x00" * 64
    members["Thumbnails/thumbnail.png"] = png(256, 181)
    members["Object 1/content.xml"] = members["content.xml"]
    members["ObjectReplacements/Object 1"] = b"VCLMTF\x01\x00" + b"\x00" * 64  # a picture of Object 1
    members["ObjectReplacements/Object 2"] = b"VCLMTF\x01\x00" + b"\x00" * 64  # of nothing that is read
    off = ExtractLimits(ocr=OcrSettings(enabled=False))
    x = extract_message(with_attachment(cf.rezip(members), "名簿.ods"), off)
    assert sorted((f.reason, f.path[0]) for f in x.unscannable) == [
        ("image-undecodable", "ObjectReplacements/Object 2"),
        ("image-undecodable", "Pictures/drawing.svm"),
        ("ocr-unavailable", "Pictures/shot.png"),
    ]
    assert x.stats["ocr_skipped"] == 1


def test_docx_picture_with_ocr_off_is_unscannable_never_a_pass() -> None:
    import docx as python_docx

    d = python_docx.Document()
    d.add_paragraph("画面のコピーです。")
    d.add_picture(io.BytesIO(png(1000, 650)))
    out = io.BytesIO()
    d.save(out)
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as z:
        (media,) = [n for n in z.namelist() if n.startswith("word/media/")]
    x = extract_message(with_attachment(out.getvalue(), DOCX), ExtractLimits(ocr=OcrSettings(enabled=False)))
    ((reason, where),) = reasons(x)
    assert reason == "ocr-unavailable" and where == f"attachment {DOCX} › {media} › part 2"


# -- HTML srcset and SVG data: images ---------------------------------------------------------------


def _html_mail(html: str) -> bytes:
    from email.mime.multipart import MIMEMultipart
    from email.mime.text import MIMEText

    m = MIMEMultipart("alternative")
    m["From"], m["To"], m["Subject"] = "taro@example.co.jp", "hanako@partner.example", "資料"
    m.attach(MIMEText("ご確認ください。", "plain", "utf-8"))
    m.attach(MIMEText(f"<html><body><p>ご確認ください。</p>{html}</body></html>", "html", "utf-8"))
    return m.as_bytes()


def test_srcset_data_images_are_each_read() -> None:
    import base64

    one, two = (base64.b64encode(png(800, 500 + i)).decode() for i in range(2))
    wrapped = "\n".join(two[i : i + 76] for i in range(0, len(two), 76))  # base64 over lines
    html = f'<img srcset="data:image/png;base64,{one} 1x, data:image/png;base64,{wrapped} 2x" alt="">'
    x = extract_message(_html_mail(html), ExtractLimits(ocr=OcrSettings(enabled=False)))
    assert sorted((f.reason, f.attachment) for f in x.unscannable) == [
        ("ocr-unavailable", "inline image 1"),
        ("ocr-unavailable", "inline image 2"),
    ]


def test_svg_data_image_percent_encoded_in_html(scanner: Scanner) -> None:
    from urllib.parse import quote

    drawing = pf.svg(PHONE).decode().split("?>", 1)[1]
    html = f'<picture><source srcset="data:image/svg+xml;charset=utf-8,{quote(drawing)} 1x"><img src="x.png"></picture>'
    x, result = inspect(scanner, _html_mail(html))
    assert not x.unscannable
    assert phones(result) == ["attachment inline image 1 › part 2"]


@pytest.mark.parametrize("kind", ["emf", "wmf"])
def test_broken_metafiles_are_read_or_unscannable_never_a_crash(kind: str) -> None:
    import random

    rng = random.Random(14)
    shot = Image.open(io.BytesIO(png(300, 200)))
    whole = (
        pf.emf(pf.exttextoutw(f"携帯 {PHONE}"), pf.stretchdibits(shot), pf.emf_plus_drawstring("x"))
        if kind == "emf"
        else pf.wmf_text(f"携帯 {PHONE}")
    )
    for _ in range(150):
        data = bytearray(whole[: rng.randrange(8, len(whole) + 1)])
        for _ in range(rng.randrange(0, 4)):  # and a few bytes changed
            data[rng.randrange(len(data))] = rng.randrange(256)
        x = extract_message(with_attachment(bytes(data), f"a.{kind}", f"image/x-{kind}"))
        assert all(f.reason != "internal-error" for f in x.findings)
        assert x.attachments and x.attachments[0].name == f"a.{kind}"


def test_svg_in_shift_jis(scanner: Scanner) -> None:
    drawing = pf.svg(PHONE).decode().replace('encoding="UTF-8"', 'encoding="Shift_JIS"').encode("cp932")
    x, result = inspect(scanner, with_attachment(drawing, "map.svg", "image/svg+xml"))
    assert not x.unscannable
    assert phones(result) == ["attachment map.svg › part 2"]
    assert any("連絡先" in s.text for s in x.segments)
