"""OCR cost per image: CPU and wall time of reading the text in images with Tesseract (jpn+eng).

    python bench/ocr.py [--repeat 3] [--threads 1] [--pool]

Cases (rendered here with Pillow and the Noto CJK font, tests/support/images.py):
  screenshot   a 1000x692 screenshot of a 20-row table (氏名/住所/電話番号), PNG
  scanned png  an A4 page scanned at 150 dpi (1240x1754, grey, dust, 0.4° skew) with a 12-row list
  scanned pdf  the same page as an image-only PDF page (rendered at extract.ocr.pdf_dpi, then read)
  logo, icon   a 240x80 signature logo and a 24x24 icon: skipped by size, never read
  docx shot    a Word document (python-docx) with the 20-row screenshot pasted in its body
  docx logos   a Word document with a logo and three icons in it: skipped by size
  pdf text+shot  an A4 page with a text layer and the screenshot drawn over 40% of it: the image's
               place is rendered at pdf_dpi and read (extract.ocr.pdf_image_share)
  pdf text+logo  the same page with a letterhead logo instead: the page is looked at, nothing read
Each is one attachment of a short mail, extracted in-process (the same code the inspection worker
runs); the baseline is a plain 5 KB mail in the same process, so the ratio says what one image
costs against a plain mail. CPU is this process's user+system time (Tesseract runs in it). With
--threads N, Tesseract's OpenMP may use N threads (the gateway sets OMP_THREAD_LIMIT=1: on two
shared cores more threads cost more wall time, not less). With --pool, the same mails also go
through an inspection pool (1 main worker, 1 OCR-lane worker; Sudachi only): wall time per mail,
first the lane's start-up, then the peak RSS of each worker (VmHWM; --node: two main workers with
the shipped scan settings, GiNZA included, as a default node has). Figures only, nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def mail(body: str, attachment: tuple[bytes, str, str] | None = None) -> bytes:
    m = EmailMessage()
    m["From"] = "taro@example.co.jp"
    m["To"] = "partner@partner.example"
    m["Subject"] = "資料送付"
    m.set_content(body)
    if attachment:
        data, name, ctype = attachment
        main, sub = ctype.split("/")
        m.add_attachment(data, maintype=main, subtype=sub, filename=name)
    return m.as_bytes()


def cases() -> dict[str, bytes]:
    from tests.support import images
    from tests.support.load import SENTENCES

    people = images.people(20, seed=5)
    page = images.scanned_page(people[:12])
    prose = "\n".join(SENTENCES * 4)[:1700]  # about 5 KB once encoded
    return {
        "plain 5 KB mail": mail(prose),
        "screenshot 20 rows": mail("一覧", (images.encode(images.table_image(people)), "scan.png", "image/png")),
        "scanned page png": mail("スキャン", (images.encode(page), "scan.png", "image/png")),
        "scanned page pdf": mail("スキャン", (images.image_pdf(page), "scan.pdf", "application/pdf")),
        "logo (skipped)": mail("署名", (images.encode(images.logo()), "logo.png", "image/png")),
        "icon (skipped)": mail("署名", (images.encode(images.icon()), "icon.png", "image/png")),
        "docx shot": mail("報告", (_docx(images.encode(images.table_image(people))), "報告.docx", _DOCX)),
        "docx logos": mail(
            "案内",
            (
                _docx(images.encode(images.logo()), *[images.encode(images.icon(s)) for s in (16, 24, 32)]),
                "案内.docx",
                _DOCX,
            ),
        ),
        "pdf text+shot": mail(
            "報告",
            (_pdf_page(images.image_pdf(images.table_image(people[:8])), 50, 380), "報告.pdf", "application/pdf"),
        ),
        "pdf text+logo": mail(
            "報告",
            (_pdf_page(images.image_pdf(images.logo(600, 200), dpi=300), 400, 760), "letter.pdf", "application/pdf"),
        ),
    }


_DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _docx(*pictures: bytes) -> bytes:
    import io

    import docx

    document = docx.Document()
    document.add_paragraph("先日の件、画面を貼り付けます。")
    for picture in pictures:
        document.add_picture(io.BytesIO(picture))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _pdf_page(picture: bytes, x: float, y: float) -> bytes:
    """An A4 page with a text layer and `picture` (an image-only PDF page) drawn at (x, y)."""
    import io

    from pypdf import PdfReader, PdfWriter, Transformation

    from tests.unit.extract.extract_fixtures import pdf

    writer = PdfWriter()
    page = writer.add_blank_page(595, 842)
    page.merge_page(PdfReader(io.BytesIO(pdf(["お世話になっております。下記の通りご報告いたします。"]))).pages[0])
    page.merge_transformed_page(PdfReader(io.BytesIO(picture)).pages[0], Transformation().translate(x, y))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def in_process(all_cases: dict[str, bytes], repeat: int) -> None:
    from gateway.extract import ExtractLimits, extract_message
    from gateway.extract.ocr import engine

    limits = ExtractLimits()
    t0, c0 = time.perf_counter(), cpu()
    engine(limits.ocr)  # the worker loads Tesseract once; its start-up is not a per-image cost
    print(f"Tesseract {limits.ocr.languages} loaded in {time.perf_counter() - t0:.2f} s ({cpu() - c0:.2f} s CPU)")
    baseline = 0.0
    for name, raw in all_cases.items():
        walls, cpus = [], []
        for _ in range(repeat):
            t, c = time.perf_counter(), cpu()
            x = extract_message(raw, limits)
            walls.append(time.perf_counter() - t)
            cpus.append(cpu() - c)
        wall, used = statistics.median(walls), statistics.median(cpus)
        baseline = baseline or used
        ocr_chars = sum(len(s.text) for s in x.segments if "OCR" in s.path)
        print(
            f"  {name:20s} CPU {used * 1000:8.1f} ms   wall {wall * 1000:8.1f} ms   "
            f"x{used / baseline:7.0f} plain   images read {x.stats.get('ocr_images', 0):.0f}, "
            f"skipped {x.stats.get('ocr_skipped', 0):.0f}   OCR text {ocr_chars} chars   "
            f"unscannable {[f.reason for f in x.unscannable]}"
        )


def through_pool(all_cases: dict[str, bytes], repeat: int, node: bool = False) -> None:
    from gateway.config.inspection import InspectionConfig
    from gateway.inspection.pool import InspectPool, peak_rss_bytes
    from gateway.scan import ScanConfig

    if node:  # as a default node: two main workers with the shipped scan settings (GiNZA)
        pool = InspectPool(ScanConfig(), InspectionConfig(workers=2, ocr_workers=1))
    else:
        pool = InspectPool(ScanConfig(ner_window_chars=0), InspectionConfig(workers=1, ocr_workers=1))
    try:
        pool.start_sync()
        t = time.perf_counter()
        pool.inspect_sync(all_cases["screenshot 20 rows"])
        print(f"inspection pool: first image mail (the OCR lane's worker starts) {time.perf_counter() - t:.2f} s")
        for name, raw in all_cases.items():
            walls = []
            for _ in range(repeat):
                t = time.perf_counter()
                x, scan = pool.inspect_sync(raw)
                walls.append(time.perf_counter() - t)
            lane = "OCR lane" if x.stats.get("ocr_images") else "main"
            print(
                f"  {name:20s} wall {statistics.median(walls) * 1000:8.1f} ms   {lane:8s}   "
                f"personal data {sorted(scan.entities())}"
            )
        peaks = []
        for pid in pool.worker_pids():
            lane = Path(f"/proc/{pid}/comm").read_text().strip()
            peaks.append(peak_rss_bytes(pid))
            print(f"  peak RSS {lane:10s} {peaks[-1] / 2**20:6.0f} MB")
        mine = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        print(f"  peak RSS this process {mine / 2**20:.0f} MB; workers together {sum(peaks) / 2**20:.0f} MB")
    finally:
        pool.close_sync()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per case (the median is printed)")
    parser.add_argument("--threads", type=int, default=1, help="OMP_THREAD_LIMIT for Tesseract (gateway: 1)")
    parser.add_argument("--pool", action="store_true", help="also through an inspection pool with its OCR lane")
    parser.add_argument(
        "--node", action="store_true", help="the pool as a default node: 2 main workers with GiNZA, 1 OCR worker"
    )
    args = parser.parse_args()
    os.environ["OMP_THREAD_LIMIT"] = str(args.threads)  # before libtesseract (and its libgomp) loads
    all_cases = cases()
    print(f"OMP_THREAD_LIMIT={args.threads}; cores {os.cpu_count()}; median of {args.repeat}")
    in_process(all_cases, args.repeat)
    if args.pool:
        through_pool(all_cases, args.repeat, args.node)


if __name__ == "__main__":
    main()
