"""Every place a message carries text is read (issue 14): hidden HTML, characters that hide digits,
header fields, file names, MIME preamble and epilogue, uuencoded blocks, message/partial, TNEF.

Each test puts personal data only in that one place, runs the real extraction and the real scanner,
and checks that it is found there (`where` names the place) or that the message is UNSCANNABLE.
"""

from __future__ import annotations

import base64
import io
from email import encoders
from email.header import Header
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import pytest

from gateway.content import Extraction
from gateway.extract import extract_message
from gateway.scan import ScanConfig, ScanContext
from gateway.scan.engine import Scanner
from gateway.scan.model import ScanResult
from tests.unit.extract.coverage_fixtures import tnef, uuencode

PHONE = "090-1234-5678"
MY_NUMBER = "123456789018"  # a valid check digit
CONTEXT = ScanContext(sender="taro@example.co.jp", recipients=("hanako@partner.example",))


@pytest.fixture(scope="module")
def scanner() -> Scanner:
    return Scanner(ScanConfig(ner_window_chars=0))


def inspect(scanner: Scanner, raw: bytes) -> tuple[Extraction, ScanResult]:
    x = extract_message(raw)
    return x, scanner.scan(x.segments, CONTEXT)


def places(result: ScanResult, entity: str) -> list[str]:
    return [f.where for f in result.personal if f.entity == entity]


def base(body: str = "お世話になっております。資料をお送りします。") -> MIMEMultipart:
    m = MIMEMultipart()
    m["From"] = "taro@example.co.jp"
    m["To"] = "hanako@partner.example"
    m["Subject"] = "資料"
    m.attach(MIMEText(body, "plain", "utf-8"))
    return m


# -- HTML that is not shown but travels -------------------------------------------------------------

HIDDEN_HTML = {
    "HTML comment": f"<p>ご確認ください。</p><!-- 携帯 {PHONE} -->",
    "HTML script": f"<p>ご確認ください。</p><script>var tel = '{PHONE}';</script>",
    "HTML style": f"<style>/* 携帯 {PHONE} */ p {{margin: 0}}</style><p>ご確認ください。</p>",
    "HTML template": f"<template><p>携帯 {PHONE}</p></template><p>ご確認ください。</p>",
    "HTML noscript": f"<noscript>携帯 {PHONE}</noscript><p>ご確認ください。</p>",
    "attribute alt": f'<p>ご確認ください。<img src="cid:x" alt="携帯 {PHONE}"></p>',
    "attribute title": f'<p title="携帯 {PHONE}">ご確認ください。</p>',
    "attribute value": f'<form><input type="hidden" value="{PHONE}"></form><p>ご確認ください。</p>',
    "attribute data-tel": f'<p data-tel="{PHONE}">ご確認ください。</p>',
    "attribute href": f'<p><a href="mailto:taro@example.co.jp?subject=tel%20{PHONE}&body={PHONE}">連絡先</a></p>',
    "attribute content": f'<html><head><meta name="description" content="携帯 {PHONE}"></head><p>ご確認ください。</p>',
}


@pytest.mark.parametrize("place", sorted(HIDDEN_HTML))
def test_hidden_html_is_its_own_segment(scanner: Scanner, place: str) -> None:
    m = MIMEMultipart("alternative")
    m["From"], m["To"], m["Subject"] = "taro@example.co.jp", "hanako@partner.example", "資料"
    m.attach(MIMEText("ご確認ください。", "plain", "utf-8"))
    m.attach(MIMEText(f"<html><body>{HIDDEN_HTML[place]}</body></html>", "html", "utf-8"))
    x, result = inspect(scanner, m.as_bytes())
    assert all(PHONE not in s.text for s in x.segments if s.kind == "body")  # not shown: not in the body
    found = places(result, "JP_PHONE_NUMBER")
    assert found == [f"{place} text/html › part 2"], found
    (segment,) = [s for s in x.segments if s.kind == "hidden" and s.field == place]
    assert PHONE in segment.text


def test_hidden_html_in_an_html_attachment(scanner: Scanner) -> None:
    m = base()
    page = f"<html><body><p>案内</p><!-- 顧客 {PHONE} --></body></html>".encode()
    part = MIMEBase("text", "html")
    part.set_payload(page)
    encoders.encode_base64(part)
    part.add_header("Content-Disposition", "attachment", filename="page.html")
    m.attach(part)
    _, result = inspect(scanner, m.as_bytes())
    assert places(result, "JP_PHONE_NUMBER") == ["attachment page.html › HTML comment › part 2"]


# -- characters that hide digits ------------------------------------------------------------------

