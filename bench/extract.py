"""Extraction benchmark: time and peak memory for the cases of issue 3.

    python bench/extract.py
    python bench/extract.py --plain [--against DIR]
    python bench/extract.py --files FOLDER [--against DIR]

--plain: CPU per plain 5 KB Japanese mail (text/plain, and the same text as multipart/alternative
with an HTML part, the shape most clients send), extraction alone and extraction + scan (shipped
scan defaults), in this process, median of 7 rounds of 200 messages. With --against DIR the same
measurement runs, round by round, in a child process on the checkout in DIR (e.g. `git archive main`
unpacked), so the two figures share the machine's load; the ratio is this tree / DIR.

--files FOLDER: every file in FOLDER (Office files, PDFs ...) as the one attachment of a short mail,
extracted in-process with the shipped limits (OCR in this process): CPU per file (median of 3 rounds),
the pictures read with OCR and skipped by size, and the UNSCANNABLE reasons; with --against DIR the
same files, round by round, on the other checkout.

Cases: an .xlsx of 5,572 rows x 4 columns (the iDeCo leak), a 10 MB PDF, a message with 100
attachments, and two zip bombs (nested 42.zip shape, overlapping entries). Each runs in-process
(best of 3 wall time) and in an inspection worker (gateway.inspection, Sudachi only: wall time of
extraction, its CPU time, and the worker's peak RSS, models included).
The baseline is the same in-process parse of the raw message with the stdlib email parser alone,
so the ratio says what reading the content costs on top of parsing the MIME. Figures only: the
goals (sheet < 0.5 s; bombs < 2 s and < 256 MB) are reported, never asserted.
"""

from __future__ import annotations

import email
import sys
import time
from email.policy import compat32
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "unit" / "extract"))

from extract_fixtures import (
    attach,
    mail,
    overlap_bomb,
    pdf_of_size,
    with_attachment,
    xlsx,
    zip_bomb_deep,
)

from gateway.config.inspection import InspectionConfig
from gateway.extract import ExtractLimits, extract_message
from gateway.inspection.pool import InspectPool
from gateway.scan import ScanConfig

MiB = 1024 * 1024


def _xlsx_5572() -> bytes:
    import io

    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet("明細")
    ws.write_row(0, 0, ["氏名", "メールアドレス", "申込番号", "ステータス"])
    for i in range(5572):
        ws.write_row(i + 1, 0, [f"山田 太郎{i}", f"user{i}@example.jp", f"A{100000 + i}", "受付済"])
    wb.close()
    return buf.getvalue()


def _hundred() -> bytes:
    m = mail("100 files")
    for i in range(100):
        data = f"氏名,電話\n山田{i},090-0000-{i:04d}\n".encode("cp932") if i % 2 else xlsx(20)
        attach(m, data, f"file{i}.{'csv' if i % 2 else 'xlsx'}")
    return m.as_bytes()


def _best(fn, n: int = 3) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(n):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def _plain_mails() -> list[tuple[str, bytes]]:
    from email.mime.multipart import MIMEMultipart
    from email.mime.text import MIMEText

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from inspect_pool import plain_mail

    m = MIMEMultipart("alternative")
    m["From"] = "taro.yamada@example.co.jp"
    m["To"] = "tanaka@partner.co.jp"
    m["Subject"] = "ご依頼の件"
    plain = email.message_from_bytes(plain_mail(), policy=compat32).get_payload(0).get_payload(decode=True)
    plain_text = plain.decode("utf-8")
    m.attach(MIMEText(plain_text, "plain", "utf-8"))
    html = (
        "<html><head><style>p{margin:0}</style></head><body>"
        + "".join(f"<p>{line}</p>" for line in plain_text.splitlines())
        + '<p><img src="cid:logo" alt="logo" title="Example"></p></body></html>'
    )
    m.attach(MIMEText(html, "html", "utf-8"))
    return [("plain 5 KB text/plain", plain_mail()), ("plain 5 KB text+html", m.as_bytes())]


