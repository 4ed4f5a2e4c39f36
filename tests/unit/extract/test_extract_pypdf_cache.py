"""Differential: pypdf's page text with gateway.extract.pypdf_cache (each font built once per document,
hex strings read with bytes.fromhex, form XObjects parsed once) is pypdf's plain page text, exactly,
page by page, errors included; and the gateway's whole reading of a PDF (text, side channels, limits,
UNSCANNABLE findings) is the same as with plain pypdf. On the test fixtures, and on PDFs made here for
what the cache could confuse: one resource name for different fonts on different pages, a page whose
font has its own ToUnicode, inline font dictionaries, Type3 fonts, shared and nested forms, malformed
fonts and hex strings, encrypted files."""

from __future__ import annotations

import contextlib
import io
import random
import shutil
import subprocess
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from extract_fixtures import encrypted_pdf, pdf, pdf_of_size, with_attachment
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader
from pypdf.generic import read_object

from gateway.extract import Extraction, ExtractLimits, extract_message, pypdf_cache
from gateway.extract import pdf as pdf_module
from gateway.extract.pdf_text import PdfiumText

JA = "山田太郎鈴木花子髙橋﨑東京都千代田区丸の内電話番号氏名住所"


def page_texts(data: bytes) -> list[str]:
    """Every page's text through pypdf, or the name of the error it raised."""
    out: list[str] = []
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            reader.decrypt("")
        pages = list(reader.pages)
    except Exception as e:
        return [f"error opening: {type(e).__name__}"]
    for page in pages:
        try:
            out.append(page.extract_text())
        except Exception as e:
            out.append(f"error: {type(e).__name__}: {e}")
    return out


def both(data: bytes) -> tuple[list[str], list[str], pypdf_cache.Memo]:
    plain = page_texts(data)
    with pypdf_cache.document() as memo:
        assert memo is not None, "pypdf is the version checked here: the cache must be in use"
        cached = page_texts(data)
    return plain, cached, memo


def check(data: bytes) -> pypdf_cache.Memo:
    plain, cached, memo = both(data)
    assert cached == plain
    return memo


# -- a small PDF writer -----------------------------------------------------------------------------


class Doc:
    """Objects numbered from 1 as added; pages under one /Pages node."""

    def __init__(self) -> None:
        self.objs: list[bytes] = [b""]  # 1: the /Pages node, written last
        self.pages: list[int] = []

    def add(self, body: bytes) -> int:
        self.objs.append(body)
        return len(self.objs)

    def stream(self, data: bytes, extra: bytes = b"", compress: bool = True) -> int:
        if compress:
            data = zlib.compress(data)
            extra += b" /Filter /FlateDecode"
        return self.add(b"<< /Length %d%s >>\nstream\n" % (len(data), extra) + data + b"\nendstream")

    def page(self, content: bytes, resources: bytes) -> int:
        contents = self.stream(content)
        ref = self.add(
            b"<< /Type /Page /Parent 1 0 R /MediaBox [0 0 595 842] /Contents %d 0 R /Resources %s >>"
            % (contents, resources)
        )
        self.pages.append(ref)
        return ref

    def bytes(self) -> bytes:
        kids = b" ".join(b"%d 0 R" % p for p in self.pages)
        self.objs[0] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(self.pages))
        catalog = self.add(b"<< /Type /Catalog /Pages 1 0 R >>")
        out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for number, body in enumerate(self.objs, 1):
            offsets.append(len(out))
            out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
        xref = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(self.objs) + 1)
        out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
        out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(self.objs) + 1, catalog, xref)
        return bytes(out)


def cmap(mapping: dict[int, str], digits: int = 4) -> bytes:
    lines = b"".join(
        b"<%0*X> <%s>\n" % (digits, code, text.encode("utf-16-be").hex().encode()) for code, text in mapping.items()
    )
    space = b"<%s> <%s>" % (b"0" * digits, b"F" * digits)
    return (
        b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /X def "
        b"1 begincodespacerange %s endcodespacerange\n%d beginbfchar\n%sendbfchar\n"
        b"endcmap CMapName currentdict /CMap defineresource pop end end" % (space, len(mapping), lines)
    )