HIDERS = {
    "zero-width space": "\u200b",
    "zero-width non-joiner": "\u200c",
    "zero-width joiner": "\u200d",
    "word joiner": "\u2060",
    "BOM": "\ufeff",
    "soft hyphen": "\u00ad",
    "left-to-right mark": "\u200e",
    "combining acute": "\u0301",
    "combining enclosing keycap": "\u20e3",
    "variation selector": "\ufe0f",
    "tag character": "\U000e0031",
}


def _hide(value: str, hider: str) -> str:
    return hider.join(value)


@pytest.mark.parametrize("name", sorted(HIDERS))
def test_characters_between_digits_do_not_hide_a_phone_number(scanner: Scanner, name: str) -> None:
    hidden = _hide(PHONE, HIDERS[name])
    _, result = inspect(scanner, base(f"お世話になっております。\n携帯: {hidden}\n").as_bytes())
    (phone,) = [f for f in result.personal if f.entity == "JP_PHONE_NUMBER"]
    assert phone.samples == ("090-****-5678",)  # masked from what a client shows, not the raw bytes
    assert phone.where == "body text/plain › part 1"


@pytest.mark.parametrize("name", ["zero-width space", "soft hyphen", "combining acute", "word joiner"])
def test_characters_between_digits_do_not_hide_a_my_number(scanner: Scanner, name: str) -> None:
    hidden = _hide(MY_NUMBER, HIDERS[name])
    _, result = inspect(scanner, base(f"マイナンバー: {hidden}\n").as_bytes())
    assert "JP_MY_NUMBER" in result.entities()


def test_full_width_digits_with_hidden_characters_still_read(scanner: Scanner) -> None:
    hidden = _hide("０９０－１２３４－５６７８", "\u200b")
    x, result = inspect(scanner, base(f"携帯：{hidden}\n").as_bytes())
    assert "JP_PHONE_NUMBER" in result.entities()
    body = next(s for s in x.segments if s.kind == "body")
    start = body.text.index("090")
    assert body.source[body.source_offset(start)] == "０"  # offsets map back to the decoded text
    assert body.source[body.source_offset(start + len(PHONE) - 1)] == "８"


def test_hidden_characters_in_a_table_cell(scanner: Scanner) -> None:
    m = base()
    csv = "氏名,電話番号\n山田 太郎," + _hide("090-1234-5678", "\u200b") + "\n"
    part = MIMEText(csv, "csv", "utf-8")
    part.add_header("Content-Disposition", "attachment", filename="list.csv")
    m.attach(part)
    _, result = inspect(scanner, m.as_bytes())
    assert any("list.csv" in w for w in places(result, "JP_PHONE_NUMBER"))


# -- places outside the body ------------------------------------------------------------------------


def _with_file(name: object, data: bytes = b"%PDF-1.4 not really\n", ctype: str = "application/octet-stream") -> bytes:
    m = base()
    main, sub = ctype.split("/")
    part = MIMEBase(main, sub)
    part.set_payload(data)
    encoders.encode_base64(part)
    part.add_header("Content-Disposition", "attachment", filename=name)  # type: ignore[arg-type]
    m.attach(part)
    return m.as_bytes()


def test_file_name_rfc2231(scanner: Scanner) -> None:
    raw = _with_file(("utf-8", "ja", f"マイナンバー_{MY_NUMBER}.txt"), b"see name")
    assert b"filename*=" in raw
    _, result = inspect(scanner, raw)
    assert places(result, "JP_MY_NUMBER") == [f"attachment マイナンバー_{MY_NUMBER}.txt › file name › part 2"]


def test_file_name_rfc2231_continuations(scanner: Scanner) -> None:
    m = base()
    part = MIMEBase("application", "octet-stream")
    part.set_payload(base64.b64encode(b"x").decode())
    part["Content-Transfer-Encoding"] = "base64"
    quoted = "".join(f"%{b:02X}" for b in f"名簿_携帯{PHONE}.txt".encode())
    half = len(quoted) // 2
    part["Content-Disposition"] = f"attachment; filename*0*=utf-8''{quoted[:half]}; filename*1*={quoted[half:]}"
    m.attach(part)
    _, result = inspect(scanner, m.as_bytes())
    assert places(result, "JP_PHONE_NUMBER") == [f"attachment 名簿_携帯{PHONE}.txt › file name › part 2"]


