"""Whether two checkouts' fast stages find exactly the same: for speed work that must lose nothing.

    python -m bench.scan_same --against OLD_CHECKOUT [--fuzz 4000]

Each checkout, in a process of its own (its own scanner, corpora and generators), scans ~10,000
texts with the fast stage and writes every hit of `Scanner.find` (entity, span, score, value,
source), every finding of `Scanner.scan` (counts, records, masked samples, sources) and its
previews (`heads`, where the checkout has them), and for the generated texts every recognizer's
raw matches at any score. The texts: the per-form sets of
bench/accuracy.py for seeds 7 and 3, the address corpus and its benign mails, the unit corpus, the
5,572-row sheet, the bench mails, and generated texts of numbers, separators, dates, e-mail
addresses, context words, kana, kanji and digits of other scripts (a tenth of them as tables).
Prints how many texts differ and the first differences. The values stay in this process's memory
and the temporary files (removed at the end); they are generated, not personal data.
"""

from __future__ import annotations

import sys
from pathlib import Path

# `--tree DIR` (a child of --against): import from that checkout, not from this one.
_TREE = Path(sys.argv[sys.argv.index("--tree") + 1]) if "--tree" in sys.argv else Path(__file__).resolve().parents[1]
sys.path.insert(0, str(_TREE.resolve()))

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import unicodedata  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from typing import Any  # noqa: E402


def _generated(n: int, words: list[str]) -> Iterator[tuple[str, bool]]:
    g = random.Random(12345)

    def digits(k: int) -> str:
        return "".join(g.choice("0123456789") for _ in range(k))

    def number() -> str:
        r = g.random()
        if r < 0.15:
            return (
                g.choice(("0", "0", "(0", "+81 ", "+1 ")) + digits(g.randint(1, 4)) + g.choice("-. )・")
                + digits(g.randint(1, 4)) + g.choice("-. ") + digits(4)
            )  # fmt: skip
        if r < 0.25:
            year = g.choice(("19", "20", "S", "昭和", "H", "令和")) + str(g.randint(0, 99))
            month = g.choice(("/", "年", "-", ".")) + str(g.randint(0, 13))
            return year + month + g.choice(("/", "月", "-", ".")) + str(g.randint(0, 32)) + g.choice(("日", "", " "))
        if r < 0.3:
            return (
                g.choice(("taro", "a.b", "info", "x_y+z"))
                + "@"
                + g.choice(("gmail.com", "ex-ample.co.jp", "例え.テスト", "xn--abc.jp", "a.b"))
            )
        return digits(g.choice((1, 2, 3, 4, 4, 4, 7, 9, 11, 12, 16)))

    def char() -> str:
        lo, hi = g.choice(((0x3041, 0x30FA), (0x4E00, 0x9FFF), (0x41, 0x7A), (0x660, 0x669)))
        return chr(g.randint(lo, hi))

    for k in range(n):
        parts = []
        for _ in range(g.randint(3, 40)):
            r = g.random()
            parts.append(number() if r < 0.35 else g.choice(words) if r < 0.9 else char())
        yield "".join(parts), k % 10 == 0


WORDS = [
    "明治", "昭和", "平成", "令和", "大正", "Jan", "February", "Mar.", "Sep", "Dec",
    "M", "S", "H", "R", "T", "年", "月", "日", "東京都", "港区",
    "芝公園", "丁目", "番地", "号", "の", "さいたま市", "大宮区", "北3条西", "上る", "ビル",
    "201号室", "普通", "当座", "口座", "〒", "+81", "+1", "+44", "(", ")",
    "-", ".", "/", "・", ":", "：", "@", "example.com", "gmail.com", "DE89",
    "IBAN", "Mr.", "Dr", "山田太郎", "佐藤", "様", "フリガナ", "氏名", "株式会社", "SSN",
    "078-05-1120", "CVV", "TEL", "090", "03", "0120", "5", "12", "2024", "1985",
    "١٢٣", "٤٥٦٧", "①", "²", "ｶﾀｶﾅ", "ー", "‐", "ヶ", " ", "\n",
    "\t", "\u3000", "John Smith", "Tanaka Taro", "ヤマダ タロウ", "exp 01/30", "GB29 NWBK",
]  # fmt: skip


