"""CPU of GatewaySMTP._read_data on one message (default: 300 KB of base64 in CRLF lines) arriving in
64 KB reads, against the line-by-line reader it replaced (kept in tests/unit/test_smtp_read_data.py).

    PYTHONPATH=$PWD .venv/bin/python bench/read_data.py [--kb 300] [--rounds 200]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import random
import statistics
import time
from types import SimpleNamespace
from typing import Any

from gateway.smtp.server import GatewaySMTP
from tests.unit.test_smtp_read_data import reference_read_data


async def one(read: Any, pieces: list[bytes]) -> float:
    reader = asyncio.StreamReader(limit=65_536)
    config = SimpleNamespace(max_line_length=65_536, max_message_size=26_214_400, timeout=300.0, max_data_seconds=900.0)
    fake = SimpleNamespace(shared=SimpleNamespace(config=config), _reader=reader, _reset_timeout=lambda: None)

    async def feed() -> None:
        for piece in pieces:
            reader.feed_data(piece)
            await asyncio.sleep(0)

    start = time.process_time()
    feeder = asyncio.ensure_future(feed())
    content, problem = await read(fake)
    await feeder
    spent = time.process_time() - start
    assert problem is None and len(content) > 0
    return spent


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kb", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    body = base64.encodebytes(random.Random(1).randbytes(args.kb * 1024 * 3 // 4)).replace(b"\n", b"\r\n")
    stream = b"Subject: bench\r\n\r\n" + body + b".\r\n"
    pieces = [stream[i : i + 65_536] for i in range(0, len(stream), 65_536)]
    results: dict[str, list[float]] = {"line reader": [], "block reader": []}
    for _ in range(args.rounds):
        results["line reader"].append(await one(reference_read_data, pieces))
        results["block reader"].append(await one(GatewaySMTP._read_data, pieces))
    lines = body.count(b"\n")
    print(f"_read_data on {len(stream) // 1024} KB ({lines} lines) in 64 KB reads, CPU ms (median):")
    for name, times in results.items():
        print(f"  {name}: {statistics.median(times) * 1000:.3f}")


if __name__ == "__main__":
    asyncio.run(main())
