"""The delivery worker's recipient-history recorder against a real SQLite history: what is handed
over is written, bursts go in few transactions, and a history that fails loses the records, not mail."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from gateway.recipients.history_sqlite import SqliteHistory
from gateway.recipients.recorder import HistoryRecorder


class CountingHistory(SqliteHistory):
    """A real SQLite history that counts its batch writes."""

    writes = 0

    def record_many(self, deliveries: object) -> int:
        self.writes += 1
        return super().record_many(deliveries)  # type: ignore[arg-type]


@pytest.fixture
def history(tmp_path: Path) -> CountingHistory:
    h = CountingHistory(tmp_path / "gateway.db")
    yield h  # type: ignore[misc]
    h.close()


def test_everything_handed_over_is_written(history: CountingHistory) -> None:
    async def run() -> None:
        recorder = HistoryRecorder(history)
        for i in range(300):
            recorder.add("taro@example.co.jp", [f"user{i}@partner{i % 7}.example"], 1000.0 + i)
        await recorder.drain()

    asyncio.run(run())
    wanted = [f"user{i}@partner{i % 7}.example" for i in range(300)]
    assert history.sent_to("taro@example.co.jp", wanted, 0) == set(wanted)
    assert history.counts() == {"pairs": 300, "orgs": 7}


def test_a_burst_is_written_in_few_transactions(history: CountingHistory) -> None:
    async def run() -> None:
        recorder = HistoryRecorder(history)
        for i in range(500):
            recorder.add("taro@example.co.jp", [f"u{i}@partner.example"], 1000.0)
            if i % 50 == 0:
                await asyncio.sleep(0)  # let the writer start while more arrive
        await recorder.drain()

    asyncio.run(run())
    assert history.counts()["pairs"] == 500
    assert 1 <= history.writes <= 20  # one write per message would be 500


def test_an_idle_recorder_writes_at_once(history: CountingHistory) -> None:
    async def run() -> bool:
        recorder = HistoryRecorder(history)
        recorder.add("taro@example.co.jp", ["partner@partner.example"], 1000.0)
        for _ in range(500):  # no timer: the write starts as soon as the loop is free
            await asyncio.sleep(0.01)
            if history.sent_to("taro@example.co.jp", ["partner@partner.example"], 0):
                return True
        return False

    assert asyncio.run(run())


def test_a_failing_history_loses_records_not_the_worker(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    broken = SqliteHistory(tmp_path / "gateway.db")
    broken.close()  # every write now raises

    async def run() -> None:
        recorder = HistoryRecorder(broken)
        recorder.add("taro@example.co.jp", ["partner@partner.example"], 1000.0)
        await recorder.drain()  # returns; the error is logged

    with caplog.at_level(logging.WARNING, logger="gateway.recipients.recorder"):
        asyncio.run(run())
    assert "1 deliveries not recorded" in caplog.text
    assert "partner@partner.example" not in caplog.text  # never log addresses


def test_pending_is_bounded(history: CountingHistory) -> None:
    async def run() -> HistoryRecorder:
        recorder = HistoryRecorder(history, max_pending=10)
        for i in range(25):  # nothing runs between these adds: the writer has not started yet
            recorder.add("taro@example.co.jp", [f"u{i}@partner.example"], 1000.0)
        await recorder.drain()
        return recorder

    recorder = asyncio.run(run())
    assert recorder.dropped == 15
    assert history.counts()["pairs"] == 10