def dump(path: Path, fuzz: int) -> None:
    """Every hit and finding of this checkout's fast stage, one JSON line per text."""
    import gateway.scan.offline  # noqa: F401  (before presidio)
    from bench.scan import japanese_mail
    from gateway.content import Segment
    from gateway.scan import ScanConfig, ScanContext
    from gateway.scan.engine import Scanner
    from tests.unit.scan import address_corpus
    from tests.unit.scan.corpus import bulk_sheet, corpus
    from tests.unit.scan.evaluate import context
    from tests.unit.scan.forms import form_sets

    scanner = Scanner(ScanConfig(ner_window_chars=0))
    out = path.open("w", encoding="utf-8")

    def hit(h: Any) -> list[Any]:
        return [h.entity, h.start, h.end, round(h.score, 6), h.value, h.source]

    def emit(tag: str, segments: list[Any], ctx: Any) -> None:
        found = [[i, hit(h), q] for i, h, q in scanner.find(segments, ctx)]
        res = scanner.scan(segments, ctx)
        findings = sorted(
            [f.entity, f.count, f.distinct, f.records, round(f.score, 6), list(f.samples), f.row, f.quoted,
             list(f.sources)]
            for f in res.findings
        )  # fmt: skip
        heads = sorted(getattr(res, "heads", {}).items())  # the masked previews, where the checkout has them
        out.write(json.dumps([tag, found, findings, res.records, heads], ensure_ascii=False) + "\n")

    for seed in (7, 3):
        for fs in form_sets(seed, 40):
            for k, sample in enumerate(fs.samples):
                emit(f"forms {seed} {fs.name} {k}", [sample.segment()], context())
        for k, a in enumerate(address_corpus.positives(seed, 20)):
            emit(f"addresses {seed} {k}", [Segment(text=a.body, kind="body")], ScanContext())
        mails, org = address_corpus.benign(seed)
        own = ScanContext(sender="taro.yamada@sakura-shoji.co.jp", own_addresses=(org.address,))
        for k, body in enumerate([*mails, *address_corpus.PLACE_NAMES]):
            emit(f"address benign {seed} {k}", [Segment(text=body, kind="body")], own)
        for k, sample in enumerate(corpus(seed, 20)):
            emit(f"corpus {seed} {k}", [sample.segment()], context())
    emit("sheet", [bulk_sheet().segment()], context())
    for size in (1024, 5120, 10240):
        emit(f"mail {size}", [Segment(text=japanese_mail(size), kind="body")], context())
    words = sorted({w for r in scanner.recognizers for w in (*r.CONTEXT, *r.ANTI_CONTEXT)}) + WORDS
    for k, (text, table) in enumerate(_generated(fuzz, words)):
        if table:
            lines = ("氏名\t電話\t住所\n" + text.replace(" ", "\t")).split("\n")
            offsets, pos = [], len(lines[0]) + 1
            for line in lines[1:]:
                offsets.append(pos)
                pos += len(line) + 1
            seg = Segment(text="\n".join(lines), kind="table", attachment="l.xlsx", sheet="S",
                          header=tuple(lines[0].split("\t")), row_offsets=tuple(offsets), first_row=2)  # fmt: skip
        else:
            seg = Segment(text=text, kind="body")
        emit(f"generated {k}", [seg], context())
        norm = unicodedata.normalize("NFKC", seg.text)
        raw = [[type(r).__name__, [hit(h) for h in r.find(norm, None, table=table)]] for r in scanner.recognizers]
        out.write(json.dumps([f"generated {k} raw", raw], ensure_ascii=False) + "\n")
    out.close()


def child(tree: Path, path: Path, fuzz: int) -> None:
    env = dict(os.environ, PYTHONPATH=str(tree))
    subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--tree", str(tree), "--out", str(path), "--fuzz", str(fuzz)],
        cwd=tree, env=env, check=True,
    )  # fmt: skip


def main() -> None:
    logging.disable(logging.WARNING)
    ap = argparse.ArgumentParser()
    ap.add_argument("--against", type=Path, help="the other checkout")
    ap.add_argument("--fuzz", type=int, default=4000, help="generated texts")
    ap.add_argument("--tree", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.out is not None:
        dump(args.out, args.fuzz)
        return
    if args.against is None:
        ap.error("--against OLD_CHECKOUT is needed")
    new = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        a, b = Path(tmp) / "old.jsonl", Path(tmp) / "new.jsonl"
        child(args.against.resolve(), a, args.fuzz)
        child(new, b, args.fuzz)
        old_lines = a.read_text(encoding="utf-8").splitlines()
        new_lines = b.read_text(encoding="utf-8").splitlines()
    differ = [(x, y) for x, y in zip(old_lines, new_lines, strict=False) if x != y]
    print(f"{len(old_lines)} / {len(new_lines)} lines (old / new), {len(differ)} differ")
    for x, y in differ[:5]:
        print(f"  old: {x[:300]}\n  new: {y[:300]}")
    if differ or len(old_lines) != len(new_lines):
        sys.exit(1)


if __name__ == "__main__":
    main()
