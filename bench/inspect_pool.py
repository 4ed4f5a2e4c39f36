"""Inspection pool throughput: messages per second through extraction + scan in worker processes.

    python bench/inspect_pool.py [--quick] [--fast]

(Not bench/inspect.py: a script directory comes first on sys.path, and a file named inspect.py there
would shadow the standard library's `inspect` for every script in bench/.)

Two kinds of mail: a plain 5 KB Japanese mail (names, phone numbers, addresses in running text) and
a mail with a 100 KB .xlsx attachment (a list of people). Each goes through gateway.inspection'
InspectPool with 1 and 2 workers, many requests in flight from one event loop (as the pipeline
does), and the figure is messages per second over the whole batch. Beside it, the baseline: the
same extract_message + Scanner.scan run in this process, one after the other, with no worker and no
limits. A third kind, a short reply quoting the plain mail, shows the quoted-reply cache of the
workers (the in-process baseline has none). The ratio pool / in-process shows what the worker costs
(IPC and pickling) and what a second worker gains on this machine's cores. Also printed: the
parent's CPU per message (what the event loop's process pays), the workers' CPU per message (from
/proc) and each worker's peak RSS (VmHWM, models included).

The scanner runs with the shipped defaults (GiNZA in the NER window); --fast sets
scan.ner_window_chars 0 (Sudachi only). Figures only: nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import os
import sys
import time
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.config.inspection import InspectionConfig
from gateway.extract import ExtractLimits, extract_message
from gateway.inspection.pool import InspectPool, peak_rss_bytes
from gateway.scan import ScanConfig, ScanContext

MiB = 1024 * 1024
CONTEXT = ScanContext(
    sender="taro.yamada@example.co.jp", recipients=("tanaka@partner.co.jp",), internal_domains=("example.co.jp",)
)
PARAGRAPH = (
    "お世話になっております。先日ご依頼いただいた件につき、下記の通りご連絡いたします。"
    "ご担当の高橋一郎様(携帯 090-1234-5678、メール ichiro.t@gmail.com)より、"
    "〒150-0001 東京都渋谷区神宮前1-2-3 宛てに書類を送付したとのことです。"
    "納期は2025年7月10日、注文番号 123-4567 の件も併せてご確認ください。\n"
)
SURNAMES = ["山田", "鈴木", "高橋", "田中", "伊藤", "渡辺", "中村", "小林", "加藤", "吉田"]
GIVEN = ["太郎", "花子", "一郎", "美咲", "健太", "直子", "翔", "由美", "大輔", "恵"]


def _mail(body: str) -> MIMEMultipart:
    m = MIMEMultipart()
    m["From"] = "taro.yamada@example.co.jp"
    m["To"] = "tanaka@partner.co.jp"
    m["Subject"] = "ご依頼の件"
    m.attach(MIMEText(body, "plain", "utf-8"))
    return m


def plain_mail(size: int = 5 * 1024) -> bytes:
    text = ""
    while len(text.encode()) < size:
        text += PARAGRAPH
    return _mail(text.encode()[:size].decode(errors="ignore")).as_bytes()


def reply_mail(size: int = 5 * 1024) -> bytes:
    """A short reply quoting a plain mail of `size` bytes ('>' lines): the same quote every time, as in
    the replies of several people to one mail (the quoted-reply cache reuses its findings)."""
    text = ""
    while len(text.encode()) < size:
        text += PARAGRAPH
    quote = "".join(f"> {line}\n" for line in text.encode()[:size].decode(errors="ignore").splitlines())
    return _mail(f"承知しました。当日はよろしくお願いいたします。\n\n山田様 wrote:\n{quote}").as_bytes()


def _worker_cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _xlsx(rows: int) -> bytes:
    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet("申込者")
    ws.write_row(0, 0, ["氏名", "メールアドレス", "電話番号", "住所", "申込番号"])
    for i in range(rows):
        name = f"{SURNAMES[i % 10]} {GIVEN[(i // 10) % 10]}"
        phone = f"090-{1000 + i % 9000:04d}-{i % 10000:04d}"
        ws.write_row(i + 1, 0, [name, f"user{i}@example.jp", phone, f"東京都港区芝{i % 9 + 1}-{i}", f"A{i:06d}"])
    wb.close()
    return buf.getvalue()


def xlsx_mail(target: int = 100 * 1024) -> tuple[bytes, int]:
    """A mail with an .xlsx of about `target` bytes; (raw, rows)."""
    rows = 500
    while len(_xlsx(rows)) < target:
        rows += 250
    m = _mail("申込者一覧をお送りします。")
    part = MIMEApplication(_xlsx(rows), "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    part.add_header("Content-Disposition", "attachment", filename="申込者一覧.xlsx")
    m.attach(part)
    return m.as_bytes(), rows


def in_process(raw: bytes, n: int, scan: ScanConfig) -> float:
    """Baseline: extract + scan in this process, n times; messages per second."""
    from gateway.scan.engine import Scanner

    scanner = Scanner(scan)
    limits = ExtractLimits()
    scanner.scan(extract_message(raw, limits).segments, CONTEXT)  # warm
    t = time.perf_counter()
    for _ in range(n):
        scanner.scan(extract_message(raw, limits).segments, CONTEXT)
    return n / (time.perf_counter() - t)


async def through_pool(pool: InspectPool, raw: bytes, n: int) -> tuple[float, float, float, set[str]]:
    """n messages, all in flight at once (the pool queues them); (msg/s, parent CPU ms/msg, workers'
    CPU ms/msg, entities)."""
    limits = ExtractLimits()
    await asyncio.gather(*(pool.inspect(raw, limits, CONTEXT) for _ in range(2 * pool.size)))  # warm
    pids = pool.worker_pids()
    cpu, t, workers = time.process_time(), time.perf_counter(), _worker_cpu(pids)
    results = await asyncio.gather(*(pool.inspect(raw, limits, CONTEXT) for _ in range(n)))
    wall, cpu = time.perf_counter() - t, time.process_time() - cpu
    workers = _worker_cpu(pids) - workers
    unscannable = [f for x, s in results for f in (*x.unscannable, *s.unscannable)]
    if unscannable:
        raise SystemExit(f"unexpected UNSCANNABLE findings: {unscannable[:3]}")
    return n / wall, cpu * 1000 / n, workers * 1000 / n, results[0][1].entities()


async def bench_pool(workers: int, cases: list[tuple[str, bytes, int]], scan: ScanConfig) -> dict[str, float]:
    rates: dict[str, float] = {}
    async with InspectPool(scan, InspectionConfig(workers=workers)) as pool:
        for name, raw, n in cases:
            rate, parent_ms, workers_ms, entities = await through_pool(pool, raw, n)
            rates[name] = rate
            print(
                f"  {workers} worker(s)  {name:22} {rate:8.1f} msg/s   parent CPU {parent_ms:5.2f} ms/msg   "
                f"workers CPU {workers_ms:5.2f} ms/msg   found {','.join(sorted(entities))}"
            )
        rss = [peak_rss_bytes(pid) / MiB for pid in pool.worker_pids()]
        print(f"  {workers} worker(s)  peak RSS per worker: {', '.join(f'{r:.0f} MB' for r in rss)}")
    return rates


def main() -> None:
    logging.disable(logging.WARNING)
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer messages")
    ap.add_argument("--fast", action="store_true", help="scan.ner_window_chars 0 (no GiNZA)")
    args = ap.parse_args()
    scan = ScanConfig(ner_window_chars=0) if args.fast else ScanConfig()
    n_plain, n_xlsx = (100, 20) if args.quick else (400, 60)

    plain = plain_mail()
    xlsx, rows = xlsx_mail()
    cases = [
        ("plain 5 KB Japanese", plain, n_plain),
        ("reply quoting 5 KB", reply_mail(), n_plain),
        ("100 KB xlsx attachment", xlsx, n_xlsx),
    ]
    print(
        f"inspect bench: {os.cpu_count()} cores; plain mail {len(plain) / 1024:.1f} KB, "
        f"xlsx mail {len(xlsx) / 1024:.0f} KB ({rows} rows); NER {'off' if args.fast else 'on (ja_ginza)'}"
    )
    print("baseline: extract_message + Scanner.scan in this process (no worker, no limits):")
    base = {name: in_process(raw, max(10, n // 4), scan) for name, raw, n in cases}
    for name, rate in base.items():
        print(f"  in-process  {name:22} {rate:8.1f} msg/s")
    print("InspectPool (spawned workers, models loaded once, one pipe round trip per message):")
    pooled = {w: asyncio.run(bench_pool(w, cases, scan)) for w in (1, 2)}
    print("ratio pool / in-process:")
    for name, _, _ in cases:
        print(
            f"  {name:22} 1 worker {pooled[1][name] / base[name]:5.2f}x   "
            f"2 workers {pooled[2][name] / base[name]:5.2f}x"
        )


if __name__ == "__main__":
    main()
