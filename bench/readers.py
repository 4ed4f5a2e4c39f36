"""Side by side: the readers the gateway could use for the same files (issue: the fastest well-kept
reader per format, chosen by measurement).

    python bench/readers.py [--files 12] [--repeat 3]

The files are the attachments of bench/e2e.py's load mix (tests/support/load.py: docx and PDF of
50-500 KB) plus a text-heavy PDF and docx of Japanese business prose. For each format, each candidate
reads every file to text; printed are the CPU milliseconds per file (best of --repeat), the ratio to
the reader the gateway uses today, and the characters each reader got (a faster reader that reads
less is no gain).

- PDF: pypdf (today, pure Python) against pypdfium2 (PDFium, C++, wheels on PyPI). Measured here:
  PDFium is about 13 times faster but drops some lines of these PDFs (a Type0 font with no embedded
  program and default widths): compare the character counts before switching a DLP reader to it.
- docx main part: defusedxml.ElementTree (today: the whole tree in memory) against lxml's iterparse
  with entities, DTDs and the network off (streaming, C). Measured here: the main part is cheap with
  either (about 0.2 ms); what costs in a docx is the other XML parts read in full (styles.xml and
  stylesWithEffects.xml are 800 KB of a python-docx file), see bench/profile_mix.py.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.load import _docx, _pdf  # noqa: E402

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def pdf_pypdf(data: bytes) -> int:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data), strict=False)
    return sum(len(page.extract_text() or "") for page in reader.pages)


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


CANDIDATES: dict[str, list[tuple[str, Callable[[bytes], int]]]] = {
    "pdf": [("pypdf (today)", pdf_pypdf), ("pypdfium2", pdf_pdfium)],
    "docx": [("defusedxml ElementTree (today)", docx_etree), ("lxml iterparse", docx_lxml)],
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
    args = ap.parse_args()
    rng = random.Random(5)
    sizes = [rng.randint(50_000, 500_000) for _ in range(args.files)]
    files = {"pdf": [_pdf(rng, s) for s in sizes], "docx": [_docx(rng, s) for s in sizes]}
    for fmt, candidates in CANDIDATES.items():
        total_kb = sum(len(f) for f in files[fmt]) / 1024
        print(f"\n== {fmt}: {len(files[fmt])} files, {total_kb:.0f} KB")
        base = None
        for name, fn in candidates:
            results = [best_cpu_ms(fn, data, args.repeat) for data in files[fmt]]
            ms = sum(r[0] for r in results) / len(results)
            chars = sum(r[1] for r in results)
            base = base or ms
            print(f"  {name:34} {ms:8.2f} ms/file  x{base / ms:5.1f} faster   {chars:>9,} characters")


if __name__ == "__main__":
    main()
