"""The inspection pool: each message's extraction and personal-data scan, in worker processes, within limits.

    pool = InspectPool(config.scan, config.inspection)
    await pool.start()                     # PoolStartError (a ScanModelError) when the models do not load
    extraction, scan = await pool.inspect(raw, config.extract, ScanContext(sender=..., recipients=...))
    await pool.aclose()

`inspection.workers` spawned processes (gateway.inspection.child) each load the Scanner once and serve
one message at a time: one pipe round trip per message, no fork per message. The event loop only
awaits: each request runs in a thread of the pool's own executor (one thread per worker), which
sends the request and waits on the pipe.

Whatever happens to a message comes back as an (Extraction, ScanResult) pair, never an exception:
  limit-cpu       the worker died of SIGXCPU (RLIMIT_CPU, set per phase in the worker)
  limit-memory    a parser hit RLIMIT_AS (MemoryError), or the worker exited with EXIT_MEMORY
  limit-time      the phase ran past its wall-clock limit: the parent kills the worker
  worker-failed   the worker died otherwise (signal, crash), or none could be restarted
The UNSCANNABLE finding goes into the Extraction when extraction failed (the scan never ran) and into
the ScanResult when the scan failed. A worker that died or was killed is replaced by a fresh one, as is
a worker that served `recycle_after` messages, ran out of memory or grew by `recycle_growth_bytes`; the
fresh one loads its models while the others go on, and is waited for when its turn comes.

Two lanes. Every message goes to a main worker first, which reads no image ("defer"): a message
with an image or a scanned PDF page that could hold text comes back marked, the main worker is
free at once, and the message goes to a worker of the OCR lane (`inspection.ocr_workers`, started
on the first such message, nicer than the main ones), which reads it again with OCR, with
`extract.ocr.message_seconds` added to its CPU and wall-clock limits. The OCR lane loads no scanner
(Sudachi, GiNZA and the gazetteer are hundreds of MB): the text it read goes back to a main worker
to be scanned, with the scan's own limits. So a burst of screenshots
queues in the OCR lane and never delays plain mail. Logos and icons are skipped by size in the main
lane and never reach the OCR lane.

Only lifecycle errors raise: PoolStartError (models missing at start-up: no silent fallback) and
PoolClosed (inspect after close; the pipeline retries the message later).
"""

from __future__ import annotations

import asyncio
import logging
import math
import multiprocessing
import os
import select
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar, cast

from gateway.config.extract import ExtractLimits
from gateway.config.inspection import InspectionConfig
from gateway.config.scan import ScanConfig
from gateway.content import Extraction
from gateway.extract.ocr import DEFER, RUN
from gateway.inspection.child import (
    EXIT_MEMORY,
    INSPECT,
    MAIN,
    OCR_LANE,
    SCAN,
    SCAN_CPU_GRACE,
    pickled_limits,
    serve,
)
from gateway.inspection.gate import SmallFirstGate
from gateway.scan.model import ScanContext, ScanResult
from gateway.scan.ner import ScanModelError
from gateway.unscannable import Reason, unscannable

log = logging.getLogger(__name__)

_mp = multiprocessing.get_context("spawn")
GRACE_SECONDS = 5.0  # wall clock past the scanner's own time budget before the worker is killed
_TIMEOUT = object()

Inspection = tuple[Extraction, ScanResult]
_R = TypeVar("_R")


class PoolStartError(ScanModelError):
    """A worker could not load its models (or start at all): the gateway must not run without them."""


class PoolClosed(RuntimeError):
    """inspect() on a pool that has been closed."""


