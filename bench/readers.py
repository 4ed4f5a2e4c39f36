"""Side by side: the readers the gateway could use for the same files (issue: the fastest well-kept
reader per format, chosen by measurement).

    python bench/readers.py [--files 12] [--repeat 3] [--chromium]

The files are the attachments of bench/e2e.py's load mix (tests/support/load.py: docx and PDF of
50-500 KB) plus a text-heavy PDF and docx of Japanese business prose. For each format, each candidate
reads every file to text; printed are the CPU milliseconds per file (best of --repeat), the ratio to
the reader the gateway uses today, and the characters each reader got (a faster reader that reads
less is no gain).

- PDF: pypdf (pure Python, what the gateway uses) against pypdfium2 (PDFium, C++, wheels on PyPI)
  alone and "checked": every text object of a page (in form XObjects too) must have characters in
  PDFium's text page, else the page is read by pypdf, because PDFium's text page is built for display
  and leaves text out (a text object it takes for an overprinted copy of one of the five before it,
  and objects of no width). The same pages in three kinds of file:
  "japan1" (the load mix): a Japanese font the PDF names without embedding it (UniJIS-UCS2-H over
    Adobe-Japan1, as many Japanese PDFs do); PDFium places each character with the glyph outlines of a
    system CJK font (Noto CJK here), which costs more than pypdf's whole reading;
  "identity" (the mix before): Identity-H CIDs with no font program, which no viewer can draw; PDFium
    is fast because it has no glyphs to load, and drops a line repeated near its twin (glyph boxes of no
    height make its overprint filter compare only x positions), so the check sends pages to pypdf;
  "chromium" (with --chromium, when chromium is installed): prose and a table of contacts printed to
    PDF by headless Chromium (embedded DejaVu Sans, one text object per glyph): pypdf is very slow on
    such files, PDFium fast, but PDFium's text page skips the space glyphs (objects of no width, as it
    would skip text scaled to nothing), so the check cannot tell a space from hidden text.
  Printed besides: the pages the check gave to pypdf.
  "chromium ja" (with --chromium): the load mix's Japanese prose and a table of contacts printed by
    headless Chromium with Noto Sans/Serif CJK JP (what a browser's "save as PDF" gives; Chromium draws
    CJK glyphs as Type3 fonts, Latin in an embedded TrueType subset, and marks the CJK characters its
    ToUnicode cannot tell from their Kangxi-radical twins with /ActualText);
  "type3 fixture": the test fixtures' Japanese pages (tests/unit/extract/extract_fixtures.pdf) in
    their embedded-font form.
  "gateway" is what gateway/extract/pdf.py does since PDFium reads text (gateway.extract.pdf_text):
  PDFium for pages whose composite fonts are embedded, when its text page has every text object
  (inkless space objects aside), else pypdf; which is judged once per document, from the first fonts
  of its first page that names one. Measured (CPU ms per file, 2 shared cores): japan1 (the mix)
  20.8 pypdf, 18.3 gateway (pypdf reads every page), 30.7 PDFium alone; chromium ja 621 -> 62.5
  (PDFium alone 34: the rest is pypdf opening the file, which the side channels need anyway);
  chromium (Latin) 610 -> 60; type3 fixture 19.5 -> 11.2; japan1 fixture 19.5 -> 20.0. Characters
  read: the same but for spaces and line breaks (tests/unit/extract/test_extract_pdf_text.py).
  LibreOffice is not installed here (Word and LibreOffice embed TrueType subsets, as Chromium does
  for Latin text).
  "pypdf, once per document" is pypdf as the gateway runs it since gateway.extract.pypdf_cache (each
  font built once per document, hex strings by bytes.fromhex, forms parsed once); "gateway" includes
  it. Measured (CPU ms per file, best of 3, 2 shared cores): japan1 (the mix) 20.1 -> 7.6 (gateway
  10.2); identity 19.7 -> 7.3; japan1 fixture 18.5 -> 6.5; type3 fixture 18.8 -> 9.7 (PDFium, the
  gateway, 8.4); chromium 661 -> 567 and chromium ja 675 -> 558 (there the content stream parsing is
  the cost; the gateway reads those with PDFium: 66 ms). Characters read: the same.
- docx main part: defusedxml.ElementTree (today: the whole tree in memory) against lxml's iterparse
  with entities, DTDs and the network off (streaming, C). The main part is cheap with either (about
  0.2 ms); what cost in a docx was the side parts read in full (styles.xml and stylesWithEffects.xml
  are 800 KB of a python-docx file): "docx package" is the whole file through the gateway's reader,
  whose byte-level check (gateway.extract.ooxml.textless) passes over parts that carry no text.
Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gateway.config.extract import ExtractLimits  # noqa: E402
from tests.support.load import _docx, _pdf  # noqa: E402

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def pdf_pypdf(data: bytes) -> int:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data), strict=False)
    return sum(len(page.extract_text() or "") for page in reader.pages)


def pdf_pypdf_cached(data: bytes) -> int:
    """pypdf with gateway.extract.pypdf_cache: fonts built once per document, hex strings by
    bytes.fromhex, forms parsed once."""
    from gateway.extract.pypdf_cache import document

    with document():
        return pdf_pypdf(data)


def pdf_pdfium(data: bytes) -> int:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(data)
    try:
        chars = 0
        for index in range(len(document)):
            page = document[index]
            textpage = page.get_textpage()
            chars += len(textpage.get_text_range())  # all text, also off the page box (it travels)
            textpage.close()
            page.close()
        return chars
    finally:
        document.close()


def _document_xml(data: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return z.read("word/document.xml")


def docx_etree(data: bytes) -> int:
    from defusedxml import ElementTree

    root = ElementTree.fromstring(_document_xml(data))
    return sum(len("".join(t.text or "" for t in p.iter(f"{W}t"))) for p in root.iter(f"{W}p"))


def docx_lxml(data: bytes) -> int:
    from lxml import etree

    chars = 0
    events = etree.iterparse(
        io.BytesIO(_document_xml(data)),
        events=("end",),
        tag=f"{W}p",
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
        huge_tree=False,
    )
    for _, p in events:
        chars += len("".join(t.text or "" for t in p.iter(f"{W}t")))
        p.clear(keep_tail=False)
    return chars


FALLBACKS = [0]  # pages the checked reading gave to pypdf


def pdf_checked(data: bytes) -> int:
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c
    from pypdf import PdfReader

    document = pdfium.PdfDocument(data)
    reader: PdfReader | None = None
    try:
        chars = 0
        for index in range(len(document)):
            page = document[index]
            textpage = page.get_textpage()
            objects = [o.raw for o in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_TEXT], max_depth=64)]
            # The length in bytes of an object's text in the text page (UTF-16, terminator): 2 when none.
            if all(pdfium_c.FPDFTextObj_GetText(o, textpage.raw, None, 0) > 2 for o in objects):
                chars += len(textpage.get_text_range())
            else:
                FALLBACKS[0] += 1
                reader = reader or PdfReader(io.BytesIO(data), strict=False)
                chars += len(reader.pages[index].extract_text() or "")
            textpage.close()
            page.close()
        return chars
    finally:
        document.close()


def pdf_gateway(data: bytes) -> int:
    """The page text as gateway/extract/pdf.py reads it (side channels left out)."""
    from pypdf import PdfReader

    from gateway.extract.pypdf_cache import document

    with document():
        return _pdf_gateway(PdfReader(io.BytesIO(data), strict=False), data)


def _pdf_gateway(reader: Any, data: bytes) -> int:
    from gateway.extract.pdf_text import PdfiumText

    pages = reader.pages
    with PdfiumText(data, len(pages)) as pdfium:
        chars = sum(len(pdfium.page_text(page, number)) for number, page in enumerate(pages))
        FALLBACKS[0] += pdfium.by_pypdf
    return chars


def print_with_chromium(pages: list[tuple[str, str, str]]) -> list[bytes]:
    """Each (font family, font size, body HTML) printed to PDF by headless Chromium; [] without a Chromium."""
    import shutil
    import subprocess
    import tempfile

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        return []
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        html, target = Path(tmp, "a.html"), Path(tmp, "a.pdf")
        for family, size, body in pages:
            html.write_text(
                f"<html><head><meta charset='utf-8'><style>body{{font-family:'{family}';font-size:{size}}}</style>"
                f"</head><body>{body}</body></html>"
            )
            subprocess.run(
                [browser, "--headless", "--no-sandbox", "--disable-gpu", f"--print-to-pdf={target}", html.as_uri()],
                capture_output=True,
                timeout=120,
                check=True,
            )
            out.append(target.read_bytes())
    return out


def chromium_ja_pdfs(count: int) -> list[bytes]:
    """The load mix's Japanese prose and a contact table printed by headless Chromium (Noto CJK)."""
    from tests.support.load import PII_ROWS, SENTENCES

    rng = random.Random(3)
    pages = []
    for n in range(count):
        paragraphs = "".join(f"<p>{''.join(rng.choice(SENTENCES) for _ in range(3))}</p>" for _ in range(30 * (n + 1)))
        rows = "".join(
            f"<tr><td>{'</td><td>'.join(rng.choice(PII_ROWS).split(' ', 2))}</td></tr>" for _ in range(40 * (n + 1))
        )
        family = ("Noto Sans CJK JP", "Noto Serif CJK JP")[n % 2]
        pages.append((family, "10.5pt", f"{paragraphs}<table border=1>{rows}</table>"))
    return print_with_chromium(pages)


