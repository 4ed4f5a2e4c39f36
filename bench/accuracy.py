"""Precision and recall per entity, and the false-hold rate on benign mail, over the labelled corpus.

    python -m bench.accuracy [--seed 7] [-n 20]

The corpus (tests/unit/scan/corpus.py) is generated: positives with the words real mail puts around
values, negatives with look-alikes (bad check digits, toll-free numbers, order numbers, company
accounts), and benign business mail (signatures, quoted replies, price lists, invoices). Printed
beside a plain presidio + ja_ginza analyzer on the same samples (entities it knows only).
Goals (issue 4): structured entities recall ≥ 0.98 and precision ≥ 0.95; no finding on benign mail.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import gateway.scan.offline  # noqa: F401
from bench.scan import plain_presidio
from gateway.content import Segment
from gateway.scan import ScanConfig
from gateway.scan.engine import Scanner
from gateway.scan.model import Hit
from tests.unit.scan.corpus import STRUCTURED, corpus
from tests.unit.scan.evaluate import Report, evaluate, evaluate_with


def show(title: str, report: Report, entities: list[str]) -> None:
    print(title)
    for e in entities:
        s = report.per_entity.get(e)
        if s is None or s.tp + s.fn + s.fp == 0:
            print(f"  {e:20}      -")
            continue
        mark = "" if e not in STRUCTURED or (s.recall >= 0.98 and s.precision >= 0.95) else "   << below goal"
        print(f"  {e:20} precision {s.precision:5.3f}  recall {s.recall:5.3f}  (tp {s.tp}, fp {s.fp}, fn {s.fn}){mark}")
    print(
        f"  false-hold rate on benign mail: {report.false_hold_rate:.3f} "
        f"({len(report.benign_flagged)} of {report.benign_total})"
    )
    for b in report.benign_flagged:
        print(f"    flagged: {b}")


def main() -> None:
    logging.disable(logging.WARNING)
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("-n", type=int, default=20, help="samples per template")
    ap.add_argument("--no-baseline", action="store_true")
    args = ap.parse_args()
    samples = corpus(args.seed, args.n)
    entities = [*STRUCTURED, "PERSON"]
    print(f"corpus: {len(samples)} samples (seed {args.seed})")
    show("gateway.scan, fast stage:", evaluate(Scanner(ScanConfig(ner_window_chars=0)), samples), entities)
    show("gateway.scan, with the NER window:", evaluate(Scanner(ScanConfig()), samples), entities)
    if args.no_baseline:
        return
    analyzer = plain_presidio()

    def find(seg: Segment) -> list[Hit]:
        import unicodedata

        text = unicodedata.normalize("NFKC", seg.text)
        results = analyzer.analyze(text, language="ja", score_threshold=0.5)  # type: ignore[attr-defined]
        return [Hit(r.entity_type, r.start, r.end, r.score, text[r.start : r.end]) for r in results]

    show("plain presidio + ja_ginza (NFKC input, threshold 0.5):", evaluate_with(find, samples), entities)


if __name__ == "__main__":
    main()
