"""CPU of one SMTP receive process per message, alone: no first process, no delivery, no inspection.

One process runs start_smtp_server with the durable SQLite store and group commit (as a node's smtp
part does); Postfix's smtp-source sends 5 KB messages over 10 sessions, a connection per message.
The figure is the receive process's CPU (utime + stime, /proc) over the load, per message: steadier
than the relay bench's role figures when the machine is shared, for A/B runs of gateway/smtp and the
store's accept path. Alternate the two trees being compared and take medians.

    PYTHONPATH=$PWD python -m bench.receive_cpu [--messages 5000] [--size 5120] [--profile FILE]

--profile writes py-spy raw samples of the receive process (GIL-holding) during the load.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from multiprocessing.synchronize import Event

SMTP_SOURCE = shutil.which("smtp-source") or "/usr/sbin/smtp-source"


def _serve(port: int, db: str, ready: Event) -> None:
    from gateway.config import SmtpConfig
    from gateway.service import make_accept
    from gateway.smtp.server import start_smtp_server
    from gateway.store import open_store
    from gateway.store.group_commit import GroupCommitter

    async def main() -> None:
        store = open_store(f"sqlite:///{db}")
        committer = GroupCommitter(store)
        await start_smtp_server(SmtpConfig(listen=f"127.0.0.1:{port}", hostname="gw.test"), make_accept(committer))
        done = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, done.set)
        ready.set()
        await done.wait()
        print(f"commits {committer.commits}, messages {committer.accepted}", file=sys.stderr)

    asyncio.run(main())


def _cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _send(port: int, messages: int, size: int) -> None:
    load = ["-s", "10", "-m", str(messages), "-l", str(size), "-f", "bench@example.co.jp", "-t", "to@example.com"]
    subprocess.run([SMTP_SOURCE, *load, f"127.0.0.1:{port}"], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--size", type=int, default=5120)
    parser.add_argument("--profile", help="py-spy raw output file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        ctx = mp.get_context("spawn")
        ready = ctx.Event()
        proc = ctx.Process(target=_serve, args=(port, f"{tmp}/queue.db", ready))
        proc.start()
        spy = None
        try:
            if not ready.wait(60) or proc.pid is None:
                raise SystemExit("the receive process did not start")
            _send(port, 300, args.size)  # warm-up
            if args.profile:
                py_spy = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy")
                record = ["record", "--gil", "--format", "raw", "--rate", "500", "-o", args.profile]
                spy = subprocess.Popen(
                    [py_spy, *record, "-p", str(proc.pid)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                time.sleep(1)
            cpu0, wall0 = _cpu(proc.pid), time.perf_counter()
            _send(port, args.messages, args.size)
            cpu1, wall1 = _cpu(proc.pid), time.perf_counter()
            cpu, wall = (cpu1 - cpu0) / args.messages * 1000, (wall1 - wall0) / args.messages * 1000
            print(f"receive CPU per message, ms: {cpu:.3f} (wall {wall:.3f})")
        finally:
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                spy.wait(30)
            proc.terminate()
            proc.join(30)
            if proc.is_alive():
                proc.kill()


if __name__ == "__main__":
    main()
