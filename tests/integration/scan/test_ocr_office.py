"""Screenshots pasted into Office files: the picture parts of docx, xlsx, pptx and ODF, and a bitmap
inside an EMF drawing, read by Tesseract through the real extraction and scanner, with the
picture's provenance in `where`. Images rendered with Pillow and Noto CJK (tests/support/images.py).

Skipped only when Tesseract (tesserocr with jpn+eng data) or the Noto CJK font is missing; .ci/run
installs both, so CI runs these."""

from __future__ import annotations

import io

import pytest

from gateway.config.ocr import OcrSettings
from gateway.extract import Extraction, extract_message
from gateway.extract.ocr import available
from gateway.scan import ScanConfig, ScanContext
from gateway.scan.engine import Scanner
from gateway.scan.model import ScanResult
from tests.support import images
from tests.unit.extract import coverage_fixtures as cf
from tests.unit.extract import picture_fixtures as pf
from tests.unit.extract.extract_fixtures import ods, with_attachment

_MISSING = available(OcrSettings())
pytestmark = [
    pytest.mark.skipif(bool(_MISSING), reason=f"Tesseract with jpn+eng is not installed here: {_MISSING}"),
    pytest.mark.skipif(not images.FONT.exists(), reason=f"the Noto CJK font ({images.FONT}) is not installed"),
]

PEOPLE = images.people(8, seed=5)


@pytest.fixture(scope="module")
def scanner() -> Scanner:
    return Scanner(ScanConfig(ner_window_chars=0))


@pytest.fixture(scope="module")
def shot() -> bytes:
    return images.encode(images.table_image(PEOPLE))


def scan(scanner: Scanner, data: bytes, name: str) -> tuple[Extraction, ScanResult]:
    x = extract_message(with_attachment(data, name))
    return x, scanner.scan(x.segments, ScanContext(sender="taro@example.co.jp"))


def found(result: ScanResult, prefix: str) -> int:
    """Phone numbers found under `prefix`."""
    return sum(f.count for f in result.personal if f.entity == "JP_PHONE_NUMBER" and f.where.startswith(prefix))


def test_screenshot_pasted_into_a_docx(scanner: Scanner, shot: bytes) -> None:
    import docx

    d = docx.Document()
    d.add_paragraph("先日の一覧を貼り付けます。")
    d.add_picture(io.BytesIO(shot))
    out = io.BytesIO()
    d.save(out)
    x, result = scan(scanner, out.getvalue(), "報告.docx")
    assert not x.unscannable and x.stats["ocr_images"] == 1  # the thumbnail (395x512) is not read
    (media,) = [s.path[0] for s in x.segments if "OCR" in s.path]
    assert media.startswith("word/media/image1.")
    assert found(result, f"attachment 報告.docx › {media} › OCR") >= 6
    assert not [f for f in result.personal if "OCR" not in f.where]


def test_screenshot_in_an_xlsx_and_a_pptx(scanner: Scanner, shot: bytes) -> None:
    import pptx
    import xlsxwriter
    from pptx.util import Inches

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet("売上")
    sheet.write_row(0, 0, ["商品コード", "数量"])
    sheet.insert_image("D2", "shot.png", {"image_data": io.BytesIO(shot)})
    book.close()
    x, result = scan(scanner, out.getvalue(), "売上.xlsx")
    assert not x.unscannable
    assert found(result, "attachment 売上.xlsx › xl/media/image1.png › OCR") >= 6

    deck = pptx.Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[6])
    slide.shapes.add_picture(io.BytesIO(shot), Inches(0.5), Inches(0.5), width=Inches(9))
    out = io.BytesIO()
    deck.save(out)
    x, result = scan(scanner, out.getvalue(), "説明.pptx")
    assert not x.unscannable and x.stats["ocr_images"] == 1  # the 256x192 thumbnail is not read
    assert found(result, "attachment 説明.pptx › ppt/media/image1.png › OCR") >= 6


def test_screenshot_in_an_opendocument_file(scanner: Scanner, shot: bytes) -> None:
    members = cf.zip_members(ods())
    members["Pictures/10000001000003E8.png"] = shot
    x, result = scan(scanner, cf.rezip(members), "名簿.ods")  # its sheet has 3 phone numbers of its own
    assert not x.unscannable
    assert found(result, "attachment 名簿.ods › Pictures/10000001000003E8.png › OCR") >= 6


def test_screenshot_inside_an_emf_drawing(scanner: Scanner) -> None:
    drawing = pf.emf(pf.stretchdibits(images.table_image(PEOPLE)), pf.exttextoutw("顧客一覧"))
    x, result = scan(scanner, pf.docx_with_picture(drawing, "image1.emf", "image/x-emf"), "報告.docx")
    assert not x.unscannable
    assert found(result, "attachment 報告.docx › word/media/image1.emf › bitmap 1 › OCR") >= 6
    assert any(s.text == "顧客一覧" for s in x.segments)
