"""Where the inspection CPU goes, per stage and per attachment type, on the load mix of bench/e2e.py.

    python bench/profile_mix.py [--messages 300] [--no-ner] [--top 25]

The messages are tests/support/load.py's corpus (70% plain 2-10 KB mail, 20% with an xlsx/docx/PDF of
50-500 KB, 10% with a customer list in the body). Each message goes through the same steps as in the
gateway, in this one process so that cProfile sees every call: the request crossing to the inspection
worker (pickle both ways, as multiprocessing does), MIME parse, extraction, the personal-data scan,
recipient assessment and the rules. Nothing runs on a network.

Printed:
- CPU milliseconds per message by stage (the cumulative time of each stage's entry point), with the
  extraction split by reader and the scan split into recognizers, Sudachi names and GiNZA NER;
- CPU milliseconds per message by kind of message (plain, each attachment type, customer list);
- with --top, the functions that cost most (own time).
Figures only; nothing is asserted. The stage figures overlap where one stage calls another (the
charset detection is called by the readers): each line says what it includes.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pickle
import pstats
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gateway import flow  # noqa: E402
from gateway.config import Config  # noqa: E402
from gateway.config.recipients import RecipientsConfig  # noqa: E402
from gateway.extract import extract_message  # noqa: E402
from gateway.message import Envelope  # noqa: E402
from gateway.policy.policy import Policy  # noqa: E402
from gateway.recipients.assess import RecipientContext, assess_recipients  # noqa: E402
from gateway.recipients.history_backends import open_history  # noqa: E402
from gateway.scan.engine import Scanner  # noqa: E402
from gateway.scan.model import ScanContext  # noqa: E402
from tests.support.load import corpus  # noqa: E402

# stage -> [(file suffix, function name)], the entry points whose cumulative time is the stage's.
STAGES: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("ipc", "request and result pickled both ways (the crossing to the worker)", [("profile_mix.py", "ipc")]),
    (
        "mime parse",
        "email package: the MIME tree (in the worker) and the header block (for the recipients)",
        [("extract/mime.py", "parse"), ("gateway/flow.py", "parse_headers")],
    ),
    (
        "extraction",
        "everything extract_message does (includes the lines below)",
        [("extract/__init__.py", "extract_message")],
    ),
    (
        "  charset",
        "detecting and decoding text (charset-normalizer, Japanese codecs)",
        [("extract/charset.py", "decode_text")],
    ),
    ("  html", "HTML bodies to text", [("extract/html.py", "html_to_text")]),
    ("  pdf", "PDF text (pypdf)", [("extract/pdf.py", "read_pdf")]),
    ("  xlsx/ods", "spreadsheets (python-calamine)", [("extract/office.py", "read_spreadsheet")]),
    (
        "  office parts",
        "docx/xlsx/pptx parts by their relationships (defusedxml)",
        [("extract/ooxml.py", "read_package")],
    ),
    ("  zip", "archives (zipfile)", [("extract/files.py", "_read_zip")]),
    ("scan", "the personal-data scan (includes the lines below)", [("scan/engine.py", "scan")]),
    ("  recognizers", "pattern recognizers (regex, validators, context)", [("recognizers/base.py", "find")]),
    ("  sudachi names", "Japanese names (SudachiPy)", [("recognizers/person_ja.py", "find")]),
    ("  ner", "GiNZA in its bounded window", [("scan/engine.py", "_ner_stage")]),
    ("  aggregate", "records, tables, masked samples", [("scan/engine.py", "_aggregate")]),
    (
        "recipients",
        "recipient assessment (lists, history, lookalikes; DNS off)",
        [("recipients/assess.py", "assess_recipients")],
    ),
    ("rules", "the shipped rules over the facts", [("policy/policy.py", "decide")]),
]


def ipc(request: object, result: object) -> None:
    """What the pool's pipe does: pickle the request there and the result back, and unpickle both."""
    pickle.loads(pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL))
    pickle.loads(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))


