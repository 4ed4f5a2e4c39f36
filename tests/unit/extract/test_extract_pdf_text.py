"""Page text through PDFium (gateway.extract.pdf_text) against pypdf, its reference: on pages whose
fonts are embedded (here Type3, as Chromium draws CJK text) PDFium reads the page when it read every
text object, else pypdf does. Differential: the characters the gateway reads from a page are the ones
pypdf reads (in order, spaces aside), on random pages and on text hidden the ways PDFium's display
text leaves out (overprinted copies, text scaled to nothing, hyphens, ActualText spans)."""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Callable, Iterator
from typing import Any

import pypdfium2
import pytest
from extract_fixtures import encrypted_pdf, pdf, with_attachment
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DecodedStreamObject, DictionaryObject, FloatObject, NameObject

from gateway.extract import Extraction, ExtractLimits, extract_message
from gateway.extract import pdf_text as pdf_text_module
from gateway.extract.pdf_text import PdfiumText, fonts_embedded

ALPHABET = "山田太郎鈴木花子髙橋﨑090-1234-5678東京都千代田区丸の内@example.com ①ＡＢ　、。ー〒"


LONG = "氏名 山田 太郎 電話 090-1234-5678 東京都"  # 20 characters or more: not a page for OCR


def run(data: bytes, limits: ExtractLimits | None = None) -> Extraction:
    return extract_message(with_attachment(data, "申込書.pdf"), limits or ExtractLimits())


def pages_of(x: Extraction) -> list[str]:
    return [s.text for s in x.segments if s.attachment and s.sheet.startswith("page ")]


def squeeze(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def pypdf_pages(data: bytes) -> list[str]:
    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(data), strict=False).pages]


def by_pypdf(data: bytes, limits: ExtractLimits | None = None) -> Extraction:
    """What the gateway reads with pypdf alone (as before PDFium read page text)."""
    with pytest.MonkeyPatch.context() as m:
        m.setattr(PdfiumText, "reads", lambda self, page: False)
        return run(data, limits)


