"""The extraction worker: real child processes with CPU-time, memory and wall-clock limits."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "extract"))

from extract_fixtures import mail, overlap_bomb, with_attachment, xlsx, zip_bomb_deep, zip_of

from gateway.extract import ExtractLimits
from gateway.extract.sandbox import extract_in_worker, extract_in_worker_sync


def _slow_message() -> bytes:
    # ~20 MB of text that needs per-character normalisation: seconds of CPU.
    return with_attachment(("０１２３ｶﾞ" * 3_000_000).encode(), "slow.txt", "text/plain")


def reasons(x) -> list[str]:  # type: ignore[no-untyped-def]
    return [f.reason for f in x.findings]


async def test_result_comes_back_from_the_worker_with_stats() -> None:
    raw = with_attachment(xlsx(100), "申込者一覧.xlsx")
    x = await extract_in_worker(raw, ExtractLimits())
    (table,) = [s for s in x.segments if s.kind == "table"]
    assert table.rows == 100 and table.attachment == "申込者一覧.xlsx"
    assert x.stats["peak_rss_bytes"] > 0 and x.stats["cpu_seconds"] >= 0


async def test_many_at_once_and_the_loop_stays_free() -> None:
    raw = mail("山田 090-1234-5678").as_bytes()
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.001)

    t = asyncio.create_task(ticker())
    results = await asyncio.gather(*(extract_in_worker(raw, ExtractLimits(workers=2)) for _ in range(6)))
    t.cancel()
    assert all(any("090-1234-5678" in s.text for s in r.segments) for r in results)
    assert ticks > 0


def test_cpu_limit_kills_the_worker() -> None:
    x = extract_in_worker_sync(_slow_message(), ExtractLimits(cpu_seconds=1, wall_seconds=60))
    assert reasons(x) == ["limit-cpu"]
    assert x.findings[0].entity == "UNSCANNABLE"


def test_wall_clock_limit_kills_the_worker() -> None:
    x = extract_in_worker_sync(_slow_message(), ExtractLimits(cpu_seconds=60, wall_seconds=0.5))
    assert reasons(x) == ["limit-time"]


def test_memory_limit() -> None:
    raw = with_attachment(zip_of({"zeros.bin": b"\0" * (300 * 1024 * 1024)}), "z.zip")
    limits = ExtractLimits(memory_bytes=256 * 1024 * 1024, max_attachment_bytes=1 << 30, max_decompressed_bytes=1 << 30)
    x = extract_in_worker_sync(raw, limits)
    assert reasons(x) == ["limit-memory"], x.findings
    assert all(f.entity == "UNSCANNABLE" for f in x.findings)


def test_bombs_end_inside_the_limits_in_the_worker() -> None:
    limits = ExtractLimits(memory_bytes=512 * 1024 * 1024)
    deep = extract_in_worker_sync(with_attachment(zip_bomb_deep(3, 50 * 1024 * 1024), "42.zip"), limits)
    assert "limit-decompressed-bytes" in reasons(deep)
    assert deep.stats["peak_rss_bytes"] < 512 * 1024 * 1024
    overlap = extract_in_worker_sync(with_attachment(overlap_bomb(), "o.zip"), limits)
    assert reasons(overlap) == ["zip-bomb"]