def kind_of(mail_kind: str, types: list[str]) -> str:
    if mail_kind == "pii":
        return "customer list in the body"
    return f"with {types[0]}" if types else "plain"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=300)
    ap.add_argument("--no-ner", action="store_true", help="scan without the GiNZA window")
    ap.add_argument("--top", type=int, default=0, help="also print the N functions with the most own time")
    args = ap.parse_args()

    config = Config()
    scan_cfg = config.scan.model_copy(update={"ner_window_chars": 0}) if args.no_ner else config.scan
    print("loading the scanner (Sudachi, GiNZA) ...", flush=True)
    scanner = Scanner(scan_cfg)
    policy = Policy.load(config.policy)
    mails = corpus(args.messages, seed=7)
    with tempfile.TemporaryDirectory() as tmp:
        history = open_history(f"sqlite:///{tmp}/gateway.db")
        ctx = RecipientContext.create(
            RecipientsConfig.model_validate({"dns": {"enabled": False}}), ["example.co.jp"], history
        )
        loop = asyncio.new_event_loop()
        per_message: dict[str, list[float]] = defaultdict(list)
        ocr_mails: list[float] = []  # the 1% with a screenshot or a scanned page (read with OCR)
        profile = cProfile.Profile(time.process_time)  # CPU time: other processes do not count

        def one(raw: bytes, envelope: Envelope) -> list[str]:
            headers = flow.parse_headers(raw)
            extraction = extract_message(raw, config.extract)
            context = ScanContext(sender=envelope.mail_from, recipients=envelope.rcpt_tos)
            scan = scanner.scan(extraction.segments, context)
            ipc((raw, config.extract, context), (extraction, scan))
            assessed = loop.run_until_complete(assess_recipients(envelope, headers, ctx))
            facts = flow.Facts(len(raw), extraction.mime_defects, extraction, assessed, scan)
            policy.decide(envelope, facts)
            return [a.detected_type for a in extraction.attachments if not a.path]  # the mail's own files

        one(mails[0].data, Envelope(mails[0].sender, mails[0].rcpts))  # warm caches outside the figures
        # Pass 1, no profiler: the real CPU per message, by kind. Pass 2, profiled: how it splits.
        wall = time.perf_counter()
        for mail in mails:
            started = time.process_time()
            types = one(mail.data, Envelope(mail.sender, mail.rcpts))
            spent = time.process_time() - started
            per_message[kind_of(mail.kind, types)].append(spent)
            if mail.kind == "image":
                ocr_mails.append(spent)
        wall = time.perf_counter() - wall
        profile.enable()
        for mail in mails:
            one(mail.data, Envelope(mail.sender, mail.rcpts))
        profile.disable()
        loop.close()
        history.close()

    n = len(mails)
    stats = pstats.Stats(profile)
    cum: dict[tuple[str, str], float] = {}
    for (filename, _, name), (_, _, _, ct, _) in stats.stats.items():  # type: ignore[attr-defined]
        for _, _, entries in STAGES:
            for suffix, fn in entries:
                if filename.endswith(suffix) and name == fn:
                    cum[(suffix, fn)] = cum.get((suffix, fn), 0.0) + ct
    total = sum(sum(v) for v in per_message.values())
    profiled = stats.total_tt  # type: ignore[attr-defined]
    print(f"\n{n} messages, {total / n * 1000:.2f} ms CPU per message ({wall:.1f} s wall, one process)")
    if ocr_mails:
        rest = (total - sum(ocr_mails)) / (n - len(ocr_mails)) * 1000
        print(
            f"without the {len(ocr_mails)} mails with an image read by OCR: {rest:.2f} ms CPU per message "
            f"(those: {statistics.mean(ocr_mails) * 1000:.0f} ms each)"
        )
    print("stage figures: each stage's share of the profiled CPU, applied to the unprofiled CPU per message")
    print(f"\n{'stage':18} {'ms/message':>10} {'share':>6}  what")
    for stage, what, entries in STAGES:
        share = sum(cum.get(e, 0.0) for e in entries) / profiled
        print(f"{stage:18} {share * total / n * 1000:10.2f} {share:6.0%}  {what}")
    print(f"\n{'kind of message':28} {'messages':>8} {'ms mean':>8} {'ms p50':>7} {'ms max':>7} {'share of CPU':>12}")
    for kind, values in sorted(per_message.items(), key=lambda kv: -sum(kv[1])):
        ms = [v * 1000 for v in values]
        print(
            f"{kind:28} {len(ms):8d} {statistics.mean(ms):8.2f} {statistics.median(ms):7.2f} {max(ms):7.1f} "
            f"{sum(values) / total:12.0%}"
        )
    if args.top:
        print()
        stats.sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
