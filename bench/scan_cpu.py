"""Scanner CPU time per message (process time, median), for comparing two versions on a busy machine.

    python -m bench.scan_cpu [--runs 200]                          # this checkout
    python -m bench.scan_cpu --against OLD_CHECKOUT [--rounds 3]   # both, alternately, with ratios

bench/scan.py measures wall-clock time beside plain presidio; on a shared 2-core machine its figures
swing by 2-4x between runs. CPU time of this process barely depends on the neighbours, so a before /
after comparison runs both checkouts alternately in one session: with `--against`, each round starts
one process on the other checkout's code and one on this one's (each process imports the scanner,
the mails and the sheet of its own checkout, so an old tree is measured as it measured itself), and
the end prints the medians of each and the ratio new / old per figure.

Figures: a 1 KB, a 5 KB and a 10 KB Japanese mail (bench.scan.japanese_mail: a name, a mobile number,
an e-mail address, a postal code and an address per paragraph) and the 5,572-row sheet, all through
the fast stage (no NER window), and the process's peak RSS after them (Sudachi and the gazetteer, no
GiNZA; bench/scan.py measures a worker with GiNZA).
"""

from __future__ import annotations

import sys
from pathlib import Path

# `--tree DIR` (a child of --against): import the scanner from that checkout, not from this one.
_TREE = Path(sys.argv[sys.argv.index("--tree") + 1]) if "--tree" in sys.argv else Path(__file__).resolve().parents[1]
sys.path.insert(0, str(_TREE.resolve()))

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

FIGURES = (("1kb", "1 KB mail", "ms"), ("5kb", "5 KB mail", "ms"), ("10kb", "10 KB mail", "ms"),
           ("sheet", "5,572-row sheet", "ms"), ("rss", "peak RSS", "MB"))  # fmt: skip


def measure(runs: int, freeze: bool = False) -> dict[str, float]:
    """Medians of CPU time per scan (ms), in this process, of the checkout on sys.path[0]. With `freeze`
    the objects alive after the scanner is built (models, gazetteer) are moved out of the cyclic
    garbage collector's reach (gc.freeze()), as a long-lived worker could do after loading them."""
    import gateway.scan.offline  # noqa: F401  (before presidio)
    from bench.scan import japanese_mail
    from gateway.content import Segment
    from gateway.scan import ScanConfig
    from gateway.scan.engine import Scanner
    from tests.unit.scan.corpus import bulk_sheet

    scanner = Scanner(ScanConfig(ner_window_chars=0))
    mails = {
        k: [Segment(text=japanese_mail(n), kind="body")] for k, n in (("1kb", 1024), ("5kb", 5120), ("10kb", 10240))
    }
    sheet = [bulk_sheet().segment()]
    for _ in range(5):
        scanner.scan(mails["1kb"])
    if freeze:
        gc.freeze()

    def cpu_ms(segments: list[Segment], n: int) -> float:
        times = []
        for _ in range(n):
            t = time.process_time()
            scanner.scan(segments)
            times.append(time.process_time() - t)
        return statistics.median(times) * 1000

    out = {
        "1kb": cpu_ms(mails["1kb"], runs),
        "5kb": cpu_ms(mails["5kb"], max(1, runs // 3)),
        "10kb": cpu_ms(mails["10kb"], max(1, runs // 5)),
        "sheet": cpu_ms(sheet, 3),
    }
    out["rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def line(figures: dict[str, float]) -> str:
    return "fast stage, CPU time per scan (median): " + ", ".join(
        f"{label} {figures[k]:.2f} {unit}" if k != "sheet" and unit == "ms" else f"{label} {figures[k]:.0f} {unit}"
        for k, label, unit in FIGURES
        if k in figures
    )


def child(tree: Path, runs: int, freeze: bool) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    extra = ["--freeze"] if freeze else []
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--tree", str(tree), "--runs", str(runs), "--json", *extra],
        cwd=tree, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def compare(old: Path, new: Path, runs: int, rounds: int, freeze: bool) -> None:
    print(f"CPU time (process time, median per scan), {rounds} rounds alternating old / new")
    print(f"  old: {old}\n  new: {new}")
    got: dict[str, list[dict[str, float]]] = {"old": [], "new": []}
    for r in range(rounds):
        for name, tree in (("old", old), ("new", new)):
            got[name].append(child(tree, runs, freeze))
            print(f"  round {r + 1} {name}: {line(got[name][-1])}", flush=True)
    print(f"{'':18}{'old':>22}{'new':>22}{'new / old':>12}")
    for k, label, unit in FIGURES:
        o = [f[k] for f in got["old"]]
        n = [f[k] for f in got["new"]]
        ratio = statistics.median(n) / statistics.median(o)
        span = "{:.2f}-{:.2f} " if unit == "ms" and k != "sheet" else "{:.0f}-{:.0f} "
        print(
            f"  {label:16}{(span.format(min(o), max(o)) + unit):>22}{(span.format(min(n), max(n)) + unit):>22}"
            f"{ratio:>12.2f}"
        )


def main() -> None:
    logging.disable(logging.WARNING)
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--runs", type=int, default=200, help="scans of the 1 KB mail (5 KB: a third, 10 KB: a fifth, sheet: 3)"
    )
    ap.add_argument(
        "--against", type=Path, help="another checkout (e.g. a worktree of an older commit) to compare with"
    )
    ap.add_argument("--rounds", type=int, default=3, help="with --against: processes per checkout, alternating")
    ap.add_argument("--freeze", action="store_true", help="gc.freeze() once the scanner is built (both checkouts)")
    ap.add_argument("--tree", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.against is not None:
        compare(args.against.resolve(), Path(__file__).resolve().parents[1], args.runs, args.rounds, args.freeze)
        return
    figures = measure(args.runs, args.freeze)
    print(json.dumps(figures) if args.json else line(figures))


if __name__ == "__main__":
    main()
