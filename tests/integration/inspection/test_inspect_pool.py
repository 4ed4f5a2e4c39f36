"""The inspection pool: real worker processes with CPU-time, memory and wall-clock limits, dead and
recycled workers, and a missing model. Sudachi only (scan.ner_window_chars 0): GiNZA is not under test."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "extract"))

from extract_fixtures import mail, overlap_bomb, with_attachment, xlsx, zip_bomb_deep, zip_of

from gateway.config.inspection import InspectionConfig
from gateway.content import Extraction
from gateway.extract import ExtractLimits
from gateway.inspection.pool import InspectPool, PoolClosed, PoolStartError
from gateway.scan import ScanConfig, ScanContext, ScanResult

MiB = 1024 * 1024
SCAN = ScanConfig(ner_window_chars=0)
PLAIN = mail("高橋 一郎様\n携帯：090-1234-5678\nマイナンバー：123456789018\n").as_bytes()


@pytest.fixture(scope="module")
def pool() -> Iterator[InspectPool]:
    p = InspectPool(SCAN, InspectionConfig(workers=2))
    p.start_sync()
    yield p
    p.close_sync()


def _slow_message() -> bytes:
    # 54 MB of text that needs per-character normalisation: about 8 s of CPU (with SLOW limits).
    return with_attachment(("０１２３ｶﾞ" * 3_000_000).encode(), "slow.txt", "text/plain")


def slow_limits(cpu_seconds: int, wall_seconds: float) -> ExtractLimits:
    return ExtractLimits(cpu_seconds=cpu_seconds, wall_seconds=wall_seconds, max_attachment_bytes=1 << 30)


def reasons(findings_of: Extraction | ScanResult) -> list[str]:
    return [f.reason for f in findings_of.findings]


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def assert_pool_still_works(pool: InspectPool) -> None:
    x, scan = pool.inspect_sync(PLAIN)
    assert x.findings == [] and "JP_MY_NUMBER" in scan.entities()


def warm(pool: InspectPool) -> None:
    """Every worker loaded (requests go round the workers in turn): none is busy loading models."""
    for _ in range(pool.size):
        assert_pool_still_works(pool)


async def test_one_round_trip_gives_extraction_and_scan(pool: InspectPool) -> None:
    raw = with_attachment(xlsx(100), "申込者一覧.xlsx")
    context = ScanContext(sender="taro@example.jp", recipients=("partner@example.com",))
    extraction, scan = await pool.inspect(raw, ExtractLimits(), context)
    (table,) = [s for s in extraction.segments if s.kind == "table"]
    assert table.rows == 100 and table.attachment == "申込者一覧.xlsx"
    assert scan.bulk is not None and scan.records >= 100
    assert any("申込者一覧.xlsx" in f.where for f in scan.personal)
    assert extraction.stats["cpu_seconds"] >= 0 and extraction.stats["wall_seconds"] > 0
    assert scan.stats["peak_rss_bytes"] > 0 and int(scan.stats["worker_pid"]) in pool.worker_pids()


async def test_context_quiets_the_correspondents_and_own_numbers(pool: InspectPool) -> None:
    raw = mail("ご連絡は 03-1234-5678 (代表) または partner@example.com まで。").as_bytes()
    _, loud = await pool.inspect(raw)
    _, quiet = await pool.inspect(
        raw, None, ScanContext(recipients=("partner@example.com",), own_phone_numbers=("03-1234-5678",))
    )
    assert {"JP_PHONE_NUMBER", "EMAIL_ADDRESS"} <= loud.entities()
    assert not {"JP_PHONE_NUMBER", "EMAIL_ADDRESS"} & quiet.entities()


async def test_many_at_once_and_the_loop_stays_free(pool: InspectPool) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    t = asyncio.create_task(ticker())
    results = await asyncio.gather(*(pool.inspect(PLAIN) for _ in range(8)))
    t.cancel()
    assert all("JP_MY_NUMBER" in scan.entities() for _, scan in results)
    assert len({int(scan.stats["worker_pid"]) for _, scan in results}) == 2  # both workers served
    assert ticks > 0


def test_cpu_limit_kills_the_worker_and_a_fresh_one_takes_over(pool: InspectPool) -> None:
    before = set(pool.worker_pids())
    x, scan = pool.inspect_sync(_slow_message(), slow_limits(1, 120))
    assert reasons(x) == ["limit-cpu"] and x.findings[0].entity == "UNSCANNABLE"
    assert scan.findings == []
    assert set(pool.worker_pids()) != before
    assert_pool_still_works(pool)


def test_wall_clock_limit_kills_the_worker(pool: InspectPool) -> None:
    x, _ = pool.inspect_sync(_slow_message(), slow_limits(120, 0.5))
    assert reasons(x) == ["limit-time"]
    assert_pool_still_works(pool)


def test_memory_limit_is_unscannable_and_the_worker_is_replaced() -> None:
    raw = with_attachment(zip_of({"zeros.bin": b"\0" * (300 * MiB)}), "z.zip")
    limits = ExtractLimits(max_attachment_bytes=1 << 30, max_decompressed_bytes=1 << 30)
    pool = InspectPool(SCAN, InspectionConfig(workers=1, memory_bytes=256 * MiB))
    try:
        x, _ = pool.inspect_sync(raw, limits)
        assert reasons(x) == ["limit-memory"], x.findings
        assert all(f.entity == "UNSCANNABLE" for f in x.findings)
        assert pool.replaced == 1
        assert_pool_still_works(pool)  # 256 MiB on top of the models is plenty for ordinary mail
    finally:
        pool.close_sync()


def test_bombs_end_inside_the_limits(pool: InspectPool) -> None:
    deep, _ = pool.inspect_sync(with_attachment(zip_bomb_deep(3, 50 * MiB), "42.zip"))
    assert "limit-decompressed-bytes" in reasons(deep)
    overlap, _ = pool.inspect_sync(with_attachment(overlap_bomb(), "o.zip"))
    assert reasons(overlap) == ["zip-bomb"]


async def test_a_worker_that_dies_mid_message_is_worker_failed(pool: InspectPool) -> None:
    warm(pool)
    busy = asyncio.create_task(pool.inspect(_slow_message(), slow_limits(120, 120)))
    start = {pid: cpu_ticks(pid) for pid in pool.worker_pids()}
    victim = 0
    while not victim:  # wait until one worker is at work on the message, then kill it
        await asyncio.sleep(0.05)
        victim = next((pid for pid, t in start.items() if cpu_ticks(pid) - t > 20), 0)
    os.kill(victim, signal.SIGKILL)
    x, _ = await busy
    assert reasons(x) == ["worker-failed"] and "SIGKILL" in x.findings[0].detail
    assert victim not in pool.worker_pids()
    assert_pool_still_works(pool)


def test_a_worker_that_died_while_idle_is_replaced_before_the_message(pool: InspectPool) -> None:
    for pid in pool.worker_pids():
        os.kill(pid, signal.SIGKILL)
    for _ in range(4):  # each goes to a fresh worker, none fails
        assert_pool_still_works(pool)


def test_workers_are_recycled_after_n_messages() -> None:
    pool = InspectPool(SCAN, InspectionConfig(workers=1, recycle_after=2))
    try:
        pids = [int(pool.inspect_sync(PLAIN)[1].stats["worker_pid"]) for _ in range(5)]
    finally:
        pool.close_sync()
    assert pids[0] == pids[1] != pids[2] == pids[3] != pids[4]
    assert pool.replaced == 2


def test_a_worker_that_grew_is_recycled() -> None:
    """Plain mail leaves a worker's resident set where it was; a 40,000-row list grows it past
    recycle_growth_bytes, so the next message goes to a fresh worker."""
    rows = "".join(f"{i},山田{i},yamada{i}@example.com,090-1234-{i % 10000:04d}\n" for i in range(40_000))
    big = with_attachment(rows.encode(), "list.csv", "text/csv")
    pool = InspectPool(SCAN, InspectionConfig(workers=1, recycle_growth_bytes=16 * MiB))
    try:
        pids = [int(pool.inspect_sync(m)[1].stats["worker_pid"]) for m in [PLAIN, PLAIN, PLAIN, big, PLAIN, PLAIN]]
    finally:
        pool.close_sync()
    assert pids[0] == pids[1] == pids[2] == pids[3] != pids[4] == pids[5]
    assert pool.replaced == 1


_NICE_SCRIPT = """
import os, sys
from gateway.config.inspection import InspectionConfig
from gateway.inspection.pool import InspectPool
from gateway.scan import ScanConfig
pool = InspectPool(ScanConfig(ner_window_chars=0), InspectionConfig(workers=1, recycle_after=2, nice=3))
pool.start_sync()
base = os.getpriority(os.PRIO_PROCESS, 0)
first = os.getpriority(os.PRIO_PROCESS, pool.worker_pids()[0])
os.nice(5)  # as the node does once receiving has processes of its own
raw = b"Subject: x\\r\\n\\r\\nhello\\r\\n"
for _ in range(3):  # recycled after two messages: the third goes to a worker started after the nice
    pool.inspect_sync(raw)
