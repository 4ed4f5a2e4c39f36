"""What the masked attachment previews (gateway/scan/preview.py) cost the inspection worker: CPU time
of scanning with previews (the default) against scanning with them off (`scan.preview_lines: 0`,
the baseline), in the same process, alternately, on messages with attachments.

    PYTHONPATH=$PWD python -m bench.preview [--runs 30]

CPU time (time.process_time), median of the runs: the machine is shared, wall clock says little.
"""

from __future__ import annotations

import argparse
import io
import logging
import pickle
import statistics
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import gateway.scan.offline  # noqa: F401  (before presidio)
from gateway.extract import extract_message
from gateway.scan import ScanConfig, engine
from gateway.scan.engine import Scanner
from gateway.scan.preview import attachment_previews
from tests.unit.extract.extract_fixtures import attach, docx, mail, xlsx


def messages() -> dict[str, bytes]:
    big = mail()
    attach(big, xlsx(rows=5572), "申込者一覧.xlsx")
    office = mail()
    attach(office, docx(), "名簿.docx")
    attach(office, xlsx(rows=20), "明細.xlsx")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for i in range(50):
            z.writestr(f"dir/{i:02d}.csv", "氏名,電話\n" + "山田 太郎,090-1234-5678\n" * 20)
    archive = mail()
    attach(archive, buf.getvalue(), "まとめ.zip")
    return {
        "xlsx 5,572 rows": big.as_bytes(),
        "docx + small xlsx": office.as_bytes(),
        "zip of 50 csv": archive.as_bytes(),
    }


def main() -> None:
    logging.disable(logging.WARNING)
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    on = Scanner(ScanConfig(ner_window_chars=0))
    off = Scanner(ScanConfig(ner_window_chars=0, preview_lines=0))
    cfg = on.config
    spent = [0.0]
    heads_of = engine.heads_of

    def timed_heads(*a: Any, **k: Any) -> Any:  # the preview's share of a scan, measured inside it
        t = time.process_time()
        try:
            return heads_of(*a, **k)
        finally:
            spent[0] += time.process_time() - t

    engine.heads_of = timed_heads  # type: ignore[assignment]
    print("CPU time per message, median (ms): scan with previews off (baseline) / on; the previews' own part")
    print("(masking the heads inside the scan + assembling them), its share of the scan, bytes pickled")
    for name, raw in messages().items():
        extraction = extract_message(raw)
        times: dict[str, list[float]] = {"off": [], "on": [], "part": []}
        size = 0
        for i in range(args.runs * 2):
            which, scanner = ("off", off) if i % 2 == 0 else ("on", on)
            spent[0] = 0.0
            t = time.process_time()
            result = scanner.scan(extraction.segments)
            if which == "on":
                t2 = time.process_time()
                result.previews = attachment_previews(
                    extraction, result.heads, cfg.preview_lines, cfg.preview_chars, cfg.preview_attachments
                )
                spent[0] += time.process_time() - t2
                times["part"].append(spent[0])
                size = len(pickle.dumps(result.previews))
            times[which].append(time.process_time() - t)
        a, b, part = (statistics.median(times[k]) * 1000 for k in ("off", "on", "part"))
        print(f"  {name:20s} {a:8.2f} / {b:8.2f}   previews {part:6.3f} ms ({part / b:.2%})   {size} bytes")


if __name__ == "__main__":
    main()