def type0(doc: Doc, mapping: dict[int, str]) -> int:
    """A Type0 Identity-H font whose ToUnicode maps the codes of `mapping`."""
    tounicode = doc.stream(cmap(mapping))
    cid = doc.add(
        b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /Gothic /CIDSystemInfo << /Registry (Adobe) "
        b"/Ordering (Identity) /Supplement 0 >> /DW 1000 /W [1 [500 600 700] 10 20 800] >>"
    )
    return doc.add(
        b"<< /Type /Font /Subtype /Type0 /BaseFont /Gothic /Encoding /Identity-H /DescendantFonts [%d 0 R] "
        b"/ToUnicode %d 0 R >>" % (cid, tounicode)
    )


def codes(mapping: dict[int, str], text: str) -> bytes:
    back = {v: k for k, v in mapping.items()}
    return b"<" + b"".join(b"%04X" % back[c] for c in text) + b">"


def letters(seed: int, count: int = 40) -> dict[int, str]:
    rng = random.Random(seed)
    chars = rng.sample(JA, min(count, len(JA)))
    return {i + 1: c for i, c in enumerate(chars)}


HELVETICA = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
TIMES_DIFF = (
    b"<< /Type /Font /Subtype /Type1 /BaseFont /Times-Roman /Encoding << /Type /Encoding "
    b"/BaseEncoding /WinAnsiEncoding /Differences [65 /B /C /D 97 /eacute] >> >>"
)


def same_name_other_font() -> bytes:
    """/F1 is a different font object on every page, each with its own ToUnicode."""
    doc = Doc()
    for n in range(4):
        mapping = letters(n)
        font = type0(doc, mapping)
        text = "".join(mapping.values())[:12]
        doc.page(b"BT /F1 12 Tf 50 800 Td %s Tj ET" % codes(mapping, text), b"<< /Font << /F1 %d 0 R >> >>" % font)
    return doc.bytes()


def own_tounicode_page() -> bytes:
    """Pages 1, 2 and 4 share a font; page 3 names a copy of it whose ToUnicode maps the same codes to
    other characters (and the shared font under another name)."""
    doc = Doc()
    mapping = letters(1)
    other = {code: JA[(JA.index(c) + 5) % len(JA)] for code, c in mapping.items()}
    shared, override = type0(doc, mapping), type0(doc, other)
    line = codes(mapping, "".join(mapping.values())[:10])
    for n in range(4):
        if n == 2:
            doc.page(
                b"BT /F1 12 Tf 50 800 Td %s Tj ET BT /F2 12 Tf 50 700 Td %s Tj ET" % (line, line),
                b"<< /Font << /F1 %d 0 R /F2 %d 0 R >> >>" % (override, shared),
            )
        else:
            doc.page(b"BT /F1 12 Tf 50 800 Td %s Tj ET" % line, b"<< /Font << /F1 %d 0 R >> >>" % shared)
    return doc.bytes()


def inline_fonts() -> bytes:
    """Font dictionaries written inline: in each page's own resources (equal, not the same object),
    and in resources that pages share by reference."""
    doc = Doc()
    shared_resources = doc.add(b"<< /Font << /F1 %s /F2 %s >> >>" % (HELVETICA, TIMES_DIFF))
    for n in range(3):
        doc.page(b"BT /F1 12 Tf 50 800 Td (Page %d own ABC abc) Tj ET" % n, b"<< /Font << /F1 %s >> >>" % TIMES_DIFF)
        doc.page(
            b"BT /F1 12 Tf 50 800 Td (Shared %d) Tj /F2 10 Tf 0 -20 Td (ABCD abcd) Tj ET" % n,
            b"%d 0 R" % shared_resources,
        )
    return doc.bytes()


def simple_fonts() -> bytes:
    """Type1 fonts (standard 14, a /Differences encoding) shared by many pages, literal strings, TJ arrays."""
    doc = Doc()
    helvetica, times = doc.add(HELVETICA), doc.add(TIMES_DIFF)
    resources = b"<< /Font << /F1 %d 0 R /F2 %d 0 R >> >>" % (helvetica, times)
    for n in range(6):
        doc.page(
            b"BT /F1 11 Tf 14 TL 50 800 Td (Quarterly plan, page %d) Tj T* [(Hanako) -300 (Sato) 120 (x)] TJ "
            b"/F2 9 Tf T* (ABCD abc +81-90-1234-%04d) Tj ET" % (n, n),
            resources,
        )
    return doc.bytes()


