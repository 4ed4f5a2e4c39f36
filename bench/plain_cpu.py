"""CPU of an inspection worker per plain mail: the worker's own loop (gateway.inspection.child), in this
process, fed through a pipe stand-in that pickles as multiprocessing does.

    PYTHONPATH=CHECKOUT python bench/plain_cpu.py [--messages 200] [--rounds 3] [--profile N]

Two sets of plain mail (no attachment, 2-10 KB of Japanese prose, base64 UTF-8 as the load mix):
- `mix`: the plain mails of the e2e load mix (tests/support/load.py, seed 7). Its prose repeats 14
  stock sentences, so every per-line cache (the names' piece cache) hits on nearly every line;
- `fresh`: the same shape of mail whose every line is new: clauses of those sentences recombined
  with products, quantities, dates and prices drawn at random, so no line repeats across the set
  (each round draws a set of its own: lines seen in an earlier round would come from the caches).
- `xlines` (with --sets mix,fresh,xlines): bench/relay_throughput.py's 5 KB "shipped" load, lines of X.
Each round sends every mail of a set once (after one warm-up mail) and reads the worker's CPU per
message (`time.process_time` from one request to the next: unpickling the request, extraction, the
scan, previews, pickling both answers). Printed: the mean CPU ms per message of each round and the
median over rounds; with --profile N, the N functions with the most own time on each set.
The PYTHONPATH decides which checkout's gateway runs, so two trees can be compared in alternation.
"""

from __future__ import annotations

import argparse
import cProfile
import pickle
import pstats
import random
import re
import statistics
import time
from email.mime.text import MIMEText
from email.utils import formatdate

from gateway.config import Config
from gateway.extract.ocr import DEFER
from gateway.inspection import child
from gateway.scan.model import ScanContext
from tests.support.load import PARTNERS, PRODUCTS, SENTENCES, company_of, corpus

_CLAUSE = re.compile(r"[^、。]+[、。]")


def fresh_mails(count: int, seed: int = 11) -> list[tuple[bytes, str, tuple[str, ...]]]:
    """Plain mails like the mix's, each line new: clauses recombined, numbers and products drawn."""
    rng = random.Random(seed)
    clauses = [c for s in SENTENCES for c in _CLAUSE.findall(s)]
    heads = [c for c in clauses if c.endswith("、")]
    tails = [c for c in clauses if c.endswith("。")]

    def date() -> str:
        return f"{rng.randint(1, 12)}月{rng.randint(1, 28)}日"

    extras = [
        lambda: f"{rng.choice(PRODUCTS)}を{rng.randint(2, 900)}個、{date()}までに手配いたします。",
        lambda: f"{rng.choice(PRODUCTS)}の単価は{rng.randint(1, 99) * 10}円（税抜）でございます。",
        lambda: f"第{rng.randint(1, 4)}四半期の実績は前年比{rng.randint(80, 130)}パーセントでした。",
        lambda: f"{date()}の{rng.randint(9, 17)}時より、{rng.choice(PRODUCTS)}の件でご相談させてください。",
    ]
    out = []
    for i in range(count):
        partner = rng.choice(PARTNERS)
        lines = [company_of(partner), "営業部 ご担当者様", ""]
        size = rng.randint(1536, 7680)
        while sum(len(line.encode()) + 2 for line in lines) < size:
            parts = []
            for _ in range(rng.randint(1, 3)):
                parts.append(rng.choice(heads) + rng.choice(tails) if rng.random() < 0.5 else rng.choice(extras)())
            lines.append("".join(parts))
        text = "\r\n".join([*lines, "", "--", "株式会社サンプル 営業部"]) + "\r\n"
        sender = f"user{rng.randint(1, 50)}@example.co.jp"
        rcpts = tuple(f"staff{rng.randint(1, 9)}@{partner}" for _ in range(rng.randint(1, 2)))
        mime = MIMEText(text, "plain", "utf-8")
        mime["From"], mime["To"], mime["Subject"] = sender, ", ".join(rcpts), f"fresh-{i:06d} 打ち合わせの件"
        mime["Date"] = formatdate(localtime=True)
        mime["Message-ID"] = f"<fresh-{i:06d}@example.co.jp>"
        data = mime.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        out.append((data, sender, rcpts))
    return out