def extraction_failed(reason: Reason, detail: str) -> Inspection:
    return Extraction(findings=[unscannable(reason, detail)]), ScanResult()


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def peak_rss_bytes(pid: int) -> int:
    """Peak resident set of a live process (VmHWM), 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def poller_of(conn: Connection) -> select.poll:
    """A poll object watching `conn` for input, made once per worker: `conn.poll()` builds, registers
    and closes a selector on every call (twice per message), about 3 us each time against 0.6."""
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLIN)
    return poller


class _Worker:
    """One worker process and the parent's end of its pipe."""

    def __init__(
        self,
        scan_json: str,
        memory_bytes: int,
        nice: int = 0,
        lane: str = MAIN,
        growth_bytes: int = 0,
        quoted_entries: int = 0,
    ) -> None:
        self.conn: Connection
        self.conn, child = _mp.Pipe()
        args = (child, scan_json, memory_bytes, nice, lane, growth_bytes, quoted_entries)
        self.proc: BaseProcess = _mp.Process(target=serve, args=args, name=f"gateway-{lane}", daemon=True)
        self.proc.start()
        child.close()
        self._poller = poller_of(self.conn)
        self.ready = False
        self.served = 0
        self.info: dict[str, int] = {}

    @property
    def pid(self) -> int:
        return self.proc.pid or 0

    def wait_ready(self, timeout: float) -> None:
        if not self.conn.poll(timeout):
            raise PoolStartError(f"an inspection worker did not load its models within {timeout:g} s")
        try:
            kind, value = self.conn.recv()
        except (EOFError, OSError):
            self.proc.join(2)
            kind, value = "error", f"the worker died while loading its models (exit code {self.proc.exitcode})"
        if kind != "ready":
            raise PoolStartError(f"an inspection worker could not load its models: {value}")
        self.info = value
        self.ready = True

    def readable(self, timeout: float) -> bool:
        """As `conn.poll(timeout)`: whether the worker has sent something (or hung up) within `timeout`
        seconds (rounded up to the millisecond; 0 or less: do not wait). OSError once conn is closed."""
        if self.conn.closed:
            raise OSError("handle is closed")
        return bool(self._poller.poll(math.ceil(timeout * 1000) if timeout > 0 else 0))

    def receive(self, timeout: float) -> Any:
        """The next message from the worker, _TIMEOUT, or None when the worker is gone."""
        try:
            if not self.readable(timeout):
                return _TIMEOUT
            return self.conn.recv()
        except (EOFError, OSError):
            return None

    def exit_code(self) -> int | None:
        self.proc.join(2)
        return self.proc.exitcode

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)
        self.conn.close()


class _Slot:
    """A place for one worker; the executor thread that holds the slot owns its worker."""

    def __init__(self, worker: _Worker | None, nice: int = 0, lane: str = MAIN) -> None:
        self.worker = worker
        self.nice = nice
        self.lane = lane


def ocr_limits(limits: ExtractLimits) -> ExtractLimits:
    """The limits of an extraction in the OCR lane: the OCR budget on top of the extraction's."""
    extra = limits.ocr.message_seconds
    return limits.model_copy(
        update={"cpu_seconds": limits.cpu_seconds + math.ceil(extra), "wall_seconds": limits.wall_seconds + extra}
    )


REQUEST_THREADS = 64


