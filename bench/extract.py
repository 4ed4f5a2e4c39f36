"""Extraction benchmark: time and peak memory for the cases of issue 3.

    python bench/extract.py

Cases: an .xlsx of 5,572 rows x 4 columns (the iDeCo leak), a 10 MB PDF, a message with 100
attachments, and two zip bombs (nested 42.zip shape, overlapping entries). Each runs in-process
(best of 3 wall time) and in an inspection worker (gateway.inspection, Sudachi only: wall time of
extraction, its CPU time, and the worker's peak RSS, models included).
The baseline is the same in-process parse of the raw message with the stdlib email parser alone,
so the ratio says what reading the content costs on top of parsing the MIME. Figures only: the
goals (sheet < 0.5 s; bombs < 2 s and < 256 MB) are reported, never asserted.
"""

from __future__ import annotations

import email
import sys
import time
from email.policy import compat32
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "unit" / "extract"))

from extract_fixtures import (
    attach,
    mail,
    overlap_bomb,
    pdf_of_size,
    with_attachment,
    xlsx,
    zip_bomb_deep,
)

from gateway.config.inspection import InspectionConfig
from gateway.extract import ExtractLimits, extract_message
from gateway.inspection.pool import InspectPool
from gateway.scan import ScanConfig

MiB = 1024 * 1024


def _xlsx_5572() -> bytes:
    import io

    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet("明細")
    ws.write_row(0, 0, ["氏名", "メールアドレス", "申込番号", "ステータス"])
    for i in range(5572):
        ws.write_row(i + 1, 0, [f"山田 太郎{i}", f"user{i}@example.jp", f"A{100000 + i}", "受付済"])
    wb.close()
    return buf.getvalue()


def _hundred() -> bytes:
    m = mail("100 files")
    for i in range(100):
        data = f"氏名,電話\n山田{i},090-0000-{i:04d}\n".encode("cp932") if i % 2 else xlsx(20)
        attach(m, data, f"file{i}.{'csv' if i % 2 else 'xlsx'}")
    return m.as_bytes()


def _best(fn, n: int = 3) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(n):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    limits = ExtractLimits()
    cases = [
        ("xlsx 5,572 rows x 4 cols", with_attachment(_xlsx_5572(), "申込者一覧.xlsx")),
        ("pdf 10 MB (200 pages)", with_attachment(pdf_of_size(10 * MiB), "report.pdf")),
        ("100 attachments", _hundred()),
        ("zip bomb, nested 3x4 of 50 MB", with_attachment(zip_bomb_deep(3, 50 * MiB), "42.zip")),
        ("zip bomb, overlapping entries", with_attachment(overlap_bomb(1 << 20, 2000), "overlap.zip")),
    ]
    pool = InspectPool(ScanConfig(ner_window_chars=0), InspectionConfig(workers=1))
    pool.start_sync()
    print(
        f"{'case':34} {'raw MB':>7} {'parse s':>8} {'in-proc s':>9} {'ratio':>7} "
        f"{'worker s':>9} {'cpu s':>6} {'peak MB':>8}  result"
    )
    for name, raw in cases:
        base = _best(lambda raw=raw: email.message_from_bytes(raw, policy=compat32))
        inproc = _best(lambda raw=raw: extract_message(raw, limits))
        x, scan = pool.inspect_sync(raw, limits)
        worker = x.stats.get("wall_seconds", 0.0)
        found = sorted({f.reason for f in x.findings}) or ["ok"]
        rows = sum(s.rows for s in x.segments)
        print(
            f"{name:34} {len(raw) / MiB:7.1f} {base:8.3f} {inproc:9.3f} {inproc / max(base, 1e-6):7.1f} "
            f"{worker:9.3f} {x.stats.get('cpu_seconds', 0):6.2f} {scan.stats.get('peak_rss_bytes', 0) / MiB:8.0f}"
            f"  {','.join(found)}; {len(x.segments)} segments, {rows} rows"
        )
    pool.close_sync()


if __name__ == "__main__":
    main()
