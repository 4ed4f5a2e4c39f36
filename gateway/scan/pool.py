"""Scanning off the event loop: worker processes that load the models once and scan on request.

    pool = ScanPool(config)          # config.workers processes (spawned: no state shared with the parent)
    await pool.start()               # raises ScanModelError when a worker cannot load its models
    result = await pool.scan(segments, context)
    await pool.close()

The event loop only awaits: each request is handed to an idle worker and waited for in a thread.
A worker that overruns the time budget (plus a grace period) is killed and replaced, and the message
gets an UNSCANNABLE finding; so does a worker that dies. Nothing here raises into the pipeline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import resource
import time
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from gateway.content import Finding, Segment
from gateway.extract.reasons import UNSCANNABLE, Reason
from gateway.scan.model import ScanContext, ScanResult
from gateway.scan.ner import ScanModelError
from gateway.scan.settings import ScanConfig

log = logging.getLogger(__name__)
_mp = multiprocessing.get_context("spawn")
GRACE_SECONDS = 5.0
START_SECONDS = 180.0


class ScanPoolError(ScanModelError):
    """The pool could not start (a worker failed to load its models)."""


def peak_rss_bytes() -> int:
    """This process's peak resident set (VmHWM; ru_maxrss survives exec and would count the parent's)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _worker(conn: Connection, config_json: str) -> None:
    from gateway.scan.engine import Scanner

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    try:
        scanner = Scanner(ScanConfig.model_validate_json(config_json))
    except Exception as e:
        conn.send(("error", f"{type(e).__name__}: {e}"))
        return
    conn.send(("ready", peak_rss_bytes()))
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        segments, context = request
        try:
            result = scanner.scan(segments, context)
            result.stats["peak_rss_bytes"] = float(peak_rss_bytes())
            conn.send(("ok", result))
        except Exception as e:  # reported as UNSCANNABLE by the parent; the worker stays usable
            conn.send(("error", f"{type(e).__name__}: {e}"[:300]))


def _failed(reason: Reason, detail: str) -> ScanResult:
    return ScanResult(findings=[Finding(entity=UNSCANNABLE, reason=str(reason), detail=detail)])


class _Worker:
    def __init__(self, config_json: str) -> None:
        self.conn, child = _mp.Pipe()
        self.proc: BaseProcess = _mp.Process(target=_worker, args=(child, config_json), daemon=True)
        self.proc.start()
        child.close()
        self.ready_rss = 0

    def wait_ready(self, timeout: float) -> None:
        if not self.conn.poll(timeout):
            self.kill()
            raise ScanPoolError(f"scan worker did not load its models within {timeout:g} s")
        try:
            kind, value = self.conn.recv()
        except (EOFError, OSError):
            kind, value = "error", f"scan worker died while loading (exit code {self.proc.exitcode})"
        if kind != "ready":
            self.kill()
            raise ScanPoolError(f"scan worker could not start: {value}")
        self.ready_rss = int(value)

    def call(self, payload: Any, timeout: float) -> tuple[str, Any]:
        try:
            self.conn.send(payload)
            if not self.conn.poll(timeout):
                return "timeout", None
            result: tuple[str, Any] = self.conn.recv()
            return result
        except (EOFError, OSError, BrokenPipeError) as e:
            return "died", f"{type(e).__name__}; exit code {self.proc.exitcode}"

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)
        self.conn.close()

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.proc.join(5)
        self.kill()


class ScanPool:
    """`workers` scanner processes; `scan()` never blocks the event loop and never raises."""

    def __init__(self, config: ScanConfig, workers: int | None = None) -> None:
        self.config = config
        self.size = workers or config.workers
        self._json = config.model_dump_json()
        self._idle: asyncio.Queue[_Worker] | None = None
        self._all: list[_Worker] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        workers = [_Worker(self._json) for _ in range(self.size)]
        try:
            for w in workers:
                await asyncio.to_thread(w.wait_ready, START_SECONDS)
        except Exception:
            for w in workers:
                w.kill()
            raise
        self._all = workers
        self._idle = asyncio.Queue()
        for w in workers:
            self._idle.put_nowait(w)
        log.info("scan pool: %d worker(s) ready, %.0f MB each", self.size, workers[0].ready_rss / 2**20)

    async def scan(self, segments: list[Segment], context: ScanContext | None = None) -> ScanResult:
        if self._idle is None:
            raise RuntimeError("ScanPool.scan() before start()")
        worker = await self._idle.get()
        timeout = self.config.time_budget_seconds + GRACE_SECONDS
        started = time.monotonic()
        try:
            kind, value = await asyncio.to_thread(worker.call, (list(segments), context or ScanContext()), timeout)
        except BaseException:  # cancelled mid-request: the worker's pipe holds a stale answer
            worker.kill()
            self._all.remove(worker)
            self._respawn()
            raise
        if kind in ("timeout", "died"):
            worker = await self._replace(worker)
            self._idle.put_nowait(worker)
            if kind == "timeout":
                return _failed(Reason.LIMIT_TIME, f"personal-data scan killed after {timeout:g} s (wall clock)")
            return _failed(Reason.WORKER_FAILED, f"scan worker died ({value})")
        self._idle.put_nowait(worker)
        if kind != "ok" or not isinstance(value, ScanResult):
            return _failed(Reason.INTERNAL_ERROR, f"scan failed: {value}")
        value.stats["wall_seconds"] = time.monotonic() - started
        return value

    def _respawn(self) -> None:
        async def spawn() -> None:
            fresh = _Worker(self._json)
            await asyncio.to_thread(fresh.wait_ready, START_SECONDS)
            self._all.append(fresh)
            if self._idle is not None:
                self._idle.put_nowait(fresh)

        self._tasks.add(task := asyncio.get_running_loop().create_task(spawn()))
        task.add_done_callback(self._tasks.discard)

    async def _replace(self, worker: _Worker) -> _Worker:
        worker.kill()
        fresh = _Worker(self._json)
        await asyncio.to_thread(fresh.wait_ready, START_SECONDS)
        self._all = [fresh if w is worker else w for w in self._all]
        return fresh

    async def close(self) -> None:
        for w in self._all:
            await asyncio.to_thread(w.stop)
        self._all = []
        self._idle = None

    async def __aenter__(self) -> ScanPool:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