def test_file_name_encoded_word_and_a_different_content_type_name(scanner: Scanner) -> None:
    m = base()
    part = MIMEBase("application", "octet-stream", name=Header(f"携帯{PHONE}.txt", "utf-8").encode())
    part.set_payload(base64.b64encode(b"x").decode())
    part["Content-Transfer-Encoding"] = "base64"
    part["Content-Disposition"] = 'attachment; filename="harmless.txt"'
    m.attach(part)
    x, result = inspect(scanner, m.as_bytes())
    assert [a.name for a in x.attachments] == ["harmless.txt"]
    assert places(result, "JP_PHONE_NUMBER") == ["attachment harmless.txt › file name › part 2"]


@pytest.mark.parametrize("field", ["Subject", "Comments", "Keywords", "X-Customer", "Organization"])
def test_header_fields(scanner: Scanner, field: str) -> None:
    m = base()
    if field == "Subject":
        m.replace_header("Subject", Header(f"携帯 {PHONE}", "iso-2022-jp").encode())
    else:
        m[field] = Header(f"携帯 {PHONE}", "utf-8").encode()
    _, result = inspect(scanner, m.as_bytes())
    assert places(result, "JP_PHONE_NUMBER") == [f"header {field}"]


def test_display_name_carries_a_number_but_names_are_correspondents(scanner: Scanner) -> None:
    m = base()
    m.replace_header(
        "To", f'"鈴木 花子 個人番号 {MY_NUMBER}" <hanako@partner.example>, "田中 一郎" <ichiro@partner.example>'
    )
    _, result = inspect(scanner, m.as_bytes())
    assert places(result, "JP_MY_NUMBER") == ["header To"]
    assert "PERSON" not in result.entities() and "EMAIL_ADDRESS" not in result.entities()


def test_mime_preamble_and_epilogue(scanner: Scanner) -> None:
    raw = (
        "From: taro@example.co.jp\r\nTo: hanako@partner.example\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        f"This is a multi-part message in MIME format.\r\n携帯 {PHONE}\r\n"
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nお世話になっております。\r\n--b--\r\n"
        f"マイナンバー {MY_NUMBER}\r\n"
    ).encode()
    _, result = inspect(scanner, raw)
    assert places(result, "JP_PHONE_NUMBER") == ["MIME preamble › part 1"]
    assert places(result, "JP_MY_NUMBER") == ["MIME epilogue › part 1"]


def test_uuencoded_block_in_a_text_body_is_read_as_an_attachment(scanner: Scanner) -> None:
    csv = f"氏名,電話番号\n山田 太郎,{PHONE}\n鈴木 花子,080-2345-6789\n".encode()
    raw = base("添付します。\n\n" + uuencode(csv, "meibo.csv") + "\nよろしくお願いします。\n").as_bytes()
    x, result = inspect(scanner, raw)
    assert [a.name for a in x.attachments] == ["meibo.csv"]
    assert any(w.startswith("attachment meibo.csv") for w in places(result, "JP_PHONE_NUMBER"))
    body = next(s for s in x.segments if s.kind == "body")
    assert "begin 644" not in body.text and "よろしく" in body.text


def test_broken_uuencoded_block_is_unscannable(scanner: Scanner) -> None:
    raw = base("添付します。\nbegin 644 meibo.csv\nM\u00e9\u00e9\u00e9 not uu\n").as_bytes()
    x, _ = inspect(scanner, raw)
    assert [(f.reason, f.attachment) for f in x.unscannable] == [("parse-error", "meibo.csv")]


def test_message_partial_is_unscannable() -> None:
    inner = f"Subject: part 1\r\n\r\n携帯 {PHONE}\r\n"
    raw = (
        "From: taro@example.co.jp\r\nTo: hanako@partner.example\r\nSubject: 分割\r\nMIME-Version: 1.0\r\n"
        'Content-Type: message/partial; id="abc@example.co.jp"; number=1; total=2\r\n\r\n' + inner
    ).encode()
    x = extract_message(raw)
    assert [f.reason for f in x.unscannable] == ["partial-message"]
    assert "1 of 2" in x.unscannable[0].detail
    assert any(PHONE in s.text for s in x.segments)  # what is here is still read


def test_tnef_winmail_dat(scanner: Scanner) -> None:
    data = tnef(
        "顧客一覧",
        f"本文: 携帯 {PHONE}",
        {"顧客.csv": f"氏名,マイナンバー\n山田 太郎,{MY_NUMBER}\n".encode()},
    )
    m = base()
    part = MIMEBase("application", "ms-tnef")
    part.set_payload(data)
    encoders.encode_base64(part)
    part.add_header("Content-Disposition", "attachment", filename="winmail.dat")
    m.attach(part)
    x, result = inspect(scanner, m.as_bytes())
    assert not x.unscannable
    assert places(result, "JP_PHONE_NUMBER") == ["attachment winmail.dat › body › part 2"]
    assert any(w.startswith("attachment winmail.dat › 顧客.csv") for w in places(result, "JP_MY_NUMBER"))
    assert {a.name: a.detected_type for a in x.attachments} == {"winmail.dat": "tnef", "顧客.csv": "csv"}