@pytest.fixture
def readers(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Which reader read each page: "pdfium" or "pypdf"."""
    used: list[str] = []
    original = PdfiumText.text

    def text(self: PdfiumText, number: int) -> str | None:
        got = original(self, number)
        used.append("pypdf" if got is None else "pdfium")
        return got

    monkeypatch.setattr(PdfiumText, "text", text)
    yield used


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(alphabet=ALPHABET, min_size=1, max_size=60), min_size=1, max_size=3))
def test_pdfium_reads_what_pypdf_reads(readers: list[str], pages: list[str]) -> None:
    readers.clear()
    data = pdf(pages, font="type3")
    x = run(data)
    assert readers == ["pdfium"] * len(pages)
    reference = by_pypdf(data)
    assert [squeeze(t) for t in pages_of(x)] == [squeeze(t) for t in pages_of(reference)]
    assert [(f.reason, f.detail) for f in x.findings] == [(f.reason, f.detail) for f in reference.findings]
    with PdfiumText(data, len(pages)) as reader:
        assert [squeeze(reader.text(n) or "") for n in range(len(pages))] == [squeeze(p) for p in pages]


def test_words_and_lines_as_the_scanner_needs_them(readers: list[str]) -> None:
    data = pdf(["氏名 山田 太郎\n電話 ０９０−１２３４−５６７８\nhanako@example.com 東京都千代田区"], font="type3")
    (text,) = pages_of(run(data))
    assert readers == ["pdfium"]
    assert text.split("\n") == ["氏名 山田 太郎", "電話 090-1234-5678", "hanako@example.com 東京都千代田区"]


HIDDEN: dict[str, Callable[[Callable[[str], bytes]], bytes]] = {
    "overprinted copy": lambda e: (
        b"BT /F1 12 Tf 50 300 Td " + e("山田太郎") + b" Tj ET BT /F1 12 Tf 50.2 300 Td " + e("山田太郎") + b" Tj ET"
    ),
    "horizontal scale 0": lambda e: b"BT /F1 12 Tf 0 Tz 50 300 Td " + e("090-1234-5678") + b" Tj ET",
    "font size 0": lambda e: b"BT /F1 0 Tf 50 300 Td " + e("090-1234-5678") + b" Tj ET",
    "font size 0.001": lambda e: b"BT /F1 0.001 Tf 50 300 Td " + e("090") + b" Tj ET",
    "squeezed by the matrix": lambda e: b"BT /F1 12 Tf 0.0001 0 0 1 50 300 Tm " + e("090-1234-5678") + b" Tj ET",
    "invisible (render mode 3)": lambda e: b"BT /F1 12 Tf 3 Tr 50 300 Td " + e("鈴木花子") + b" Tj ET",
    "off the page": lambda e: b"BT /F1 12 Tf -900 -900 Td " + e("鈴木花子") + b" Tj ET",
    "clipped away": lambda e: b"q 0 0 1 1 re W n BT /F1 12 Tf 50 300 Td " + e("鈴木花子") + b" Tj ET Q",
    "ActualText over two objects": lambda e: (
        b"/Span << /ActualText (x) >> BDC BT /F1 12 Tf 50 300 Td "
        + e("山田")
        + b" Tj ET BT /F1 12 Tf 80 300 Td "
        + e("太郎")
        + b" Tj ET EMC"
    ),
    "hyphen at a line's end": lambda e: (
        b"BT /F1 12 Tf 50 300 Td "
        + e("千代田")
        + b" Tj ET BT /F1 12 Tf 86 300 Td "
        + e("-")
        + b" Tj ET BT /F1 12 Tf 50 286 Td "
        + e("区丸の内")
        + b" Tj ET"
    ),
    "only spaces": lambda e: b"BT /F1 12 Tf 50 300 Td " + e("   ") + b" Tj ET",
}


@pytest.mark.parametrize("name", list(HIDDEN))
def test_hidden_text_is_read_as_pypdf_reads_it(readers: list[str], name: str) -> None:
    data = pdf([LONG, "ご確認ください"], font="type3", extra=HIDDEN[name], chars=ALPHABET + "千区")
    x, reference = run(data), by_pypdf(data)
    assert sorted("".join(squeeze(t) for t in pages_of(x))) == sorted("".join(map(squeeze, pages_of(reference))))
    assert sorted("".join(squeeze(t) for t in pages_of(x))) == sorted("".join(map(squeeze, pypdf_pages(data))))
    assert [(f.reason, f.detail) for f in x.findings] == [(f.reason, f.detail) for f in reference.findings]


def test_overprinted_copy_goes_to_pypdf(readers: list[str]) -> None:
    pdf_ = pdf([LONG], font="type3", extra=HIDDEN["overprinted copy"])
    (text,) = pages_of(run(pdf_))
    assert readers == ["pypdf"]
    assert squeeze(text).count("山田太郎") == 3  # the page's own and both copies


def test_text_in_a_form_xobject(readers: list[str]) -> None:
    """A page that draws a form holding text: PDFium's walk goes into the form."""
    data = pdf(["表紙"], font="type3", extra=lambda e: b"")
    reader = PdfReader(io.BytesIO(data))
    w = PdfWriter(clone_from=reader)
    page = w.pages[0]
    font = page["/Resources"]["/Font"]
    form = DecodedStreamObject()
    codes = {c: i + 1 for i, c in enumerate(sorted({" ", "表", "紙"}))}
    form.set_data(b"BT /F1 12 Tf 0 0 Td <%02X%02X> Tj ET" % (codes["紙"], codes["表"]))
    form.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Form"),
            NameObject("/BBox"): ArrayObject([FloatObject(0), FloatObject(0), FloatObject(500), FloatObject(500)]),
            NameObject("/Resources"): DictionaryObject({NameObject("/Font"): font}),
        }
    )
    ref = w._add_object(form)
    page["/Resources"][NameObject("/XObject")] = DictionaryObject({NameObject("/Fm1"): ref})
    content = page.get_contents()
    assert content is not None
    content.set_data(content.get_data() + b"\nq 1 0 0 1 50 200 cm /Fm1 Do Q")
    page.replace_contents(content)
    buf = io.BytesIO()
    w.write(buf)
    data = buf.getvalue()
    (text,) = pages_of(run(data))
    assert readers == ["pdfium"]
    assert sorted(squeeze(text)) == sorted(squeeze(pypdf_pages(data)[0])) == sorted("表紙紙表")