def x_mails(count: int, size: int = 5120) -> list[tuple[bytes, str, tuple[str, ...]]]:
    """bench/relay_throughput.py's load: smtp-source's messages, a few header fields and lines of X, each
    led by its line number's last digit (as smtp-source writes them)."""
    out = []
    lines = b"".join(b"%d" % ((n + 1) % 10) + b"X" * 78 + b"\r\n" for n in range(size // 80 - 1))
    for i in range(count):
        head = f"From: <foo@example.com>\r\nTo: <bar@example.net>\r\nMessage-Id: <{i}@example.com>\r\n\r\n"
        out.append((head.encode() + lines + b"X" * 80 + b"\r\n", "foo@example.com", ("bar@example.net",)))
    return out


def mix_mails(count: int) -> list[tuple[bytes, str, tuple[str, ...]]]:
    mails = [m for m in corpus(count * 2, seed=7) if m.kind == "plain"]
    return [(m.data, m.sender, m.rcpts) for m in mails[:count]]


class _Pipe:
    """The worker's end of the pipe: requests come unpickled, answers are pickled (as Connection does).
    The CPU of each request is read when the worker asks for the next one."""

    def __init__(self, requests: list[object], profile: cProfile.Profile | None = None) -> None:
        self.profile = profile
        self.requests = [pickle.dumps(r, protocol=pickle.HIGHEST_PROTOCOL) for r in requests]
        self.at = 0
        self.cpu: list[float] = []
        self.started = 0.0
        self.sent = 0

    def recv(self) -> object:
        now = time.process_time()
        if self.at:
            self.cpu.append(now - self.started)
        if self.at == 1 and self.profile is not None:  # the models loaded and the warm-up mail read
            self.profile.enable()
        if self.at == len(self.requests):
            if self.profile is not None:
                self.profile.disable()
            return None
        self.started = now
        self.at += 1
        return pickle.loads(self.requests[self.at - 1])

    def send(self, obj: object) -> None:
        self.sent += len(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--profile", type=int, default=0, help="print the N functions with the most own time")
    ap.add_argument("--sets", default="mix,fresh")
    args = ap.parse_args()
    config = Config()
    mix = mix_mails(args.messages)
    # as the pool sends them (a checkout from before pickled_limits: the object)
    limits = getattr(child, "pickled_limits", lambda limits: limits)(config.extract)
    requests: list[object] = [(child.INSPECT, mix[0][0], limits, ScanContext(), DEFER)]
    order: list[tuple[str, int]] = []
    for round_ in range(args.rounds):
        for name in args.sets.split(","):
            if name == "xlines":
                mails = x_mails(args.messages)
            else:
                mails = mix if name == "mix" else fresh_mails(args.messages, seed=11 + round_)
            for raw, sender, rcpts in mails:
                ctx = ScanContext(sender=sender, recipients=tuple(rcpts), internal_domains=("example.co.jp",))
                requests.append((child.INSPECT, raw, limits, ctx, DEFER))
            order.append((name, len(mails)))
    profile = cProfile.Profile(time.process_time) if args.profile else None
    pipe = _Pipe(requests, profile)
    child._serve(
        pipe,  # type: ignore[arg-type]
        config.scan.model_dump_json(),
        config.inspection.memory_bytes,
        0,
        child.MAIN,
        config.inspection.quoted_cache_entries,
    )
    cpu = pipe.cpu[1:]  # the warm-up mail aside
    per_set: dict[str, list[float]] = {}
    at = 0
    for name, n in order:
        per_set.setdefault(name, []).append(sum(cpu[at : at + n]) / n * 1000)
        at += n
    for name, rounds in per_set.items():
        print(
            f"{name:6s} CPU ms/message: median {statistics.median(rounds):.3f}  rounds "
            + " ".join(f"{r:.3f}" for r in rounds)
        )
    print(f"pickled answers: {pipe.sent / (len(requests) - 1) / 1024:.1f} KB per message")
    if profile is not None:
        pstats.Stats(profile).sort_stats("tottime").print_stats(args.profile)


if __name__ == "__main__":
    main()