@pytest.mark.parametrize("cut", [7, 20, 60])
def test_truncated_tnef_is_unscannable_or_read_never_a_crash(cut: int) -> None:
    data = tnef("件名", f"携帯 {PHONE}", {"a.csv": b"a,b\n1,2\n"})[:cut]
    x = extract_message(_with_file("winmail.dat", data, "application/ms-tnef"))
    assert all(f.reason != "internal-error" for f in x.findings)
    assert x.unscannable or any(s.attachment == "winmail.dat" and s.kind != "filename" for s in x.segments)


# -- Office packages found by their structure, and their side parts -----------------------------------

from tests.unit.extract import coverage_fixtures as cf  # noqa: E402
from tests.unit.extract.extract_fixtures import cfb, docx, pptx, with_attachment, xlsx  # noqa: E402


def office_places(scanner: Scanner, data: bytes, name: str, entity: str = "JP_PHONE_NUMBER") -> list[str]:
    x, result = inspect(scanner, with_attachment(data, name))
    assert not x.unscannable, x.unscannable
    return places(result, entity)


@pytest.mark.parametrize("main", ["word/main.dat", "word/document.XML", "word/x/document.xml", "WORD/X/MAIN.DAT"])
def test_docx_main_part_found_by_its_relationship(scanner: Scanner, main: str) -> None:
    found = office_places(scanner, cf.move_main_part(docx(), main), "名簿.docx")
    assert "attachment 名簿.docx › sheet table 1 › rows 2-4 › part 2" in found


@pytest.mark.parametrize(("data", "main"), [(xlsx(3), "xl/main.dat"), (xlsx(3), "XL/x/Workbook.XML")])
def test_xlsx_workbook_found_by_its_relationship(scanner: Scanner, data: bytes, main: str) -> None:
    found = office_places(scanner, cf.move_main_part(data, main), "名簿.xlsx")
    assert found == ["attachment 名簿.xlsx › sheet 明細 › rows 2-4 › part 2"]


def test_pptx_presentation_found_by_its_relationship(scanner: Scanner) -> None:
    found = office_places(scanner, cf.move_main_part(pptx(), "ppt/x/pres.dat"), "顧客.pptx")
    assert "attachment 顧客.pptx › sheet slide 1 table 1 › rows 2-3 › part 2" in found


DOCX_PLACES = {
    "header": (dict(header=f"携帯 {PHONE}"), "sheet header1"),
    "footer": (dict(footer=f"携帯 {PHONE}"), "sheet footer1"),
    "comment": (dict(comment=f"携帯 {PHONE}"), "sheet comments"),
    "text box": (dict(body_extra=cf.textbox(f"携帯 {PHONE}")), "part 2"),
    "text box fallback only": (dict(body_extra=cf.textbox("ボックス", f"携帯 {PHONE}")), "part 2"),
    "tracked deletion": (
        dict(
            body_extra=f'<w:p><w:del w:id="1" w:author="x"><w:r><w:delText>携帯 {PHONE}</w:delText></w:r></w:del></w:p>'
        ),
        "part 2",
    ),
}


@pytest.mark.parametrize("place", sorted(DOCX_PLACES))
def test_docx_side_parts(scanner: Scanner, place: str) -> None:
    kwargs, where = DOCX_PLACES[place]
    found = office_places(scanner, cf.docx_with(**kwargs), "報告.docx")  # type: ignore[arg-type]
    expected = "attachment 報告.docx › part 2" if where == "part 2" else f"attachment 報告.docx › {where} › part 2"
    assert found == [expected], found


def test_docx_footnotes_and_endnotes(scanner: Scanner) -> None:
    members = cf.zip_members(cf.docx_with())
    note = cf.word_part("footnotes", f'<w:footnote w:id="1">{cf.w_p(f"携帯 {PHONE}")}</w:footnote>')
    end = cf.word_part("endnotes", f'<w:endnote w:id="1">{cf.w_p("マイナンバー " + MY_NUMBER)}</w:endnote>')
    wml = "application/vnd.openxmlformats-officedocument.wordprocessingml"
    cf.add_part(members, "word/footnotes.xml", note, f"{wml}.footnotes+xml", "word/document.xml", "footnotes", "rIdF")
    cf.add_part(members, "word/endnotes.xml", end, f"{wml}.endnotes+xml", "word/document.xml", "endnotes", "rIdE")
    data = cf.rezip(members)
    assert office_places(scanner, data, "a.docx") == ["attachment a.docx › sheet footnotes › part 2"]
    assert office_places(scanner, data, "a.docx", "JP_MY_NUMBER") == ["attachment a.docx › sheet endnotes › part 2"]