def forms() -> bytes:
    """A letterhead form drawn on every page (twice on one), with its own font; a form inside a form;
    a form without text; a form that draws itself."""
    doc = Doc()
    mapping = letters(7)
    font = type0(doc, mapping)
    helvetica = doc.add(HELVETICA)
    inner = doc.stream(
        b"BT /F9 8 Tf 10 10 Td (inner form text) Tj ET",
        b" /Type /XObject /Subtype /Form /BBox [0 0 200 50] /Resources << /Font << /F9 %d 0 R >> >>" % helvetica,
    )
    letterhead = doc.stream(
        b"BT /F1 10 Tf 0 0 Td %s Tj ET /In Do" % codes(mapping, "".join(mapping.values())[:8]),
        b" /Type /XObject /Subtype /Form /BBox [0 0 500 60] /Resources << /Font << /F1 %d 0 R >> "
        b"/XObject << /In %d 0 R >> >>" % (font, inner),
    )
    picture = doc.stream(b"0 0 10 10 re f", b" /Type /XObject /Subtype /Form /BBox [0 0 10 10]")
    loop = doc.add(b"")  # filled below: a form whose resources name itself
    body = b"BT /F9 8 Tf (loop) Tj ET /Me Do"
    doc.objs[loop - 1] = (
        b"<< /Type /XObject /Subtype /Form /BBox [0 0 10 10] /Resources << /XObject << /Me %d 0 R >> "
        b"/Font << /F9 %d 0 R >> >> /Length %d >>\nstream\n%s\nendstream" % (loop, helvetica, len(body), body)
    )
    resources = b"<< /Font << /F2 %d 0 R >> /XObject << /LH %d 0 R /Pic %d 0 R /Loop %d 0 R >> >>" % (
        helvetica,
        letterhead,
        picture,
        loop,
    )
    for n in range(5):
        extra = b" q 1 0 0 1 0 -400 cm /LH Do Q /Loop Do" if n == 2 else b""
        doc.page(
            b"q 1 0 0 1 50 780 cm /LH Do Q /Pic Do BT /F2 11 Tf 50 700 Td (Body %d) Tj ET%s" % (n, extra), resources
        )
    return doc.bytes()


def hex_strings() -> bytes:
    """Hex strings as pypdf must read them: whitespace inside, odd length, lower case, empty, long (over
    the chunk the fast reader reads first), and broken ones: a character not hex, no closing ">"."""
    doc = Doc()
    helvetica = doc.add(HELVETICA)
    resources = b"<< /Font << /F1 %d 0 R >> >>" % helvetica
    long_text = b"".join(b"%02x" % (65 + i % 26) for i in range(3000))
    bodies = [
        b"BT /F1 12 Tf 50 800 Td <48 65\n6c\t6c\r6f\x0c20\x00 57> Tj ET",
        b"BT /F1 12 Tf 50 800 Td <4142434> Tj <> Tj <6a6B6c> Tj ET",
        b"BT /F1 12 Tf 50 800 Td <" + long_text + b"> Tj ET",
        b"BT /F1 12 Tf 50 800 Td <" + b" ".join([long_text[:700]] * 9) + b"> Tj ET",
        b"BT /F1 12 Tf 50 800 Td (before) Tj <41G2> Tj (after) Tj ET",
        b"BT /F1 12 Tf 50 800 Td (before) Tj <4142 43",
        b"BT /F1 12 Tf 50 800 Td [<4142> -200 <43 44> 50 (ef)] TJ ET",
    ]
    for body in bodies:
        doc.page(body, resources)
    return doc.bytes()


