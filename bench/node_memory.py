"""Memory of a node: peak RSS of each process of `gateway run`, with and without the OCR lane started.

    python -m bench.node_memory [--plain 200] [--workers 2]

Starts `gateway run` as a default node (one process for receive, pipeline and delivery; two inspection
workers with the shipped scan settings, GiNZA included; the shipped rules), sends `--plain` plain mails,
then one mail with a screenshot of a 20-row table (which starts the OCR lane's worker), then `--plain`
plain mails again. Printed: each process's peak RSS (VmHWM) by role (the first process, gw-inspect,
gw-ocr, ...) and the largest sum of the tree's current RSS sampled every 0.25 s (as bench/e2e.py counts
the node's peak RSS), before the image and after it. Shared pages count in every process that maps
them, as RSS counts them. Figures only.
"""

from __future__ import annotations

import argparse
import smtplib
import sys
import tempfile
import threading
import time
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.e2e import rss_mb, start_gateway, tree  # noqa: E402
from bench.relay_throughput import _comm  # noqa: E402
from gateway.inspection.pool import peak_rss_bytes  # noqa: E402
from tests.support import images  # noqa: E402
from tests.support.load import SmtpSink  # noqa: E402


def plain(i: int) -> EmailMessage:
    m = EmailMessage()
    m["From"] = "taro@example.co.jp"
    m["To"] = "partner@partner.example"
    m["Subject"] = f"会議の件 {i}"
    m.set_content("明日の会議は10時からです。資料は後ほどお送りします。\n" * 60)
    return m


def screenshot() -> EmailMessage:
    m = plain(-1)
    shot = images.encode(images.table_image(images.people(20, seed=3)))
    m.add_attachment(shot, maintype="image", subtype="png", filename="list.png")
    return m


def send(port: int, messages: list[EmailMessage]) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=120) as client:
        for m in messages:
            client.send_message(m)


def report(label: str, root: int, peak_sum: float) -> None:
    by_role: dict[str, list[float]] = {}
    for pid in tree(root):
        role = "first" if pid == root else _comm(pid).removeprefix("gw-")
        by_role.setdefault(role, []).append(peak_rss_bytes(pid) / 2**20)
    roles = ", ".join(f"{r} {' + '.join(f'{mb:.0f}' for mb in sorted(v))}" for r, v in sorted(by_role.items()))
    print(f"{label}: peak RSS per process (MB): {roles}; largest sampled sum of RSS {peak_sum:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--plain", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gw-mem-") as tmp, SmtpSink() as sink:
        gw = start_gateway(Path(tmp), sink.port, "sqlite", inspection={"workers": args.workers})
        peak = [0.0]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], rss_mb(gw.process.pid))
                time.sleep(0.25)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            time.sleep(2)
            send(gw.port, [plain(i) for i in range(args.plain)])
            time.sleep(3)
            report("plain mail only", gw.process.pid, peak[0])
            send(gw.port, [screenshot()])
            send(gw.port, [plain(i) for i in range(args.plain)])
            time.sleep(15)  # the OCR lane's worker starts and reads the image
            report("with the OCR lane", gw.process.pid, peak[0])
        finally:
            done.set()
            gw.stop()


if __name__ == "__main__":
    main()