later = os.getpriority(os.PRIO_PROCESS, pool.worker_pids()[0])
pool.close_sync()
print(base, first, later, pool.replaced)
"""


def test_a_worker_started_after_the_node_niced_itself_has_the_same_niceness() -> None:
    """`inspection.nice` is counted from the node's niceness at start, not added again to a node that
    has niced itself since (a replaced worker once ended at 15 instead of 10)."""
    root = Path(__file__).resolve().parents[3]
    out = subprocess.run(
        [sys.executable, "-c", _NICE_SCRIPT], cwd=root, capture_output=True, text=True, timeout=300, check=True
    )
    base, first, later, replaced = map(int, out.stdout.split())
    assert first == min(base + 3, 19) and later == min(base + 5, 19) and replaced == 1, out.stdout


def test_workers_are_named_for_their_lane(pool: InspectPool) -> None:
    assert [Path(f"/proc/{pid}/comm").read_text().strip() for pid in pool.worker_pids()] == ["gw-inspect"] * 2


async def test_missing_model_stops_start_up() -> None:
    pool = InspectPool(ScanConfig(ja_model="no_such_model"), InspectionConfig(workers=1))
    with pytest.raises(PoolStartError, match="no_such_model"):
        await pool.start()
    await pool.aclose()
    assert pool.worker_pids() == []


async def test_closed_pool_refuses_work() -> None:
    pool = InspectPool(SCAN, InspectionConfig(workers=1))
    async with pool:
        pids = pool.worker_pids()
    assert pool.worker_pids() == [] and not any(Path(f"/proc/{pid}").exists() for pid in pids)
    with pytest.raises(PoolClosed):
        await pool.inspect(PLAIN)
