"""Rule evaluation time: 200 rules over a message with 50 personal-data findings (goal ≤ 1 ms).

    python -m bench.policy [--rules 200] [--findings 50] [--runs 2000]

Prints per-message figures for: collecting the flat facts, evaluating the rules (fast path, as the
pipeline does), evaluating with explanations (as `gateway check` does), and the whole decide();
and, as a baseline in the same process, the 10 shipped rules.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from gateway.config.policy import PolicySettings
from gateway.policy.engine import evaluate
from gateway.policy.entities import ENTITY_NAMES
from gateway.policy.facts import collect
from gateway.policy.policy import Policy
from tests.unit.policy.factsbuilder import make_facts, pii, recipient

ENTITIES = [e for e in ENTITY_NAMES if e != "BULK_PERSONAL_DATA"]

TEMPLATES = [
    "pii.count.{e}: {{gte: {n}}}\n      recipients.any_external: true",
    "all:\n        - pii.records.{e}: {{gte: {n}}}\n        - recipients.external_org_count: {{gte: 2}}",
    "any:\n        - subject: {{matches: '(?i)confidential|社外秘|{n}'}}\n        - attachment.types: [xlsx, csv]",
    "recipients.external_domains: {{contains_any: [d{n}.example, partner-bank.co.jp]}}\n      pii.bulk: true",
    "not: {{recipients.all_internal: true}}\n      pii.entities: {{contains: {e}}}\n      body: {{contains: 'x{n}'}}",
]


def rules_dir(tmp: Path, count: int) -> Path:
    rules = tmp / "rules"
    rules.mkdir()
    lines = ["rules:"]
    for i in range(count):
        when = TEMPLATES[i % len(TEMPLATES)].format(e=ENTITIES[i % len(ENTITIES)], n=i + 1)
        lines += [
            f"  - name: rule_{i:03d}",
            f"    description: {{ja: ルール {i}, en: Rule {i}}}",
            f"    when:\n      {when}",
            f"    action: {['hold_sender', 'hold_manager', 'delay', 'rewrite_bcc', 'relay'][i % 5]}",
            *(["    minutes: 5"] if i % 5 == 2 else []),
        ]
    (rules / "00-bench.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return rules


def message(findings: int):  # type: ignore[no-untyped-def]
    recips = [recipient(f"r{i}@org{i % 4}.example", visibility="to") for i in range(8)]
    recips.append(recipient("tanaka@partner-bank.co.jp", first_time_sender=True))
    found = [
        pii(ENTITIES[i % len(ENTITIES)], 10 + i, 5 + i, f"attachment a.xlsx › sheet S › rows 2-{i + 9}", "a.xlsx")
        for i in range(findings)
    ]
    return make_facts(recips, found, subject="月次報告", body="本文 " * 200, bulk=True, visible_external=8)


def per_call(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """(median, p95) in microseconds over `runs` calls, in batches of 10."""
    for _ in range(50):
        fn()
    samples = []
    for _ in range(runs // 10):
        t0 = time.perf_counter()
        for _ in range(10):
            fn()
        samples.append((time.perf_counter() - t0) / 10 * 1e6)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rules", type=int, default=200)
    ap.add_argument("--findings", type=int, default=50)
    ap.add_argument("--runs", type=int, default=2000)
    args = ap.parse_args()
    envelope, facts = message(args.findings)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        policy = Policy.load(PolicySettings(rules_dir=rules_dir(Path(tmp), args.rules), local_dir=Path(tmp) / "none"))
        load_ms = (time.perf_counter() - t0) * 1000
    shipped = Policy.load(PolicySettings())
    fs = collect(envelope, facts)
    outcome = evaluate(policy.rules, fs)
    print(
        f"{len(policy.rules)} rules (loaded and compiled in {load_ms:.1f} ms), {args.findings} findings, "
        f"{len(outcome.hits)} hits, {len(outcome.misses)} misses"
    )
    rows = [
        ("collect facts", lambda: collect(envelope, facts)),
        (f"evaluate {len(policy.rules)} rules", lambda: evaluate(policy.rules, collect(envelope, facts))),
        (
            f"evaluate {len(policy.rules)} rules, explained",
            lambda: evaluate(policy.rules, collect(envelope, facts), True),
        ),
        ("decide() (facts, rules, reasons, approvers)", lambda: policy.decide(envelope, facts, explain=False)),
        (
            f"baseline: decide() with the {len(shipped.rules)} shipped rules",
            lambda: shipped.decide(envelope, facts, False),
        ),
    ]
    base = None
    for label, fn in rows:
        median, p95 = per_call(fn, args.runs)
        base = base or median
        print(f"  {label:52} median {median / 1000:7.3f} ms   p95 {p95 / 1000:7.3f} ms   x{median / base:5.1f}")
    print("goal: evaluate 200 rules over 50 findings in ≤ 1 ms per message")


if __name__ == "__main__":
    main()
