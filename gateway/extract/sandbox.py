"""Run an extraction in a child process with CPU-time and memory limits and a wall-clock kill.

Each extraction gets a fresh process forked from a forkserver that has the parsers preloaded (a
few milliseconds), so a parser that hangs, leaks or crashes takes nothing else down and leaves no
state behind. The child sets RLIMIT_AS (memory) and RLIMIT_CPU (SIGXCPU past it) on itself; the
parent kills it past the wall-clock limit. A child that dies yields an UNSCANNABLE result, never an
exception. The event loop only awaits: the waiting happens in a thread.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import resource
import signal
import time
import weakref
from multiprocessing.connection import Connection
from typing import Any

from gateway.content import Extraction, Finding
from gateway.extract.limits import ExtractLimits
from gateway.extract.reasons import UNSCANNABLE, Reason

_PRELOAD = ["gateway.extract.mime", "gateway.extract.sandbox"]
_mp = multiprocessing.get_context("forkserver")
_mp.set_forkserver_preload(_PRELOAD)
_semaphores: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def _child(conn: Connection, raw: bytes, limits_json: str) -> None:
    from gateway.extract import extract_message

    limits = ExtractLimits.model_validate_json(limits_json)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    used = resource.getrusage(resource.RUSAGE_SELF)
    spent = int(used.ru_utime + used.ru_stime)
    resource.setrlimit(resource.RLIMIT_CPU, (spent + limits.cpu_seconds, spent + limits.cpu_seconds + 2))
    t0 = time.process_time()
    result = extract_message(raw, limits)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result.stats["cpu_seconds"] = time.process_time() - t0
    result.stats["peak_rss_bytes"] = float(usage.ru_maxrss * 1024)
    conn.send(result)
    conn.close()


def _failed(reason: Reason, detail: str) -> Extraction:
    return Extraction(findings=[Finding(entity=UNSCANNABLE, reason=str(reason), detail=detail)])


def extract_in_worker_sync(raw: bytes, limits: ExtractLimits) -> Extraction:
    """Blocking: start a worker, wait for its result within the limits, kill it past them."""
    started = time.monotonic()
    try:
        parent, child = _mp.Pipe(duplex=False)
        proc = _mp.Process(target=_child, args=(child, raw, limits.model_dump_json()), daemon=True)
        proc.start()
        child.close()
    except Exception as e:
        return _failed(Reason.WORKER_FAILED, f"could not start the extraction worker: {e}")
    result: Any = None
    try:
        if parent.poll(limits.wall_seconds):
            try:
                result = parent.recv()
            except (EOFError, OSError):
                result = None
        else:
            proc.kill()
            proc.join(5)
            return _failed(Reason.LIMIT_TIME, f"extraction killed after {limits.wall_seconds:g} s (wall clock)")
        proc.join(max(1.0, limits.wall_seconds - (time.monotonic() - started)))
        if proc.is_alive():
            proc.kill()
            proc.join(5)
    finally:
        parent.close()
    if isinstance(result, Extraction):
        result.stats["wall_seconds"] = time.monotonic() - started
        return result
    code = proc.exitcode
    if code == -signal.SIGXCPU or (code == -signal.SIGKILL and _cpu_exhausted(limits, started)):
        return _failed(Reason.LIMIT_CPU, f"extraction killed after {limits.cpu_seconds} s of CPU time")
    if code is not None and code < 0:
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
        return _failed(Reason.WORKER_FAILED, f"extraction worker died ({name}; memory limit or crash)")
    return _failed(Reason.WORKER_FAILED, f"extraction worker exited with status {code} without a result")


def _cpu_exhausted(limits: ExtractLimits, started: float) -> bool:
    # Past the soft limit the kernel sends SIGXCPU, past the hard one SIGKILL.
    return time.monotonic() - started >= limits.cpu_seconds


async def extract_in_worker(raw: bytes, limits: ExtractLimits) -> Extraction:
    """Await an extraction in a worker process; at most `limits.workers` run at once per loop."""
    loop = asyncio.get_running_loop()
    sem = _semaphores.get(loop)
    if sem is None:
        sem = _semaphores[loop] = asyncio.Semaphore(limits.workers)
    async with sem:
        try:
            return await asyncio.to_thread(extract_in_worker_sync, raw, limits)
        except Exception as e:  # never let the pipeline see an exception from here
            return _failed(Reason.WORKER_FAILED, f"{type(e).__name__}: {e}")