_CHILD = """
import sys, time, statistics, json
sys.path.insert(0, sys.argv[1])
from gateway.extract import extract_message
from gateway.scan import ScanConfig, ScanContext
from gateway.scan.engine import Scanner
scanner = Scanner(ScanConfig())
ctx = ScanContext(sender="taro.yamada@example.co.jp", recipients=("tanaka@partner.co.jp",),
                  internal_domains=("example.co.jp",))
raws = [bytes.fromhex(h) for h in json.loads(sys.stdin.readline())]
for raw in raws:  # warm up
    for _ in range(20):
        scanner.scan(extract_message(raw).segments, ctx)
print("ready", flush=True)
for line in sys.stdin:
    out = []
    for raw in raws:
        t = time.process_time()
        for _ in range(200):
            extract_message(raw)
        ex = (time.process_time() - t) / 200
        t = time.process_time()
        for _ in range(200):
            scanner.scan(extract_message(raw).segments, ctx)
        both = (time.process_time() - t) / 200
        out.append((ex, both))
    print(json.dumps(out), flush=True)
"""


def plain(against: str | None) -> None:
    """CPU per plain mail, this tree and (optionally) another checkout, interleaved round by round."""
    import json
    import statistics
    import subprocess

    mails = _plain_mails()
    trees = [("this tree", str(Path(__file__).resolve().parents[1]))]
    if against:
        trees.append((f"{against}", str(Path(against).resolve())))
    procs = []
    for _, root in trees:
        p = subprocess.Popen(
            [sys.executable, "-c", _CHILD, root], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert p.stdin is not None and p.stdout is not None
        p.stdin.write(json.dumps([raw.hex() for _, raw in mails]) + "\n")
        p.stdin.flush()
        assert p.stdout.readline().strip() == "ready"
        procs.append(p)
    rounds: list[list[list[tuple[float, float]]]] = [[] for _ in trees]
    for _ in range(7):
        for i, p in enumerate(procs):
            assert p.stdin is not None and p.stdout is not None
            p.stdin.write("go\n")
            p.stdin.flush()
            rounds[i].append(json.loads(p.stdout.readline()))
    for p in procs:
        assert p.stdin is not None
        p.stdin.close()
        p.wait()
    print(f"{'case':26} {'tree':28} {'extract ms':>10} {'extract+scan ms':>16} {'ratio':>6}")
    for m, (name, _) in enumerate(mails):
        medians = []
        for i, (label, _) in enumerate(trees):
            ex = statistics.median(r[m][0] for r in rounds[i]) * 1000
            both = statistics.median(r[m][1] for r in rounds[i]) * 1000
            medians.append(both)
            ratio = f"{medians[0] / both:6.2f}" if i else ""
            print(f"{name:26} {label[-28:]:28} {ex:10.3f} {both:16.3f} {ratio}")


_FILES_CHILD = """
import sys, time, json
sys.path.insert(0, sys.argv[1])
sys.path.insert(0, sys.argv[1] + "/tests/unit/extract")
from extract_fixtures import with_attachment
from gateway.extract import extract_message
files = json.loads(sys.stdin.readline())
raws = [(name, with_attachment(open(path, "rb").read(), name)) for name, path in files]
for _, raw in raws:
    extract_message(raw)  # warm up (Tesseract loads on the first picture)
print("ready", flush=True)
for line in sys.stdin:
    out = []
    for name, raw in raws:
        t = time.process_time()
        x = extract_message(raw)
        cpu = time.process_time() - t
        reasons = sorted({f.reason for f in x.findings})
        out.append([name, cpu, x.stats.get("ocr_images", 0), x.stats.get("ocr_skipped", 0), reasons])
    print(json.dumps(out), flush=True)
"""


def files(folder: str, against: str | None) -> None:
    """Extraction CPU of every file in `folder`, this tree and (optionally) another, round by round."""
    import json
    import statistics
    import subprocess

    paths = sorted(p for p in Path(folder).iterdir() if p.is_file())
    trees = [("this tree", str(Path(__file__).resolve().parents[1]))]
    if against:
        trees.append((against, str(Path(against).resolve())))
    procs = []
    for _, root in trees:
        p = subprocess.Popen(
            [sys.executable, "-c", _FILES_CHILD, root], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert p.stdin is not None and p.stdout is not None
        p.stdin.write(json.dumps([(path.name, str(path)) for path in paths]) + "\n")
        p.stdin.flush()
        assert p.stdout.readline().strip() == "ready"
        procs.append(p)
    rounds: list[list[list[list[object]]]] = [[] for _ in trees]
    for _ in range(3):
        for i, p in enumerate(procs):
            assert p.stdin is not None and p.stdout is not None
            p.stdin.write("go\n")
            p.stdin.flush()
            rounds[i].append(json.loads(p.stdout.readline()))
    for p in procs:
        assert p.stdin is not None
        p.stdin.close()
        p.wait()
    print(f"{len(paths)} files in {folder}")
    print(f"{'tree':40} {'CPU s, all':>10} {'ms/file p50':>11} {'ms max':>8} {'OCR read':>8} {'skipped':>8}  reasons")
    for i, (label, _) in enumerate(trees):
        per_file = [statistics.median(float(r[k][1]) for r in rounds[i]) for k in range(len(paths))]  # type: ignore[arg-type]
        last = rounds[i][-1]
        reasons = sorted({reason for row in last for reason in row[4]})  # type: ignore[attr-defined]
        print(
            f"{label[-40:]:40} {sum(per_file):10.2f} {statistics.median(per_file) * 1000:11.1f} "
            f"{max(per_file) * 1000:8.1f} {sum(int(row[2]) for row in last):8d} "  # type: ignore[call-overload]
            f"{sum(int(row[3]) for row in last):8d}  {', '.join(reasons) or '-'}"  # type: ignore[call-overload]
        )


def main() -> None:
    if "--files" in sys.argv:
        against = sys.argv[sys.argv.index("--against") + 1] if "--against" in sys.argv else None
        files(sys.argv[sys.argv.index("--files") + 1], against)
        return
    if "--plain" in sys.argv:
        against = sys.argv[sys.argv.index("--against") + 1] if "--against" in sys.argv else None
        plain(against)
        return
    limits = ExtractLimits()
    cases = [
        ("xlsx 5,572 rows x 4 cols", with_attachment(_xlsx_5572(), "申込者一覧.xlsx")),
        ("pdf 10 MB (200 pages)", with_attachment(pdf_of_size(10 * MiB), "report.pdf")),
        ("100 attachments", _hundred()),
        ("zip bomb, nested 3x4 of 50 MB", with_attachment(zip_bomb_deep(3, 50 * MiB), "42.zip")),
        ("zip bomb, overlapping entries", with_attachment(overlap_bomb(1 << 20, 2000), "overlap.zip")),
    ]
    pool = InspectPool(ScanConfig(ner_window_chars=0), InspectionConfig(workers=1))
    pool.start_sync()
    print(
        f"{'case':34} {'raw MB':>7} {'parse s':>8} {'in-proc s':>9} {'ratio':>7} "
        f"{'worker s':>9} {'cpu s':>6} {'peak MB':>8}  result"
    )
    for name, raw in cases:
        base = _best(lambda raw=raw: email.message_from_bytes(raw, policy=compat32))
        inproc = _best(lambda raw=raw: extract_message(raw, limits))
        x, scan = pool.inspect_sync(raw, limits)
        worker = x.stats.get("wall_seconds", 0.0)
        found = sorted({f.reason for f in x.findings}) or ["ok"]
        rows = sum(s.rows for s in x.segments)
        print(
            f"{name:34} {len(raw) / MiB:7.1f} {base:8.3f} {inproc:9.3f} {inproc / max(base, 1e-6):7.1f} "
            f"{worker:9.3f} {x.stats.get('cpu_seconds', 0):6.2f} {scan.stats.get('peak_rss_bytes', 0) / MiB:8.0f}"
            f"  {','.join(found)}; {len(x.segments)} segments, {rows} rows"
        )
    pool.close_sync()


if __name__ == "__main__":
    main()
