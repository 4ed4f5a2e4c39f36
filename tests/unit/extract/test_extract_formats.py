"""Attachment formats: every one read to text with provenance, detected by content."""

from __future__ import annotations

import io
import zipfile

import pytest
from extract_fixtures import HEADER, PEOPLE, docx, msg, ods, pdf, pptx, rtf, with_attachment, xls, xlsx, zip_of

from gateway.content import Segment
from gateway.extract import Extraction, ExtractLimits, extract_message
from gateway.extract.detect import classify_zip, sniff

L = ExtractLimits()


def run(data: bytes, name: str, ctype: str = "application/octet-stream") -> Extraction:
    return extract_message(with_attachment(data, name, ctype), L)


def files(x: Extraction) -> list[Segment]:
    return [s for s in x.segments if s.attachment and s.kind != "filename"]


def test_xlsx_every_sheet_rows_with_header() -> None:
    x = run(xlsx(5572, hidden_sheet=True), "申込者一覧.xlsx")
    assert not x.findings
    main, hidden = [s for s in files(x) if s.kind == "table"]
    assert main.where == "attachment 申込者一覧.xlsx › sheet 明細 › rows 2-5573 › part 2"
    assert main.header == tuple(HEADER)
    assert main.rows == 5572
    lines = main.text.split("\n")
    assert lines[0] == "\t".join(HEADER)
    assert lines[1] == "山田 太郎0\t東京都千代田区丸の内1-1-1\t090-1234-5678\ttaro.yamada0@example.jp\t1980-04-01"
    assert main.row_at(main.text.index("鈴木 花子5569\t")) == 5571
    assert hidden.sheet == "退会者 (hidden)" and "佐藤 次郎\t03-9876-5432" in hidden.text
    (info,) = x.attachments
    assert (info.name, info.detected_type, info.text_extracted) == ("申込者一覧.xlsx", "xlsx", True)


def test_xlsx_detected_by_content_despite_name_and_type() -> None:
    x = run(xlsx(2), "notes.txt", "text/plain")
    assert [a.detected_type for a in x.attachments] == ["xlsx"]
    assert files(x)[0].rows == 2


def test_xlsm_and_ooxml_kinds_by_members() -> None:
    assert classify_zip(["[Content_Types].xml", "xl/workbook.xml", "xl/vbaProject.bin"]) == "xlsm"
    assert classify_zip(["[Content_Types].xml", "word/document.xml"]) == "docx"
    assert classify_zip(["mimetype", "content.xml"]) == "odf"
    assert classify_zip(["a.txt"]) == "zip"


def test_xlsm_read_as_a_workbook() -> None:
    src = zipfile.ZipFile(io.BytesIO(xlsx(3)))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            z.writestr(info.filename, src.read(info))
        z.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0 macro")
    x = run(buf.getvalue(), "集計.xlsm")
    assert [a.detected_type for a in x.attachments] == ["xlsm"]
    assert files(x)[0].rows == 3


def test_xls_legacy_workbook() -> None:
    x = run(
        xls("名簿", [["氏名", "電話番号"], ["山田 太郎", "090-1234-5678"], ["鈴木 花子", "080-2345-6789"]]), "old.xls"
    )
    (seg,) = files(x)
    assert seg.where == "attachment old.xls › sheet 名簿 › rows 2-3 › part 2"
    assert seg.header == ("氏名", "電話番号") and seg.rows == 2
    assert x.attachments[0].detected_type == "xls" and not x.findings


def test_ods() -> None:
    x = run(ods(), "名簿.ods")
    (seg,) = files(x)
    assert seg.header == tuple(HEADER[:3]) and seg.rows == 3 and seg.sheet == "名簿"
    assert x.attachments[0].detected_type == "ods"


def test_docx_paragraphs_and_tables() -> None:
    x = run(docx(), "名簿.docx")
    text, table = files(x)[:2]
    assert text.text == "会員名簿を送付します。担当: 山田 太郎"
    assert table.header == ("氏名", "電話番号", "メールアドレス")
    assert table.text.split("\n")[3] == "\t".join((PEOPLE[2][0], PEOPLE[2][2], PEOPLE[2][3]))
    assert table.where == "attachment 名簿.docx › sheet table 1 › rows 2-4 › part 2"


def test_pptx_slides_tables_and_notes() -> None:
    x = run(pptx(), "顧客.pptx")
    wheres = {s.where: s.text for s in files(x)}
    assert wheres["attachment 顧客.pptx › sheet slide 1 › part 2"] == "顧客一覧"
    assert "山田 太郎\t090-1234-5678" in wheres["attachment 顧客.pptx › sheet slide 1 table 1 › rows 2-3 › part 2"]
    assert wheres["attachment 顧客.pptx › sheet notes 1 › part 2"] == "メモ: 鈴木様 080-2345-6789"