@pytest.mark.parametrize(
    ("content", "ctype", "ext"),
    [
        (f"<html><body><p>携帯 {PHONE}</p></body></html>".encode(), "text/html", "htm"),
        (
            b'<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "x">'
            + f"<html><body><p>携帯 {PHONE}</p></body></html>".encode(),
            "application/xhtml+xml",
            "xhtml",
        ),
        ("{\\rtf1\\ansi 携帯 090-1234-5678\\par}".encode("cp932"), "application/rtf", "rtf"),
        (f"携帯 {PHONE}".encode(), "text/plain", "txt"),
        (
            f"MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>携帯 {PHONE}</p>".encode(),
            "message/rfc822",
            "mht",
        ),
    ],
)
def test_docx_alt_chunk_is_read_as_a_nested_file(scanner: Scanner, content: bytes, ctype: str, ext: str) -> None:
    data = cf.with_alt_chunk(cf.docx_with(), content, ctype, ext)
    found = office_places(scanner, data, "a.docx")
    assert len(found) == 1 and found[0].startswith(f"attachment a.docx › word/afchunk1.{ext}"), found


def test_docx_embedded_workbook_is_a_nested_attachment(scanner: Scanner) -> None:
    sheet = xlsx(3)
    data = cf.with_embedded(
        cf.docx_with(),
        "Microsoft_Excel_Worksheet.xlsx",
        sheet,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    x, result = inspect(scanner, with_attachment(data, "a.docx"))
    assert not x.unscannable
    assert (
        "attachment a.docx › word/embeddings/Microsoft_Excel_Worksheet.xlsx › sheet 明細 › rows 2-4 › part 2"
        in places(result, "JP_PHONE_NUMBER")
    )
    assert ("Microsoft_Excel_Worksheet.xlsx", "xlsx") in [(a.name, a.detected_type) for a in x.attachments]


def test_docx_embedded_ole_package_object(scanner: Scanner) -> None:
    inner = cf.ole_native("顧客.csv", f"氏名,電話番号\n山田 太郎,{PHONE}\n".encode("cp932"))
    ole = cfb({"\x01Ole10Native": inner})
    data = cf.with_embedded(
        cf.docx_with(), "oleObject1.bin", ole, "application/vnd.openxmlformats-officedocument.oleObject", "oleObject"
    )
    found = office_places(scanner, data, "a.docx")
    assert found == ["attachment a.docx › word/embeddings/oleObject1.bin › 顧客.csv › rows 2-2 › part 2"], found


def test_docx_unreferenced_part_is_read(scanner: Scanner) -> None:
    members = cf.zip_members(cf.docx_with())
    members["word/secret.xml"] = cf.word_part("document", f"<w:body>{cf.w_p(f'携帯 {PHONE}')}</w:body>")
    members["customers.csv"] = f"氏名,電話番号\n山田 太郎,{PHONE}\n".encode()
    found = office_places(scanner, cf.rezip(members), "a.docx")
    assert sorted(found) == [
        "attachment a.docx › customers.csv › rows 2-2 › part 2",
        "attachment a.docx › sheet unreferenced part word/secret.xml › part 2",
    ]


XLSX_PLACES = {
    "legacy comment": (dict(comment=f"携帯 {PHONE}"), "sheet 明細 comment1"),
    "header": (dict(header=f"携帯 {PHONE}"), "sheet 明細 header/footer"),
    "defined name": (dict(defined=PHONE), "sheet workbook"),
    "sheet name": (dict(sheet_name=f"携帯{PHONE}"), "sheet workbook"),
    "chart title": (dict(chart_title=f"携帯 {PHONE}"), "sheet chart1"),
}


@pytest.mark.parametrize("place", sorted(XLSX_PLACES))
def test_xlsx_side_parts(scanner: Scanner, place: str) -> None:
    kwargs, where = XLSX_PLACES[place]
    found = office_places(scanner, cf.xlsx_with(**kwargs), "集計.xlsx")  # type: ignore[arg-type]
    assert f"attachment 集計.xlsx › {where} › part 2" in found, found


def test_xlsx_threaded_comment(scanner: Scanner) -> None:
    found = office_places(scanner, cf.with_threaded_comment(cf.xlsx_with(), f"携帯 {PHONE}"), "集計.xlsx")
    assert found == ["attachment 集計.xlsx › sheet 明細 threadedcomment1 › part 2"]


PPTX_PLACES = {
    "slide master": (dict(master=f"携帯 {PHONE}"), "sheet slide master 1"),
    "slide layout": (dict(layout=f"携帯 {PHONE}"), "sheet slide layout 2"),
    "notes": (dict(notes=f"携帯 {PHONE}"), "sheet notes 1"),
    "comment": (dict(comment=f"携帯 {PHONE}"), "sheet slide 1 comment1"),
}


@pytest.mark.parametrize("place", sorted(PPTX_PLACES))
def test_pptx_side_parts(scanner: Scanner, place: str) -> None:
    kwargs, where = PPTX_PLACES[place]
    found = office_places(scanner, cf.pptx_with(**kwargs), "定例.pptx")  # type: ignore[arg-type]
    assert found == [f"attachment 定例.pptx › {where} › part 2"], found


@pytest.mark.parametrize("utf16", [False, True], ids=["utf-8", "utf-16"])
@pytest.mark.parametrize(
    "part", ["_rels/.rels", "[Content_Types].xml", "word/document.xml", "word/_rels/document.xml.rels"]
)
def test_doctype_in_any_part_in_any_encoding_is_refused(part: str, utf16: bool) -> None:
    x = extract_message(with_attachment(cf.with_doctype(docx(), part, utf16), "a.docx"))
    assert [f.reason for f in x.unscannable] == ["xml-doctype"]


def test_doctype_in_a_main_part_with_another_name_is_refused() -> None:
    data = cf.with_doctype(cf.move_main_part(docx(), "word/main.dat"), "word/main.dat", utf16=True)
    x = extract_message(with_attachment(data, "a.docx"))
    assert [f.reason for f in x.unscannable] == ["xml-doctype"]


# -- PDF side channels ------------------------------------------------------------------------------

from tests.unit.extract.extract_fixtures import pdf  # noqa: E402

BLANK = pdf(["ご確認ください。"])


def test_pdf_embedded_file_is_a_nested_attachment(scanner: Scanner) -> None:
    data = cf.pdf_with(BLANK, attachment=("名簿.csv", f"氏名,電話番号\n山田 太郎,{PHONE}\n".encode()))
    x, result = inspect(scanner, with_attachment(data, "案内.pdf"))
    assert not x.unscannable
    assert places(result, "JP_PHONE_NUMBER") == ["attachment 案内.pdf › 名簿.csv › rows 2-2 › part 2"]
    assert ("名簿.csv", "csv") in [(a.name, a.detected_type) for a in x.attachments]


def test_pdf_file_attachment_annotation_is_a_nested_attachment(scanner: Scanner) -> None:
    data = cf.pdf_with(BLANK, file_annotation=("memo.txt", f"携帯 {PHONE}".encode()))
    found = office_places(scanner, data, "案内.pdf")
    assert found == ["attachment 案内.pdf › memo.txt › part 2"]


def test_pdf_form_field_value(scanner: Scanner) -> None:
    found = office_places(scanner, cf.pdf_with(BLANK, field_value=f"携帯 {PHONE}"), "申込書.pdf")
    assert found == ["attachment 申込書.pdf › sheet form fields › part 2"]


def test_pdf_annotation_contents(scanner: Scanner) -> None:
    found = office_places(scanner, cf.pdf_with(BLANK, annotation=f"携帯 {PHONE}"), "案内.pdf")
    assert found == ["attachment 案内.pdf › sheet annotations › part 2"]


def test_pdf_title(scanner: Scanner) -> None:
    found = office_places(scanner, cf.pdf_with(BLANK, title=f"携帯 {PHONE}"), "案内.pdf")
    assert found == ["attachment 案内.pdf › sheet document information › part 2"]


def test_pdf_xfa_form_is_flagged_and_its_xml_read(scanner: Scanner) -> None:
    xfa = f'<xfa:datasets xmlns:xfa="http://www.xfa.org/schema/xfa-data/1.0/"><tel>{PHONE}</tel></xfa:datasets>'
    x, result = inspect(scanner, with_attachment(cf.pdf_with(BLANK, xfa=xfa), "申込書.pdf"))
    assert [f.reason for f in x.unscannable] == ["xfa-form"]
    assert places(result, "JP_PHONE_NUMBER") == ["attachment 申込書.pdf › sheet XFA form › part 2"]


def test_pdf_embedded_in_pdf_in_pdf_stops_at_the_depth_limit() -> None:
    data = BLANK
    for i in range(8):
        data = cf.pdf_with(BLANK, attachment=(f"level{i}.pdf", data))
    x = extract_message(with_attachment(data, "nested.pdf"))
    assert [f.reason for f in x.unscannable] == ["limit-archive-depth"]


# -- bad input in the new places: limits and UNSCANNABLE, never a crash or a silent pass --------------

from tests.unit.extract.extract_fixtures import encrypted_ooxml_container  # noqa: E402


@pytest.mark.parametrize("cut", [0.3, 0.6, 0.9])
def test_truncated_docx_with_side_parts_is_unscannable(cut: float) -> None:
    data = cf.docx_with(header=f"携帯 {PHONE}", footer="x", comment="y")
    x = extract_message(with_attachment(data[: int(len(data) * cut)], "a.docx"))
    assert [f.reason for f in x.unscannable] == ["parse-error"]


def test_document_embedded_in_itself_stops_at_the_depth_limit() -> None:
    data = cf.docx_with()
    ctype = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    for i in range(8):
        data = cf.with_embedded(cf.docx_with(), f"level{i}.docx", data, ctype)
    x = extract_message(with_attachment(data, "nested.docx"))
    assert [f.reason for f in x.unscannable] == ["limit-archive-depth"]


def test_encrypted_document_embedded_in_a_document_is_unscannable() -> None:
    ctype = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    data = cf.with_embedded(cf.docx_with(), "secret.docx", encrypted_ooxml_container(), ctype)
    x = extract_message(with_attachment(data, "a.docx"))
    assert [(f.reason, f.path) for f in x.unscannable] == [("encrypted-office", ("word/embeddings/secret.docx",))]


def test_embedded_ole_object_of_an_unknown_kind_is_unscannable() -> None:
    ole = cfb({"CONTENTS": b"\x00\x01 unknown"})
    ctype = "application/vnd.openxmlformats-officedocument.oleObject"
    data = cf.with_embedded(cf.docx_with(), "oleObject1.bin", ole, ctype, "oleObject")
    x = extract_message(with_attachment(data, "a.docx"))
    assert [f.reason for f in x.unscannable] == ["unknown-format"]


def test_truncated_pdf_with_an_embedded_file_is_unscannable() -> None:
    data = cf.pdf_with(BLANK, attachment=("a.csv", f"氏名,電話番号\n山田,{PHONE}\n".encode()))
    x = extract_message(with_attachment(data[: len(data) // 2], "a.pdf"))
    assert x.unscannable


def test_two_subject_fields_are_both_read(scanner: Scanner) -> None:
    raw = base().as_bytes().replace(b"Subject:", f"Subject: 携帯 {PHONE}\nSubject:".encode(), 1)
    _, result = inspect(scanner, raw)
    assert places(result, "JP_PHONE_NUMBER") == ["header Subject"]


def test_xlsx_pivot_cache_keeps_a_copy_of_the_data(scanner: Scanner) -> None:
    members = cf.zip_members(cf.xlsx_with())
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    definition = (
        f'<?xml version="1.0"?><pivotCacheDefinition xmlns="{ns}" recordCount="1"><cacheFields count="2">'
        '<cacheField name="氏名"><sharedItems><s v="山田 太郎"/></sharedItems></cacheField>'
        f'<cacheField name="電話"><sharedItems><s v="{PHONE}"/></sharedItems></cacheField>'
        "</cacheFields></pivotCacheDefinition>"
    ).encode()
    ctype = "application/vnd.openxmlformats-officedocument.spreadsheetml.pivotCacheDefinition+xml"
    cf.add_part(
        members,
        "xl/pivotCache/pivotCacheDefinition1.xml",
        definition,
        ctype,
        "xl/workbook.xml",
        "pivotCacheDefinition",
        "rIdP",
    )
    found = office_places(scanner, cf.rezip(members), "集計.xlsx")
    assert found == ["attachment 集計.xlsx › sheet pivotcachedefinition1 › part 2"]


def test_media_and_fonts_in_a_package_are_not_unscannable() -> None:
    members = cf.zip_members(cf.pptx_with())
    cf.add_part(
        members,
        "ppt/media/media1.mp4",
        b"\x00\x00\x00\x18ftypmp42",
        "video/mp4",
        "ppt/slides/slide1.xml",
        "video",
        "rIdV",
    )
    cf.add_part(
        members,
        "ppt/fonts/font1.fntdata",
        b"\x00\x01\x02",
        "application/x-fontdata",
        "ppt/presentation.xml",
        "font",
        "rIdF",
    )
    x = extract_message(with_attachment(cf.rezip(members), "a.pptx"))
    assert not x.unscannable


def test_opendocument_side_parts(scanner: Scanner) -> None:
    from tests.unit.extract.extract_fixtures import ods

    members = cf.zip_members(ods())
    office = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
    text = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
    style = "urn:oasis:names:tc:opendocument:xmlns:style:1.0"
    dc = "http://purl.org/dc/elements/1.1/"
    members["meta.xml"] = (
        f'<?xml version="1.0"?><office:document-meta xmlns:office="{office}" xmlns:dc="{dc}"><office:meta>'
        f"<dc:title>携帯 {PHONE}</dc:title><dc:creator>山田 太郎</dc:creator></office:meta></office:document-meta>"
    ).encode()
    members["styles.xml"] = (
        f'<?xml version="1.0"?><office:document-styles xmlns:office="{office}" xmlns:style="{style}" '
        f'xmlns:text="{text}"><office:master-styles><style:master-page><style:header>'
        f"<text:p>マイナンバー {MY_NUMBER}</text:p></style:header></style:master-page></office:master-styles>"
        "</office:document-styles>"
    ).encode()
    members["Attachments/list.csv"] = "氏名,電話番号\n鈴木 花子,080-2345-6789\n".encode()
    x, result = inspect(scanner, with_attachment(cf.rezip(members), "名簿.ods"))
    assert not x.unscannable
    phones = places(result, "JP_PHONE_NUMBER")
    assert "attachment 名簿.ods › sheet meta › part 2" in phones
    assert "attachment 名簿.ods › Attachments/list.csv › rows 2-2 › part 2" in phones
    assert places(result, "JP_MY_NUMBER") == ["attachment 名簿.ods › sheet styles › part 2"]
    assert "PERSON" not in {f.entity for f in result.personal if "meta" in f.where}  # the author is not read


def test_uuencoded_block_inside_a_text_attachment(scanner: Scanner) -> None:
    csv = f"氏名,電話番号\n山田 太郎,{PHONE}\n".encode()
    raw = _with_file("notes.txt", ("メモ\n" + uuencode(csv, "inner.csv")).encode(), "text/plain")
    _, result = inspect(scanner, raw)
    assert places(result, "JP_PHONE_NUMBER") == ["attachment notes.txt › inner.csv › rows 2-2 › part 2"]


def test_docx_document_variables_in_settings(scanner: Scanner) -> None:
    members = cf.zip_members(cf.docx_with())
    settings = members["word/settings.xml"].decode()
    var = f'<w:docVars><w:docVar w:name="contact" w:val="携帯 {PHONE}"/></w:docVars>'
    members["word/settings.xml"] = settings.replace("</w:settings>", var + "</w:settings>").encode()
    found = office_places(scanner, cf.rezip(members), "a.docx")
    assert found == ["attachment a.docx › sheet settings › part 2"]


def _xlsx_members(formula: str = "", extra_string: str = "") -> bytes:
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet("集計")
    sheet.write_row(0, 0, ["商品", "数量"])
    sheet.write_row(1, 0, ["りんご", 3])
    if formula:
        sheet.write_formula("C2", formula)  # cached value 0: only the formula keeps the text
    book.close()
    members = cf.zip_members(out.getvalue())
    if extra_string:
        strings = members["xl/sharedStrings.xml"].decode()
        members["xl/sharedStrings.xml"] = strings.replace("</sst>", f"<si><t>{extra_string}</t></si></sst>").encode()
    return cf.rezip(members)


def test_xlsx_text_literal_in_a_formula(scanner: Scanner) -> None:
    found = office_places(scanner, _xlsx_members(formula=f'="携帯 {PHONE}"&B2'), "集計.xlsx")
    assert found == ["attachment 集計.xlsx › sheet 集計 formulas › part 2"]


def test_xlsx_shared_string_no_cell_uses(scanner: Scanner) -> None:
    found = office_places(scanner, _xlsx_members(extra_string=f"山田 太郎 {PHONE}"), "集計.xlsx")
    assert found == ["attachment 集計.xlsx › sheet shared strings no cell uses › part 2"]
    x = extract_message(with_attachment(_xlsx_members(), "集計.xlsx"))  # all used: no such segment
    assert not [s for s in x.segments if "shared strings" in s.sheet]


def test_message_external_body_is_unscannable() -> None:
    m = base()
    ext = MIMEBase("message", "external-body", **{"access-type": "URL", "URL": "https://files.example/list.csv"})
    ext.set_payload("Content-Type: text/csv\r\nContent-ID: <list@example>\r\n\r\n")
    m.attach(ext)
    x = extract_message(m.as_bytes())
    ((reason, detail),) = [(f.reason, f.detail) for f in x.unscannable]
    assert reason == "external-body" and "URL" in detail