def malformed_fonts() -> bytes:
    """Fonts pypdf refuses on every page that names them (a /W range too large, /Widths not an array),
    beside a good one: the same errors, page by page."""
    doc = Doc()
    good = doc.add(HELVETICA)
    huge = doc.add(
        b"<< /Type /Font /Subtype /Type0 /BaseFont /X /Encoding /Identity-H /DescendantFonts [<< /Type /Font "
        b"/Subtype /CIDFontType2 /BaseFont /X /W [1 900000 500] >>] >>"
    )
    widths = doc.add(b"<< /Type /Font /Subtype /TrueType /BaseFont /Y /FirstChar 32 /Widths 5 >>")
    for n in range(3):
        doc.page(
            b"BT /F1 12 Tf 50 800 Td (good %d) Tj /F2 12 Tf <0001> Tj ET" % n,
            b"<< /Font << /F1 %d 0 R /F2 %d 0 R >> >>" % (good, huge),
        )
        doc.page(b"BT /F3 12 Tf 50 800 Td (widths %d) Tj ET" % n, b"<< /Font << /F3 %d 0 R >> >>" % widths)
    return doc.bytes()


def type3_shared() -> bytes:
    rng = random.Random(4)
    pages = ["\n".join("".join(rng.choice(JA) for _ in range(12)) for _ in range(8)) for _ in range(5)]
    return pdf(pages, font="type3")


FIXTURES: dict[str, Callable[[], bytes]] = {
    "identity": lambda: pdf(
        ["氏名 山田 太郎 090-1234-5678", "住所 東京都千代田区丸の内1-1", "page 3 hanako@example.com"]
    ),
    "japan1": lambda: pdf(["氏名 山田 太郎 090-1234-5678", "住所 東京都千代田区丸の内1-1"] * 3, font="japan1"),
    "type3": type3_shared,
    "extra text": lambda: pdf(
        ["一行目\n二行目"] * 3, extra=lambda encode: b"BT /F1 1 Tf 9 0 Td " + encode("山田") + b" Tj ET", chars="山田"
    ),
    "of size": lambda: pdf_of_size(60_000),
    "owner password only": lambda: encrypted_pdf(user_password=""),
    "owner password only japan1": lambda: encrypted_pdf(user_password="", font="japan1"),
    "same name, other font": same_name_other_font,
    "own ToUnicode on one page": own_tounicode_page,
    "inline fonts": inline_fonts,
    "simple fonts": simple_fonts,
    "forms": forms,
    "hex strings": hex_strings,
    "malformed fonts": malformed_fonts,
    "not a pdf": lambda: b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ntrailer << /Root 1 0 R >>\n%%EOF",
}


@pytest.mark.parametrize("name", FIXTURES)
def test_page_text_is_plain_pypdfs(name: str) -> None:
    check(FIXTURES[name]())


def test_the_cache_is_used() -> None:
    """Not vacuous: fonts shared by pages are built once, hex strings are read fast, forms parsed once."""
    assert check(FIXTURES["japan1"]()).font_hits == 5
    memo = check(forms())
    assert memo.font_hits > 0 and memo.hex_fast > 0
    assert memo.form_hits == 8  # two forms with text drawn 6 times each, kept from the second drawing on
    assert check(same_name_other_font()).font_hits == 0  # /F1 on each page is another font


def test_past_what_a_document_may_hold_pypdf_works_as_without(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pypdf_cache, "_FONT_ENTRIES", 50)
    monkeypatch.setattr(pypdf_cache, "_FORM_OPERATIONS", 1)
    for name in ("japan1", "forms", "simple fonts", "own ToUnicode on one page"):
        memo = check(FIXTURES[name]())
        assert memo.font_entries <= 50 and memo.form_operations <= 1 + 2 * 10
    assert check(forms()).form_hits < 8


def read_one(data: bytes, forced_encoding: str | None) -> tuple[str, int]:
    stream = io.BytesIO(data)
    try:
        got = read_object(stream, None, forced_encoding)
        return f"{type(got).__name__}: {got!r}", stream.tell()
    except Exception as e:
        return f"error: {type(e).__name__}: {e}", stream.tell()


HEX_BYTES = st.sampled_from(list(b"0123456789abcdefABCDEF \n\r\t\x00\x0c<>(Gz/"))