def test_fonts_not_embedded_stay_with_pypdf(readers: list[str]) -> None:
    for font in ("identity", "japan1"):
        data = pdf(["氏名 山田 太郎"], font=font)
        assert not fonts_embedded(PdfReader(io.BytesIO(data)).pages[0])
        assert pages_of(run(data))
    assert readers == []


def test_owner_password_only_is_read_by_pdfium(readers: list[str]) -> None:
    x = run(encrypted_pdf(user_password="", font="type3"))
    assert readers == ["pdfium"]
    assert any("090-1234-5678" in t for t in pages_of(x))


def test_pdfium_that_cannot_open_leaves_the_text_to_pypdf(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise pypdfium2.PdfiumError("no")

    monkeypatch.setattr(pypdfium2, "PdfDocument", refuse)
    data = pdf([LONG, LONG + "2"], font="type3")
    x = run(data)
    assert [squeeze(t) for t in pages_of(x)] == [squeeze(LONG), squeeze(LONG + "2")]
    assert not [f for f in x.findings if f.entity == "UNSCANNABLE"]


def test_every_document_page_and_text_page_is_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[Any] = []
    get_page, get_textpage = pypdfium2.PdfDocument.get_page, pypdfium2.PdfPage.get_textpage

    class Document(pypdfium2.PdfDocument):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            opened.append(self)

    def page(self: Any, index: int) -> Any:
        opened.append(got := get_page(self, index))
        return got

    def textpage(self: Any) -> Any:
        opened.append(got := get_textpage(self))
        return got

    monkeypatch.setattr(pypdfium2, "PdfDocument", Document)
    monkeypatch.setattr(pypdfium2.PdfDocument, "get_page", page)
    monkeypatch.setattr(pypdfium2.PdfPage, "get_textpage", textpage)
    run(pdf([LONG, LONG, LONG], font="type3", extra=HIDDEN["overprinted copy"]))
    run(pdf([LONG, LONG], font="type3"), ExtractLimits(max_pdf_pages=1))
    run(pdf(["山田", "太郎"], font="type3"))  # pages for OCR: pdf_scan's PDFium too
    assert len(opened) >= 2 + 3 * 2 + 1 * 2
    assert all(o.raw is None for o in opened)


def test_limits_with_pdfium(readers: list[str]) -> None:
    x = run(pdf([f"page {i}" for i in range(5)], font="type3"), ExtractLimits(max_pdf_pages=2))
    assert readers == ["pdfium", "pdfium"]
    reasons = [f.reason for f in x.findings if f.entity == "UNSCANNABLE"]
    assert reasons == ["limit-pdf-pages"]
    assert [squeeze(t) for t in pages_of(x)] == ["page0", "page1"]


def test_page_text_never_raises_on_odd_input() -> None:
    with PdfiumText(b"%PDF-1.7 nothing here", 1) as reader:
        assert reader.text(0) is None
    data = pdf(["山田"], font="type3")
    with PdfiumText(data, 2) as reader:  # pypdf counted otherwise: PDFium is not used
        assert reader.text(0) is None
    with PdfiumText(data, 1) as reader:
        assert reader.text(5) is None
        assert squeeze(reader.text(0) or "") == "山田"
    assert pdf_text_module._MIN_SIZE >= 1
