"""Scanner speed and memory, beside a plain presidio + ja_ginza analyzer in the same process.

    python -m bench.scan [--quick] [--cpu]

Prints median / p99 ms for a 1 KB and a 10 KB Japanese mail (fast stage, and with the bounded NER
window), seconds for the 5,572-row iDeCo sheet, characters per second, and peak RSS per worker
(an inspection worker, gateway.inspection, with ja_ginza loaded). The plain analyzer is presidio's AnalyzerEngine on a
SpacyNlpEngine with ja_ginza and presidio's own pattern recognizers set to Japanese; it runs the
sheet on its first rows only (it would take minutes) and the figure is extrapolated, as marked.
Goals (issue 4): 1 KB ≤ 10 ms median (fast stage), sheet ≤ 1 s, ≤ 700 MB per worker.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import gateway.scan.offline  # noqa: F401  (before presidio)
from gateway.config.inspection import InspectionConfig
from gateway.content import Segment
from gateway.inspection.pool import InspectPool
from gateway.scan import ScanConfig, ScanContext
from gateway.scan.engine import Scanner
from tests.unit.scan.corpus import QUOTED_REPLY, SIGNATURE, bulk_sheet

PARAGRAPH = (
    "お世話になっております。先日ご依頼いただいた件につき、下記の通りご連絡いたします。"
    "ご担当の高橋一郎様(携帯 090-1234-5678、メール ichiro.t@gmail.com)より、"
    "〒150-0001 東京都渋谷区神宮前1-2-3 宛てに書類を送付したとのことです。"
    "納期は2025年7月10日、注文番号 123-4567 の件も併せてご確認ください。\n"
)


def japanese_mail(size_bytes: int) -> str:
    text = ""
    while len(text.encode()) < size_bytes:
        text += PARAGRAPH
    return text.encode()[:size_bytes].decode(errors="ignore")


def plain_presidio() -> object:
    """presidio-analyzer with ja_ginza, configured explicitly (never a bare AnalyzerEngine())."""
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer,
        EmailRecognizer,
        IbanRecognizer,
        PhoneRecognizer,
        SpacyRecognizer,
        UsSsnRecognizer,
    )

    from gateway.scan.ner import load_spacy

    nlp = load_spacy("ja_ginza", "Japanese")
    labels = set(nlp.get_pipe("ner").labels)  # type: ignore[attr-defined]
    config = NerModelConfiguration(
        model_to_presidio_entity_mapping={"Person": "PERSON"}, labels_to_ignore=sorted(labels - {"Person"})
    )
    engine = SpacyNlpEngine(models=[{"lang_code": "ja", "model_name": "ja_ginza"}], ner_model_configuration=config)
    engine.nlp = {"ja": nlp}
    registry = RecognizerRegistry(supported_languages=["ja"])
    for cls in (EmailRecognizer, CreditCardRecognizer, IbanRecognizer, UsSsnRecognizer):
        registry.add_recognizer(cls(supported_language="ja"))
    registry.add_recognizer(PhoneRecognizer(supported_language="ja", supported_regions=("JP", "US", "GB", "DE")))
    registry.add_recognizer(SpacyRecognizer(supported_language="ja", supported_entities=["PERSON"]))
    return AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=["ja"])


def presidio_chunks(analyzer: object, text: str, size: int = 8000) -> int:
    """presidio does not chunk for spaCy, and Sudachi refuses > 49,149 bytes: chunk at lines."""
    from gateway.scan.engine import _chunks

    found = 0
    for _, chunk in _chunks(text, size):
        found += len(analyzer.analyze(chunk, language="ja", score_threshold=0.5))  # type: ignore[attr-defined]
    return found


# Wall-clock time by default; --cpu measures this process's CPU time instead, which a machine shared
# with other work disturbs far less (for before/after comparisons of the scanner itself).
clock = time.perf_counter


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t = clock()
        fn()
        out.append((clock() - t) * 1000)
    return out


def p99(xs: list[float]) -> float:
    return sorted(xs)[min(len(xs) - 1, int(len(xs) * 0.99))]


def row(name: str, ms: list[float], chars: int) -> str:
    med = statistics.median(ms)
    return f"  {name:34} median {med:9.2f} ms   p99 {p99(ms):9.2f} ms   {chars / (med / 1000):>12,.0f} chars/s"


async def pool_rss(config: ScanConfig, sheet: Segment) -> float:
    """Peak RSS of an inspection worker after the sheet (sent as a CSV attachment)."""
    from email.mime.multipart import MIMEMultipart
    from email.mime.text import MIMEText

    msg = MIMEMultipart()
    msg.attach(MIMEText("添付をご確認ください。", "plain", "utf-8"))
    csv = MIMEText("\n".join([",".join(sheet.header), *sheet.text.replace("\t", ",").splitlines()]), "csv", "utf-8")
    csv.add_header("Content-Disposition", "attachment", filename="list.csv")
    msg.attach(csv)
    async with InspectPool(config, InspectionConfig(workers=1)) as pool:
        _, result = await pool.inspect(msg.as_bytes())
    return result.stats.get("peak_rss_bytes", 0.0) / 2**20


def main() -> None:
    logging.disable(logging.WARNING)
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer runs")
    ap.add_argument("--cpu", action="store_true", help="CPU time of this process instead of wall-clock time")
    args = ap.parse_args()
    global clock
    if args.cpu:
        clock = time.process_time
    runs, base_runs, base_rows = (50, 5, 100) if args.quick else (300, 20, 300)

    fast = Scanner(ScanConfig(ner_window_chars=0))
    full = Scanner(ScanConfig())
    plain = plain_presidio()
    ctx = ScanContext(sender="taro.yamada@sakura-shoji.co.jp", recipients=("hanako.sato@partner.co.jp",))
    mails = {"1 KB": japanese_mail(1024), "10 KB": japanese_mail(10 * 1024)}
    reply = QUOTED_REPLY.format(sig=SIGNATURE)

    print(f"scan bench: {runs} runs (baseline {base_runs}); chars are NFKC characters")
    results: dict[str, float] = {}
    for label, text in mails.items():
        seg = [Segment(text=text, kind="body")]
        print(f"{label} Japanese mail ({len(text)} chars, {len(text.encode())} bytes):")
        a = timed(lambda seg=seg: fast.scan(seg, ctx), runs)
        b = timed(lambda seg=seg: full.scan(seg, ctx), runs)
        c = timed(lambda text=text: presidio_chunks(plain, text), base_runs)
        print(row("gateway.scan fast stage", a, len(text)))
        print(row("gateway.scan with NER window", b, len(text)))
        print(row("plain presidio + ja_ginza", c, len(text)))
        results[label] = statistics.median(c) / statistics.median(a)
        print(
            f"  ratio plain/fast: {results[label]:.0f}x   "
            f"plain/with-NER: {statistics.median(c) / statistics.median(b):.0f}x"
        )
    seg = [Segment(text=reply, kind="body")]
    print(f"reply with quoted signatures ({len(reply)} chars):")
    print(row("gateway.scan with NER window", timed(lambda: full.scan(seg, ctx), runs), len(reply)))

    sheet = bulk_sheet(5572).segment()
    t = clock()
    res = full.scan([sheet], ctx)
    ours = clock() - t
    part = "\n".join(sheet.text.split("\n")[:base_rows])
    t = clock()
    presidio_chunks(plain, part)
    base = (clock() - t) * 5572 / base_rows
    print(f"5,572-row sheet ({len(sheet.text):,} chars):")
    print(
        f"  gateway.scan                       {ours:9.3f} s   {len(sheet.text) / ours:>12,.0f} chars/s   "
        f"records {res.records}, bulk {res.bulk is not None}"
    )
    print(
        f"  plain presidio + ja_ginza          {base:9.1f} s   "
        f"(extrapolated from {base_rows} rows)   ratio {base / ours:.0f}x"
    )

    rss_fast = asyncio.run(pool_rss(ScanConfig(ner_window_chars=0), sheet))
    rss_full = asyncio.run(pool_rss(ScanConfig(), sheet))
    print("peak RSS per worker (after the 5,572-row sheet):")
    print(f"  fast stage only (Sudachi)          {rss_fast:7.0f} MB")
    print(f"  with ja_ginza loaded               {rss_full:7.0f} MB")


if __name__ == "__main__":
    main()