@settings(max_examples=400, deadline=None)
@given(
    st.lists(HEX_BYTES, max_size=40).map(bytes),
    st.integers(0, 1200),
    st.sampled_from([None, "bytes", "utf-16-be"]),
    st.booleans(),
)
def test_hex_strings_read_as_pypdf_reads_them(
    body: bytes, repeat: int, forced_encoding: str | None, closed: bool
) -> None:
    """Any bytes after "<": the same object (or error) and the stream left at the same place."""
    data = b"<" + body + b"0A" * repeat + body + (b"> Tj" if closed else b"")
    plain = read_one(data, forced_encoding)
    with pypdf_cache.document():
        assert read_one(data, forced_encoding) == plain


def test_a_reader_read_twice_and_out_of_order() -> None:
    data = own_tounicode_page()
    plain = page_texts(data)
    with pypdf_cache.document():
        reader = PdfReader(io.BytesIO(data), strict=False)
        order = [3, 2, 0, 2, 1, 3]
        assert [reader.pages[n].extract_text() for n in order] == [plain[n] for n in order]


def test_nested_documents_have_their_own_memo() -> None:
    outer_data, inner_data = same_name_other_font(), own_tounicode_page()
    with pypdf_cache.document() as outer:
        reader = PdfReader(io.BytesIO(outer_data), strict=False)
        first = reader.pages[0].extract_text()
        with pypdf_cache.document() as inner:
            assert page_texts(inner_data) == page_texts(inner_data)
        rest = [p.extract_text() for p in reader.pages[1:]]
    assert outer is not None and inner is not None and outer is not inner
    assert [first, *rest] == page_texts(outer_data)
    assert inner.font_hits > 0


def test_outside_a_document_pypdf_is_untouched() -> None:
    data = simple_fonts()
    with pypdf_cache.document() as memo:
        pass
    assert memo is not None
    page_texts(data)
    assert memo.font_hits == 0 and memo.hex_fast == 0 and not memo.fonts


def test_random_pages_of_shared_and_own_fonts() -> None:
    rng = random.Random(16)
    for _ in range(15):
        doc = Doc()
        fonts = [type0(doc, letters(rng.randrange(100))) for _ in range(3)]
        for _page in range(rng.randint(1, 6)):
            chosen = rng.sample(fonts, rng.randint(1, 3))
            resources = b"<< /Font << %s >> >>" % b" ".join(b"/F%d %d 0 R" % (i, f) for i, f in enumerate(chosen))
            ops = [b"BT 14 TL 50 800 Td"]
            for i in range(len(chosen)):
                shown = b"".join(b"%04X" % rng.randint(1, 30) for _ in range(8))
                ops.append(b"/F%d %d Tf <%s> Tj T*" % (i, rng.randint(6, 14), shown))
            ops.append(b"ET")
            doc.page(b"\n".join(ops), resources)
        check(doc.bytes())


def chromium_pdf(html: str) -> bytes:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        pytest.skip("chromium is not installed")
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        page, target = Path(tmp, "a.html"), Path(tmp, "a.pdf")
        page.write_text(html, encoding="utf-8")
        subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", f"--print-to-pdf={target}", page.as_uri()],
            capture_output=True,
            timeout=120,
            check=True,
        )
        return target.read_bytes()


def test_chromium_pdf() -> None:
    """What a browser's "save as PDF" gives: Type3 CJK fonts and an embedded TrueType subset for Latin,
    one text object per glyph, on pages sharing the fonts."""
    rows = "".join(
        f"<tr><td>山田 太郎 {i}</td><td>090-1234-{i:04d}</td><td>taro{i}@example.com</td></tr>" for i in range(90)
    )
    prose = "".join(f"<p>お世話になっております。{JA[i % len(JA)]}様の件 quarterly plan {i}.</p>" for i in range(40))
    data = chromium_pdf(
        "<html><head><meta charset='utf-8'><style>body{font-family:'Noto Sans CJK JP','DejaVu Sans'}</style>"
        f"</head><body>{prose}<table border=1>{rows}</table></body></html>"
    )
    assert len(page_texts(data)) >= 2
    assert check(data).font_hits > 0


# -- the gateway's whole reading ------------------------------------------------------------------------