def fixture_pdfs(count: int, font: str) -> list[bytes]:
    """The test fixtures' PDF (tests/unit/extract/extract_fixtures.pdf) with Japanese pages of prose and
    contacts, 2-8 pages."""
    from tests.support.load import PII_ROWS, SENTENCES
    from tests.unit.extract.extract_fixtures import pdf

    rng = random.Random(11)
    out = []
    for _ in range(count):
        pages = ["\n".join(rng.choice(SENTENCES + PII_ROWS)[:40] for _ in range(20)) for _ in range(rng.randint(2, 8))]
        while len({c for p in pages for c in p}) > 250:  # type3: one byte per character
            pages = [p[: len(p) * 3 // 4] for p in pages]
        out.append(pdf(pages, font=font))
    return out


def chromium_pdfs(count: int) -> list[bytes]:
    """Japanese-free prose and a contact table printed by headless Chromium (no CJK TrueType font here)."""
    rng = random.Random(2)
    words = ["quarterly", "sales", "plan", "revised", "figures", "delivery"]
    words += ["schedule", "contract", "renewal", "estimate", "report", "meeting"]
    pages = []
    for n in range(count):
        paragraphs = "".join(f"<p>{' '.join(rng.choice(words) for _ in range(60))}.</p>" for _ in range(20 * (n + 1)))
        rows = "".join(
            f"<tr><td>Hanako Sato {i}</td><td>+81-90-1234-{i:04d}</td><td>hanako{i}@example.com</td></tr>"
            for i in range(50 * (n + 1))
        )
        pages.append(("DejaVu Sans", "11pt", f"{paragraphs}<table border=1>{rows}</table>"))
    return print_with_chromium(pages)


def docx_package(data: bytes) -> int:
    from gateway.extract.context import Context, Where
    from gateway.extract.files import read_file
    from gateway.extract.mime import read_attached_message

    ctx = Context(ExtractLimits(), read_attached_message)
    read_file(ctx, data, "a.docx", "", Where().inside("a.docx"))
    return sum(len(s.text) for s in ctx.out.segments)


CANDIDATES: dict[str, list[tuple[str, Callable[[bytes], int]]]] = {
    "pdf japan1 (the mix)": [
        ("pypdf (the gateway before)", pdf_pypdf),
        ("pypdf, once per document", pdf_pypdf_cached),
        ("gateway: PDFium where fonts embedded", pdf_gateway),
        ("pypdfium2 alone", pdf_pdfium),
        ("pypdfium2 checked", pdf_checked),
    ],
    "pdf identity": [
        ("pypdf (the gateway before)", pdf_pypdf),
        ("pypdf, once per document", pdf_pypdf_cached),
        ("gateway: PDFium where fonts embedded", pdf_gateway),
        ("pypdfium2 alone", pdf_pdfium),
        ("pypdfium2 checked", pdf_checked),
    ],
    "pdf chromium": [
        ("pypdf (the gateway before)", pdf_pypdf),
        ("pypdf, once per document", pdf_pypdf_cached),
        ("gateway: PDFium where fonts embedded", pdf_gateway),
        ("pypdfium2 alone", pdf_pdfium),
        ("pypdfium2 checked", pdf_checked),
    ],
    "pdf chromium ja": [
        ("pypdf (the gateway before)", pdf_pypdf),
        ("pypdf, once per document", pdf_pypdf_cached),
        ("gateway: PDFium where fonts embedded", pdf_gateway),
        ("pypdfium2 alone", pdf_pdfium),
    ],
    "pdf type3 fixture": [
        ("pypdf (the gateway before)", pdf_pypdf),
        ("pypdf, once per document", pdf_pypdf_cached),
        ("gateway: PDFium where fonts embedded", pdf_gateway),
        ("pypdfium2 alone", pdf_pdfium),
    ],
    "pdf japan1 fixture": [
        ("pypdf (the gateway before)", pdf_pypdf),
        ("pypdf, once per document", pdf_pypdf_cached),
        ("gateway: PDFium where fonts embedded", pdf_gateway),
        ("pypdfium2 alone", pdf_pdfium),
    ],
    "docx": [("defusedxml ElementTree (main part)", docx_etree), ("lxml iterparse (main part)", docx_lxml)],
    "docx package": [("gateway: every part, textless skipped", docx_package)],
}


def best_cpu_ms(fn: Callable[[bytes], int], data: bytes, repeat: int) -> tuple[float, int]:
    best, chars = float("inf"), 0
    for _ in range(repeat):
        started = time.process_time()
        chars = fn(data)
        best = min(best, time.process_time() - started)
    return best * 1000, chars


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=12)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--chromium", action="store_true", help="also PDFs printed by headless Chromium")
    args = ap.parse_args()
    rng = random.Random(5)
    sizes = [rng.randint(50_000, 500_000) for _ in range(args.files)]
    docx = [_docx(rng, s) for s in sizes]
    files = {
        "pdf japan1 (the mix)": [_pdf(random.Random(s), s) for s in sizes],
        "pdf identity": [_pdf(random.Random(s), s, font="identity") for s in sizes],
        "pdf chromium": chromium_pdfs(3) if args.chromium else [],
        "pdf chromium ja": chromium_ja_pdfs(4) if args.chromium else [],
        "pdf type3 fixture": fixture_pdfs(args.files, "type3"),
        "pdf japan1 fixture": fixture_pdfs(args.files, "japan1"),
        "docx": docx,
        "docx package": docx,
    }
    print("CPU time (time.process_time), best of --repeat per file")
    for fmt, candidates in CANDIDATES.items():
        if not files[fmt]:
            continue
        total_kb = sum(len(f) for f in files[fmt]) / 1024
        print(f"\n== {fmt}: {len(files[fmt])} files, {total_kb:.0f} KB")
        base = None
        for name, fn in candidates:
            FALLBACKS[0] = 0
            results = [best_cpu_ms(fn, data, args.repeat) for data in files[fmt]]
            ms = sum(r[0] for r in results) / len(results)
            chars = sum(r[1] for r in results)
            base = base or ms
            extra = f"   {FALLBACKS[0] // args.repeat} pages by pypdf" if fn in (pdf_checked, pdf_gateway) else ""
            print(f"  {name:38} {ms:8.2f} ms/file  x{base / ms:5.1f} faster   {chars:>9,} characters{extra}")


if __name__ == "__main__":
    main()