class InspectPool:
    """`inspection.workers` inspection processes behind `inspect()`, which never blocks the loop."""

    def __init__(
        self, scan: ScanConfig | None = None, settings: InspectionConfig | None = None, workers: int | None = None
    ) -> None:
        self.scan = scan or ScanConfig()
        self.settings = settings or InspectionConfig()
        self.size = workers or self.settings.workers
        self.replaced = 0  # workers replaced after a death, a kill, a memory error or recycling
        self._scan_json = self.scan.model_dump_json()
        self._lock = threading.Lock()  # guards _state and _live
        self._start_lock = threading.Lock()
        self._state = "new"  # new | running | closed
        self._live: set[_Worker] = set()
        self._slots: SmallFirstGate[_Slot] = SmallFirstGate()
        self._ocr_slots: SmallFirstGate[_Slot] | None = None  # the OCR lane, when there is one
        self._ocr_backlog = 0  # requests waiting for or in the OCR lane
        self._executor: ThreadPoolExecutor | None = None
        # Workers' niceness counts from the node's as it started: the node nices itself later (when
        # receiving has processes of its own), and a worker started after that must not add to it.
        self._base_nice = os.getpriority(os.PRIO_PROCESS, 0)

    # -- lifecycle --------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._state == "running"

    def start_sync(self) -> None:
        """Start every worker and wait until all have loaded their models (idempotent)."""
        with self._start_lock:
            if self._state == "running":
                return
            if self._state == "closed":
                raise PoolClosed("the inspection pool has been closed")
            workers: list[_Worker] = []
            try:
                workers = [self._spawn() for _ in range(self.size)]
                for w in workers:
                    w.wait_ready(self.settings.start_seconds)
            except BaseException:
                for w in workers:
                    self._discard(w)
                raise
            for w in workers:
                self._slots.put(_Slot(w, self.settings.nice))
            if self.settings.ocr_workers:
                self._ocr_slots = SmallFirstGate()
                for _ in range(self.settings.ocr_workers):  # each worker starts on the lane's first message
                    self._ocr_slots.put(_Slot(None, self.settings.ocr_nice, OCR_LANE))
            # More threads than workers: requests wait in the gate (small first), not in FIFO order here.
            self._executor = ThreadPoolExecutor(max(self.size, REQUEST_THREADS), thread_name_prefix="inspect")
            self._state = "running"
        rss = max(w.info.get("rss_bytes", 0) for w in workers)
        log.info("inspection pool: %d worker(s) ready, %.0f MB each", self.size, rss / 2**20)

    async def start(self) -> None:
        await asyncio.to_thread(self.start_sync)

    def close_sync(self) -> None:
        """Stop every worker; requests in flight end as worker-failed."""
        with self._lock:
            if self._state == "closed":
                return
            self._state = "closed"
            workers = list(self._live)
        for w in workers:
            if w.proc.is_alive():
                w.proc.terminate()
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
        for w in workers:
            self._discard(w)

    async def aclose(self) -> None:
        await asyncio.to_thread(self.close_sync)

    async def __aenter__(self) -> InspectPool:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def worker_pids(self) -> list[int]:
        with self._lock:
            return sorted(w.pid for w in self._live)

    # -- requests ---------------------------------------------------------------------------------

    async def inspect(
        self, raw: bytes, limits: ExtractLimits | None = None, context: ScanContext | None = None
    ) -> Inspection:
        """Extract and scan one message in a worker. Raises only PoolStartError and PoolClosed."""
        if self._state != "running":
            await self.start()
        executor = self._executor
        assert executor is not None
        limits, context = limits or ExtractLimits(), context or ScanContext()
        try:
            future = asyncio.get_running_loop().run_in_executor(executor, self._request, raw, limits, context)
        except RuntimeError as e:  # executor shut down
            raise PoolClosed("the inspection pool has been closed") from e
        try:
            return await future
        except Exception as e:  # a bug here must not pass the message
            log.exception("inspection request failed")
            return extraction_failed(Reason.INTERNAL_ERROR, f"{type(e).__name__}: {e}"[:300])

    def inspect_sync(
        self, raw: bytes, limits: ExtractLimits | None = None, context: ScanContext | None = None
    ) -> Inspection:
        """Blocking form of inspect() (benchmarks, tests, scripts)."""
        self.start_sync()
        try:
            return self._request(raw, limits or ExtractLimits(), context or ScanContext())
        except Exception as e:
            log.exception("inspection request failed")
            return extraction_failed(Reason.INTERNAL_ERROR, f"{type(e).__name__}: {e}"[:300])

    def _request(self, raw: bytes, limits: ExtractLimits, context: ScanContext) -> Inspection:
        lane = self._ocr_slots if limits.ocr.enabled else None
        ocr_mode = DEFER if lane is not None else RUN
        result = self._in(self._slots, len(raw), lambda slot: self._serve(slot, raw, limits, context, ocr_mode))
        if result is not None:
            return result
        assert lane is not None  # only a deferring main worker leaves the message unanswered
        with self._lock:
            self._ocr_backlog += 1
        try:
            read = self._in(lane, len(raw), lambda slot: self._read(slot, raw, ocr_limits(limits)))
        finally:
            with self._lock:
                self._ocr_backlog -= 1
        if isinstance(read, tuple):  # the OCR lane could not read it: nothing to scan
            return read
        # What the OCR lane read is scanned by a main worker (the OCR lane has no scanner).
        size = sum(len(s.text) for s in read.segments)
        scanned = self._in(self._slots, size, lambda slot: self._scan_only(slot, read, context))
        return scanned or (read, ScanResult(findings=[unscannable(Reason.INTERNAL_ERROR, "scan not answered")]))

    @property
    def ocr_backlog(self) -> int:
        """Messages waiting for or being read in the OCR lane (their callers need not count them as
        busy: the lane has its own capacity, see PipelineWorker.parked)."""
        return self._ocr_backlog

    def _in(self, gate: SmallFirstGate[_Slot], size: int, serve: Callable[[_Slot], _R]) -> _R:
        """serve(slot) with a slot of `gate`'s lane, given to the smallest waiting request first."""
        slot = gate.get(size)
        try:
            return serve(slot)
        except BaseException:
            self._replace(slot)  # its pipe may still hold an answer meant for this request
            raise
        finally:
            gate.put(slot)

    def _extracted(self, slot: _Slot, worker: _Worker, limits: ExtractLimits) -> tuple[Extraction, bool] | Inspection:
        """The worker's answer to the extraction phase and whether it asks to be replaced, or what
        went wrong (the worker is replaced then)."""
        started = time.monotonic()
        reply = worker.receive(limits.wall_seconds)
        if reply is _TIMEOUT:
            self._replace(slot)
            detail = f"extraction killed after {limits.wall_seconds:g} s (wall clock)"
            return extraction_failed(Reason.LIMIT_TIME, detail)
        if not (isinstance(reply, tuple) and reply[0] == "extracted"):
            reason, detail = self._death(slot, "extraction", limits.cpu_seconds)
            return extraction_failed(reason, detail)
        extraction: Extraction = reply[1]
        extraction.stats["wall_seconds"] = time.monotonic() - started
        return extraction, bool(reply[2])

    def _serve(
        self, slot: _Slot, raw: bytes, limits: ExtractLimits, context: ScanContext, ocr_mode: str
    ) -> Inspection | None:
        """Extract and scan in a main worker; None: it found images for the OCR lane."""
        worker = self._dispatch(slot, (INSPECT, raw, pickled_limits(limits), context, ocr_mode))
        if isinstance(worker, str):
            return extraction_failed(Reason.WORKER_FAILED, worker)
        answer = self._extracted(slot, worker, limits)
        if isinstance(answer[1], ScanResult):  # extraction failed
            return cast(Inspection, answer)
        extraction, recycle = cast(tuple[Extraction, bool], answer)
        if ocr_mode == DEFER and extraction.stats.get("ocr_deferred"):
            self._done(slot, worker, recycle)  # the worker does not scan it: free for the next message now
            return None
        return extraction, self._scanned(slot, worker)

    def _read(self, slot: _Slot, raw: bytes, limits: ExtractLimits) -> Extraction | Inspection:
        """Extract (with OCR) in a worker of the OCR lane: the Extraction, or the failure."""
        worker = self._dispatch(slot, (INSPECT, raw, pickled_limits(limits), ScanContext(), RUN))
        if isinstance(worker, str):
            return extraction_failed(Reason.WORKER_FAILED, worker)
        answer = self._extracted(slot, worker, limits)
        if isinstance(answer[1], ScanResult):  # extraction failed
            return cast(Inspection, answer)
        extraction, recycle = cast(tuple[Extraction, bool], answer)
        self._done(slot, worker, recycle)
        return extraction

    def _scan_only(self, slot: _Slot, extraction: Extraction, context: ScanContext) -> Inspection:
        """Scan text read elsewhere (by the OCR lane) in a main worker."""
        worker = self._dispatch(slot, (SCAN, extraction, context))
        if isinstance(worker, str):
            return extraction, ScanResult(findings=[unscannable(Reason.WORKER_FAILED, worker)])
        return extraction, self._scanned(slot, worker)

    def _scanned(self, slot: _Slot, worker: _Worker) -> ScanResult:
        """The worker's answer to the scan phase (or why there is none)."""
        scanned = time.monotonic()
        budget = self.scan.time_budget_seconds
        reply = worker.receive(budget + GRACE_SECONDS)
        if reply is _TIMEOUT:
            self._replace(slot)
            detail = f"personal-data scan killed after {budget + GRACE_SECONDS:g} s (wall clock)"
            return ScanResult(findings=[unscannable(Reason.LIMIT_TIME, detail)])
        if not (isinstance(reply, tuple) and reply[0] == "scanned"):
            reason, detail = self._death(slot, "personal-data scan", budget + SCAN_CPU_GRACE)
            return ScanResult(findings=[unscannable(reason, detail)])
        _, result, recycle = reply  # out of memory, or grown past recycle_growth_bytes
        result.stats["wall_seconds"] = time.monotonic() - scanned
        self._done(slot, worker, recycle)
        return result

    def _done(self, slot: _Slot, worker: _Worker, recycle: bool) -> None:
        """A request served: the worker is replaced when it asked to be or has served its count."""
        worker.served += 1
        if recycle or worker.served >= self.settings.recycle_after:
            self._replace(slot)

    def _dispatch(self, slot: _Slot, request: tuple[Any, ...]) -> _Worker | str:
        """Hand the request to the slot's worker: the worker, or why there is none."""
        problem = "no inspection worker could be started"
        for _ in (1, 2):
            worker = self._usable(slot)
            if worker is None:
                return problem
            try:
                worker.conn.send(request)
                return worker
            except (OSError, ValueError) as e:  # died while idle: the message never reached it
                log.warning("inspection worker %d lost before a request (%s); replacing it", worker.pid, e)
                self._replace(slot)
                problem = f"inspection worker unreachable: {e}"
        return problem

    # -- workers ----------------------------------------------------------------------------------

    def _spawn(self, nice: int | None = None, lane: str = MAIN) -> _Worker:
        with self._lock:
            if self._state == "closed":
                raise PoolClosed("the inspection pool has been closed")
            nice = self._base_nice + (self.settings.nice if nice is None else nice)
            settings = self.settings
            worker = _Worker(
                self._scan_json,
                settings.memory_bytes,
                nice,
                lane,
                settings.recycle_growth_bytes,
                settings.quoted_cache_entries,
            )
            self._live.add(worker)
            return worker

    def _discard(self, worker: _Worker) -> None:
        with self._lock:
            self._live.discard(worker)
        worker.kill()

    def _replace(self, slot: _Slot) -> None:
        """Kill the slot's worker and start a fresh one (its models load while others work)."""
        if slot.worker is not None:
            self._discard(slot.worker)
            self.replaced += 1
        try:
            slot.worker = self._spawn(slot.nice, slot.lane)
        except (PoolClosed, OSError) as e:
            slot.worker = None
            if not isinstance(e, PoolClosed):
                log.error("could not start an inspection worker: %s", e)

    def _usable(self, slot: _Slot) -> _Worker | None:
        """The slot's worker, started and loaded; None when none can be had."""
        for _ in (1, 2):
            worker = slot.worker
            if worker is None or (worker.ready and not worker.proc.is_alive()):
                self._replace(slot)
                worker = slot.worker
                if worker is None:
                    return None
            if worker.ready:
                return worker
            try:
                worker.wait_ready(self.settings.start_seconds)
                return worker
            except PoolStartError as e:
                log.error("%s", e)
                self._discard(worker)
                slot.worker = None
        return None

    def _death(self, slot: _Slot, phase: str, cpu_seconds: float) -> tuple[Reason, str]:
        """Why the slot's worker stopped answering; it is replaced."""
        worker = slot.worker
        assert worker is not None
        code = worker.exit_code()
        pid = worker.pid
        self._replace(slot)
        if code == -signal.SIGXCPU:
            return Reason.LIMIT_CPU, f"{phase} killed after {cpu_seconds:g} s of CPU time"
        if code == EXIT_MEMORY:
            return Reason.LIMIT_MEMORY, f"{phase} ran out of memory (limit {self.settings.memory_bytes // 2**20} MiB)"
        if code is not None and code < 0:
            log.warning("inspection worker %d died during %s (%s)", pid, phase, _signal_name(-code))
            return Reason.WORKER_FAILED, f"inspection worker died during {phase} ({_signal_name(-code)})"
        return Reason.WORKER_FAILED, f"inspection worker ended during {phase} (exit status {code})"
