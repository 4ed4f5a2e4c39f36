"""CPU of an idle node: what the gateway costs when no mail comes (its queue workers' polls, the hold
loop, the inspection workers' and the children's housekeeping).

    python bench/idle_cpu.py [--seconds 60] [--poll-interval S] [--receivers 1] [--deliverers 0]
                             [--store sqlite|redis]

Starts `gateway run` as bench/e2e.py does (inspection workers 2), waits until it is ready and has
settled, then reads utime+stime of every process of the node from /proc over --seconds and prints the
CPU per second of wall time, per role of process (first, gw-smtp, gw-deliver, gw-inspect). Figures
only: nothing is asserted.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.e2e import start_gateway  # noqa: E402
from bench.relay_throughput import ProcessCPU  # noqa: E402
from tests.support.net import free_port  # noqa: E402

SETTLE_SECONDS = 10.0  # after the port answers: the children start, the first polls and reclaims run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--poll-interval", type=float, default=0.0, help="worker.poll_interval (default: gateway.s)")
    parser.add_argument("--receivers", type=int, default=1, help="smtp.processes")
    parser.add_argument("--deliverers", type=int, default=0, help="relay.processes")
    parser.add_argument("--store", choices=["sqlite", "redis"], default="sqlite")
    args = parser.parse_args()
    worker = {"poll_interval": args.poll_interval} if args.poll_interval else {}
    with tempfile.TemporaryDirectory(prefix="gw-idle-") as tmp:
        gw = start_gateway(
            Path(tmp),
            free_port(),  # nothing is ever relayed: no sink needed
            args.store,
            inspection={"workers": 2},
            smtp={"processes": args.receivers},
            relay={"processes": args.deliverers},
            worker=worker,
        )
        try:
            time.sleep(SETTLE_SECONDS)
            sampler = ProcessCPU(gw.process.pid).start()
            t0 = time.monotonic()
            time.sleep(args.seconds)
            roles = sampler.stop()
            wall = time.monotonic() - t0
        finally:
            gw.stop()
    total = sum(sum(v) for v in roles.values())
    parts = [
        f"{role} {1000 * sum(used) / wall:.2f} ({len(used)} proc)"
        for role, used in sorted(roles.items(), key=lambda kv: -sum(kv[1]))
    ]
    print(
        f"idle node, poll interval {args.poll_interval or 'default'}, receive processes {args.receivers}, "
        f"delivery processes {args.deliverers}, {wall:.0f} s: CPU ms per second: {', '.join(parts)}; "
        f"all {1000 * total / wall:.2f}"
    )


if __name__ == "__main__":
    main()