def gateway(data: bytes, limits: ExtractLimits, cached: bool, pypdf_only: bool) -> Extraction:
    with pytest.MonkeyPatch.context() as m:
        if not cached:
            m.setattr(pdf_module, "document", contextlib.nullcontext)
        if pypdf_only:
            m.setattr(PdfiumText, "reads", lambda self, page: False)
        return extract_message(with_attachment(data, "申込書.pdf"), limits)


LIMITS = {
    "default": ExtractLimits(),
    "pages": ExtractLimits(max_pdf_pages=2),
    "text": ExtractLimits(max_attachment_text_chars=40),
}


@pytest.mark.parametrize("limits", LIMITS)
@pytest.mark.parametrize(
    "name", [*FIXTURES, "needs a password", "needs a password japan1", "xfa and fields", "embedded pdf"]
)
def test_gateway_reads_the_same(name: str, limits: str) -> None:
    from coverage_fixtures import pdf_with

    extra: dict[str, Callable[[], bytes]] = {
        "needs a password": lambda: encrypted_pdf(),
        "needs a password japan1": lambda: encrypted_pdf(font="japan1"),
        "xfa and fields": lambda: pdf_with(forms(), field_value="山田 太郎", xfa="<x>090-1234-5678</x>", title="名簿"),
        "embedded pdf": lambda: pdf_with(own_tounicode_page(), attachment=("inner.pdf", same_name_other_font())),
    }
    data = (FIXTURES | extra)[name]()
    for pypdf_only in (False, True):
        plain = gateway(data, LIMITS[limits], cached=False, pypdf_only=pypdf_only)
        cached = gateway(data, LIMITS[limits], cached=True, pypdf_only=pypdf_only)
        assert repr(cached) == repr(plain)


def test_unchecked_pypdf_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Another pypdf than the versions read: plain pypdf (document() yields None, nothing wrapped)."""
    import pypdf

    monkeypatch.setattr(pypdf_cache, "_installed", [])
    monkeypatch.setattr(pypdf, "__version__", "99.0.0")
    with pypdf_cache.document() as memo:
        assert memo is None
    monkeypatch.undo()
    with pypdf_cache.document() as memo:
        assert memo is not None


def test_widths_decide_the_same_spaces() -> None:
    """Fragments of a line placed one after another at about the width pypdf sums for the one before
    (a space goes in when the gap reaches the space width plus that sum): the document's memory of
    character widths (fonts with /W widths of their own, standard-14 fonts, the space character,
    character spacing) puts in the same spaces as pypdf asking the font on every operator."""
    rng = random.Random(20)
    hits = 0
    for _ in range(12):
        doc = Doc()
        mapping = letters(rng.randrange(100))
        mapping[3] = " "
        font, helvetica = type0(doc, mapping), doc.add(HELVETICA)
        resources = b"<< /Font << /F1 %d 0 R /F2 %d 0 R >> >>" % (font, helvetica)
        for _page in range(rng.randint(1, 4)):
            ops = [b"BT 14 TL 50 800 Td"]
            for _line in range(rng.randint(1, 8)):
                x = 0.0
                for _fragment in range(rng.randint(1, 5)):
                    size = rng.choice((9, 10, 12))
                    if rng.random() < 0.5:
                        shown = "".join(rng.choice(list(mapping.values())) for _ in range(rng.randint(1, 6)))
                        ops.append(b"/F1 %d Tf %s Tj" % (size, codes(mapping, shown)))
                        width = sum(0.5 if c in mapping.values() else 1.0 for c in shown) * size
                    else:
                        shown = "".join(rng.choice("Hanako Sato 090") for _ in range(rng.randint(1, 6)))
                        ops.append(b"/F2 %d Tf %.1f Tc (%s) Tj" % (size, rng.choice((0, 0.5)), shown.encode()))
                        width = 0.55 * size * len(shown)
                    step = width * rng.uniform(0.6, 1.6)
                    ops.append(b"%.2f 0 Td" % step)
                    x += step
                ops.append(b"%.2f -14 Td" % -x)
            ops.append(b"ET")
            doc.page(b"\n".join(ops), resources)
        hits += check(doc.bytes()).width_hits
    assert hits > 0  # not vacuous: widths were taken from the memory