@pytest.mark.parametrize("font", ["identity", "japan1", "type3"])
def test_pdf_text_layer_per_page(font: str) -> None:
    x = run(pdf(["氏名 山田 太郎\n電話 ０９０−１２３４−５６７８", "髙橋 ①"], font=font), "申込書.pdf")
    p1, p2 = files(x)
    assert p1.sheet == "page 1" and p1.text.split() == ["氏名", "山田", "太郎", "電話", "090-1234-5678"]
    assert p2.text.strip() == "髙橋 1"
    assert x.attachments[0].detected_type == "pdf"


def test_rtf_with_cp932_and_unicode_escapes() -> None:
    x = run(rtf(), "メモ.rtf")
    (seg,) = files(x)
    assert seg.text.split("\n")[0] == "山田 太郎 090-1234-5678"
    assert seg.text.split("\n")[1] == "\u96a0"  # \u38560 with its ? fallback skipped


def test_nested_zip_with_cp932_names_keeps_paths() -> None:
    csv = "氏名,電話番号\r\n山田 太郎,090-1234-5678\r\n鈴木 花子,080-2345-6789\r\n".encode("cp932")
    inner = zip_of({"会員一覧.csv": csv, "docs/名簿.docx": docx()}, cp932_names=True)
    outer = zip_of({"inner.zip": inner, "説明.txt": "資料です".encode("cp932")}, cp932_names=True)
    x = run(outer, "shiryo.zip")
    wheres = [s.where for s in files(x)]
    assert "attachment shiryo.zip › inner.zip › 会員一覧.csv › rows 2-3 › part 2" in wheres
    assert "attachment shiryo.zip › inner.zip › docs/名簿.docx › sheet table 1 › rows 2-4 › part 2" in wheres
    assert "attachment shiryo.zip › 説明.txt › part 2" in wheres
    assert not x.findings
    types = {(a.path, a.detected_type) for a in x.attachments}
    assert (("inner.zip", "会員一覧.csv"), "csv") in types


def test_msg_with_attachments_and_an_embedded_message() -> None:
    data = msg(
        "名簿の件",
        "本文 山田 090-1234-5678",
        {"名簿.csv": "氏名,電話\r\n山田,090-1111-2222\r\n".encode("cp932")},
        {
            "転送.msg": {
                "subject": "内側の件名",
                "body": "内側 鈴木",
                "attachments": {"x.txt": "内側添付 髙橋".encode()},
            }
        },
    )
    x = run(data, "mail.msg")
    assert not x.findings
    got = {(s.kind, s.path, s.text.strip()) for s in files(x) if s.kind != "table"}
    assert ("subject", (), "名簿の件") in got
    assert ("body", (), "本文 山田 090-1234-5678") in got
    assert ("display-name", (), "山田 太郎\n鈴木 花子 hanako@example.com") in got
    assert ("subject", ("転送.msg",), "内側の件名") in got
    assert ("attachment", ("転送.msg", "x.txt"), "内側添付 髙橋") in got
    (table,) = [s for s in files(x) if s.kind == "table"]
    assert table.path == ("名簿.csv",) and table.rows == 1
    assert x.attachments[-1].detected_type == "msg"


@pytest.mark.parametrize(
    ("data", "name", "declared", "kind"),
    [
        (b"a\tb\tc\n1\t2\t3\n4\t5\t6\n", "x.dat", "", "tsv"),
        (b"<!DOCTYPE html><html><body><p>x</p></body></html>", "a", "", "html"),
        (b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "invite", "", "calendar"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 32, "logo.png", "image/png", "image/png"),
        (b"%PDF-1.4\n", "a.bin", "", "pdf"),
        (b"Rar!\x1a\x07\x00", "a.rar", "", "rar"),
        (b"\x00\x01\x02\x03" * 64, "a.bin", "", "unknown"),
        ("氏名\n山田".encode("utf-16-le"), "a.txt", "", "text"),
    ],
)
def test_sniff(data: bytes, name: str, declared: str, kind: str) -> None:
    assert sniff(data, name, declared) == kind


def logo_png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (180, 60), "navy").save(out, "PNG")
    return out.getvalue()


def test_html_attachment_and_image_and_utf16_without_bom() -> None:
    x = run(b"<html><body><table><tr><td>\xe5\xb1\xb1\xe7\x94\xb0</td></tr></table></body></html>", "a.html")
    assert files(x)[0].kind == "table" and files(x)[0].text == "山田"
    png = run(logo_png(), "logo.png", "image/png")  # a signature logo: too small to read, no finding
    assert not png.findings and png.attachments[0].detected_type == "image/png"
    assert not png.attachments[0].text_extracted and png.stats["ocr_skipped"] == 1
    broken = run(b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "logo.png", "image/png")  # cannot be decoded
    assert [f.reason for f in broken.findings] == ["image-undecodable"]
    u16 = run("氏名 山田 太郎\n".encode("utf-16-le"), "a.txt")
    assert files(u16)[0].text.strip() == "氏名 山田 太郎"
