"""The parent waits for a worker's answer on a poll object made once per worker (pool._Worker.readable),
no longer with Connection.poll, which builds a selector on every call: the same answer as
Connection.poll in every state of the pipe (nothing sent, something sent, the worker gone, the pipe
closed here), and the same waiting (none for 0 or less, up to the timeout otherwise)."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator

import pytest

from gateway.inspection.pool import _Worker, poller_of


def _worker_on(conn: multiprocessing.connection.Connection) -> _Worker:
    worker = _Worker.__new__(_Worker)  # no process: only the parent's end of a pipe
    worker.conn = conn
    worker._poller = poller_of(conn)
    return worker


@pytest.fixture
def pipe() -> Iterator[tuple[_Worker, multiprocessing.connection.Connection]]:
    mine, theirs = multiprocessing.get_context("spawn").Pipe()
    yield _worker_on(mine), theirs
    for c in (mine, theirs):
        if not c.closed:
            c.close()


def _same(worker: _Worker, timeout: float) -> bool:
    new = worker.readable(timeout)
    assert new == worker.conn.poll(timeout)
    return new


def test_nothing_sent(pipe: tuple[_Worker, multiprocessing.connection.Connection]) -> None:
    worker, _ = pipe
    for timeout in (-1.0, 0.0, 0.0001, 0.02):
        assert _same(worker, timeout) is False
    assert worker.receive(0.01) is not None and worker.receive(0.0) is not None  # _TIMEOUT, not "gone"


def test_waits_up_to_the_timeout_and_not_for_zero(pipe: tuple[_Worker, multiprocessing.connection.Connection]) -> None:
    worker, _ = pipe
    started = time.monotonic()
    assert worker.readable(0.0) is False and worker.readable(-5.0) is False
    assert time.monotonic() - started < 0.05
    started = time.monotonic()
    assert worker.readable(0.05) is False
    assert time.monotonic() - started >= 0.05


def test_answer_sent(pipe: tuple[_Worker, multiprocessing.connection.Connection]) -> None:
    worker, theirs = pipe
    theirs.send(("scanned", {"x": 1}, False))
    assert _same(worker, 0.0) is True and _same(worker, 1.0) is True
    assert worker.receive(1.0) == ("scanned", {"x": 1}, False)
    assert _same(worker, 0.0) is False  # read: nothing more


def test_worker_gone(pipe: tuple[_Worker, multiprocessing.connection.Connection]) -> None:
    worker, theirs = pipe
    theirs.close()
    assert _same(worker, 0.0) is True and _same(worker, 1.0) is True  # the hang-up is readable
    assert worker.receive(1.0) is None  # EOF: the worker is gone


def test_closed_here(pipe: tuple[_Worker, multiprocessing.connection.Connection]) -> None:
    worker, _ = pipe
    worker.conn.close()
    with pytest.raises(OSError):
        worker.conn.poll(0.0)
    with pytest.raises(OSError):
        worker.readable(0.0)
    assert worker.receive(0.0) is None
