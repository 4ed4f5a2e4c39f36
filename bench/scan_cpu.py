"""Scanner CPU time per message (process time, median), for comparing two versions on a busy machine.

    python -m bench.scan_cpu [--runs 200]

bench/scan.py measures wall-clock time beside plain presidio; on a shared 2-core machine its figures
swing by 2-4x between runs. CPU time of this process barely depends on the neighbours, so a before /
after comparison runs this script from both checkouts, alternately, in one session:

    (cd OLD && PYTHONPATH=$PWD python -m bench.scan_cpu); (cd NEW && PYTHONPATH=$PWD python -m bench.scan_cpu)
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import gateway.scan.offline  # noqa: F401  (before presidio)
from bench.scan import japanese_mail
from gateway.content import Segment
from gateway.scan import ScanConfig
from gateway.scan.engine import Scanner
from tests.unit.scan.corpus import bulk_sheet


def main() -> None:
    logging.disable(logging.WARNING)
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=200, help="scans of the 1 KB mail (10 KB: a fifth, sheet: 3)")
    args = ap.parse_args()
    scanner = Scanner(ScanConfig(ner_window_chars=0))
    one = [Segment(text=japanese_mail(1024), kind="body")]
    ten = [Segment(text=japanese_mail(10240), kind="body")]
    sheet = [bulk_sheet().segment()]
    for _ in range(5):
        scanner.scan(one)

    def cpu_ms(segments: list[Segment], n: int) -> float:
        times = []
        for _ in range(n):
            t = time.process_time()
            scanner.scan(segments)
            times.append(time.process_time() - t)
        return statistics.median(times) * 1000

    print(
        f"fast stage, CPU time per scan (median): 1 KB mail {cpu_ms(one, args.runs):.2f} ms, "
        f"10 KB mail {cpu_ms(ten, max(1, args.runs // 5)):.2f} ms, 5,572-row sheet {cpu_ms(sheet, 3):.0f} ms"
    )


if __name__ == "__main__":
    main()
