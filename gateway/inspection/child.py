"""The inspection worker process: loads the Scanner once, then extracts and scans message after message.

Protocol over one duplex pipe (pickled tuples):

    worker → parent   ("ready", {"pid", "vm_bytes", "rss_bytes"})  or  ("error", "why the models did not load")
    parent → worker   ("inspect", raw, ExtractLimits pickled (pickled_limits), ScanContext, ocr_mode)
                      or ("scan", Extraction, ScanContext)   or  None (exit)
    worker → parent   ("extracted", Extraction, recycle)   then   ("scanned", ScanResult, recycle)

`recycle` asks the parent for a fresh worker: the message ran out of memory, or the worker's resident
set has grown by more than `growth_bytes` since its models loaded.

`ocr_mode` "defer" (a worker of the main lane): images are not read, and when the message has one
that could hold text the worker answers ("extracted", ...) only, with stats["ocr_deferred"], without
scanning: the parent sends the message to a worker of the OCR lane ("run"). A worker of the OCR lane
(`lane` "ocr") loads no scanner (no Sudachi, GiNZA or gazetteer: hundreds of MB it would not use): it
reads the message with OCR and answers ("extracted", ...) only; the parent sends the text it read to
a main worker as a "scan" request.

Limits are set on this process before each phase of each request, so a message cannot take more than
its share whatever came before it:
  - CPU: RLIMIT_CPU soft = CPU used so far + the phase's allowance. Past it the kernel sends SIGXCPU,
    which kills the worker (the hard limit stays unlimited: an unprivileged process can never raise it
    again, and the parent's wall-clock kill is the backstop).
  - memory: RLIMIT_AS soft = the address space in use before the message + `memory_bytes`. A parser
    that allocates past it gets MemoryError (reported as limit-memory; the worker asks to be replaced).
    The limit is lifted while results are pickled and sent: they are bounded by the text limits.
A MemoryError that escapes everything ends the process with EXIT_MEMORY, so the parent can tell.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import gc
import math
import os
import pickle
import resource
import signal
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING

from gateway.config.extract import ExtractLimits
from gateway.config.scan import ScanConfig
from gateway.content import Extraction
from gateway.logsetup import name_process
from gateway.unscannable import Reason, unscannable

if TYPE_CHECKING:  # the models load in the worker only (and not at all in the OCR lane)
    from gateway.inspection.quoted import QuotedCache
    from gateway.scan.engine import Scanner
    from gateway.scan.model import ScanContext

EXIT_MEMORY = 75
MAIN, OCR_LANE = "inspect", "ocr"  # the two lanes of the pool; a worker is named gw-<lane>
INSPECT, SCAN = "inspect", "scan"  # the two kinds of request
SCAN_CPU_GRACE = 5  # CPU seconds past the scanner's own (cooperative) time budget before SIGXCPU

_WARM_UP = (
    "From: =?utf-8?b?5bGx55Sw?= <taro@example.co.jp>\r\nTo: hanako@example.com\r\nSubject: warm-up\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n\r\n山田太郎様 090-1234-5678 東京都港区芝公園1-2-3\r\n"
).encode()


# The C heap is given back to the system (malloc_trim) after the models load, and after a request when
# the resident set has grown by this much since the last time: what a large message's parsers freed
# stays resident otherwise (glibc keeps the top of its heaps), counted in the node's RSS.
TRIM_STEP_BYTES = 32 * 2**20


def trim_heap() -> None:
    """Return the free pages of the C heap to the system: glibc's malloc_trim(0); elsewhere nothing."""
    with contextlib.suppress(OSError, AttributeError):  # AttributeError: not glibc
        ctypes.CDLL(None).malloc_trim(0)


def proc_status(*fields: str) -> dict[str, int]:
    """Fields of /proc/self/status in bytes: VmSize (address space), VmRSS, VmHWM (peak RSS)."""
    out: dict[str, int] = {}
    try:
        with open("/proc/self/status") as f:
            for line in f:
                name, _, value = line.partition(":")
                if name in fields:
                    out[name] = int(value.split()[0]) * 1024
    except OSError:
        pass
    return out


class _Memory:
    """The worker's own memory figures per request, each from one read of a file kept open (the kernel
    writes it afresh at each read from offset 0): the address space from /proc/self/statm (a line of
    page counts, its first field VmSize's), the resident and peak resident sets from
    /proc/self/status (VmRSS, VmHWM). The same values as `proc_status`, without opening the file and
    decoding its ~55 lines as text at every request. A figure that cannot be read is 0, as there."""

    def __init__(self) -> None:
        self._page = resource.getpagesize()
        self._statm = self._open("/proc/self/statm")
        self._status = self._open("/proc/self/status")

    @staticmethod
    def _open(path: str) -> int:
        try:
            return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return -1

    def vm_size(self) -> int:
        """VmSize in bytes: the address space in use."""
        try:
            return int(os.pread(self._statm, 64, 0).split(None, 1)[0]) * self._page
        except (OSError, ValueError, IndexError):
            return 0

    def rss_and_peak(self) -> tuple[int, int]:
        """(VmRSS, VmHWM) in bytes."""
        try:
            data = os.pread(self._status, 4096, 0)  # VmRSS and VmHWM are in its first lines
        except OSError:
            return 0, 0
        return _status_field(data, b"\nVmRSS:"), _status_field(data, b"\nVmHWM:")


def _status_field(data: bytes, key: bytes) -> int:
    at = data.find(key)
    if at < 0:
        return 0
    try:
        return int(data[at + len(key) : data.index(b"\n", at + len(key))].split()[0]) * 1024
    except (ValueError, IndexError):
        return 0


def pickled_limits(limits: ExtractLimits) -> ExtractLimits | bytes:
    """The limits as a request carries them: every request has the same (frozen) ExtractLimits, so
    they are pickled once in the parent and loaded once in each worker (`_limits`), not per message:
    about 27 us to dump and 30 us to load each time. (Limits that cannot be hashed go as they are.)"""
    try:
        return _pickled_limits(limits)
    except TypeError:
        return limits


@functools.lru_cache(maxsize=16)
def _pickled_limits(limits: ExtractLimits) -> bytes:
    return pickle.dumps(limits, protocol=pickle.HIGHEST_PROTOCOL)


def _limits(known: dict[bytes, ExtractLimits], sent: ExtractLimits | bytes) -> ExtractLimits:
    """The ExtractLimits of a request: loaded from the parent's bytes once, then from `known`."""
    if not isinstance(sent, bytes):
        return sent
    limits = known.get(sent)
    if limits is None:
        limits = pickle.loads(sent)
        if not isinstance(limits, ExtractLimits):
            raise TypeError(f"an inspect request carried {type(limits).__name__}, not ExtractLimits")
        if len(known) >= 16:
            known.clear()
        known[sent] = limits
    return limits


def _cpu_used() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _limit_cpu(seconds: float | None, used: float | None = None) -> None:
    """`used`: the CPU time used so far, when the caller has just read it."""
    if seconds is None:
        soft = resource.RLIM_INFINITY
    else:
        soft = math.ceil(_cpu_used() if used is None else used) + max(1, math.ceil(seconds))
    resource.setrlimit(resource.RLIMIT_CPU, (soft, resource.RLIM_INFINITY))


def _limit_memory(limit: int | None) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (limit or resource.RLIM_INFINITY, resource.RLIM_INFINITY))


def serve(
    conn: Connection,
    scan_json: str,
    memory_bytes: int,
    nice: int = 0,
    lane: str = MAIN,
    growth_bytes: int = 0,
    quoted_entries: int = 0,
) -> None:
    """Process entry (spawned: nothing is inherited from the parent but this pipe)."""
    name_process(lane)
    if nice > os.getpriority(os.PRIO_PROCESS, 0):  # `nice` is the value to have, not a step
        os.setpriority(os.PRIO_PROCESS, 0, nice)
    # Tesseract's OpenMP threads would fight the other workers for the cores; read when libgomp loads.
    os.environ["OMP_THREAD_LIMIT"] = "1"
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the parent decides
    signal.signal(signal.SIGXCPU, signal.SIG_DFL)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    try:
        _serve(conn, scan_json, memory_bytes, growth_bytes, lane, quoted_entries)
    except MemoryError:
        os._exit(EXIT_MEMORY)
    except (EOFError, OSError, KeyboardInterrupt):
        pass


def _serve(
    conn: Connection,
    scan_json: str,
    memory_bytes: int,
    growth_bytes: int = 0,
    lane: str = MAIN,
    quoted_entries: int = 0,
) -> None:
    from gateway.extract import extract_message
    from gateway.inspection.quoted import QuotedCache

    scanner = None
    quoted = QuotedCache(quoted_entries) if quoted_entries else None
    try:
        if lane == OCR_LANE:  # reads only: its text is scanned by a main worker, which has the models
            extract_message(_WARM_UP)
        else:
            from gateway.scan.engine import Scanner
            from gateway.scan.model import ScanContext

            scanner = Scanner(ScanConfig.model_validate_json(scan_json))
            scanner.scan(extract_message(_WARM_UP).segments, ScanContext())  # every module imported, caches warm
    except Exception as e:
        conn.send(("error", f"{type(e).__name__}: {e}"))
        return
    # The models, dictionaries and gazetteer are ~120,000 long-lived objects: out of the collector's
    # sight, each collection walks only what a message made (5 KB mail: 4.1-5.1 -> 3.7-4.0 ms).
    gc.freeze()
    trim_heap()  # what loading parsed and dropped (JSON, the model's tables): ~70 MB with GiNZA
    status = proc_status("VmSize", "VmRSS")
    ready_rss = trimmed = status.get("VmRSS", 0)
    conn.send(("ready", {"pid": os.getpid(), "vm_bytes": status.get("VmSize", 0), "rss_bytes": ready_rss}))

    memory = _Memory()
    known_limits: dict[bytes, ExtractLimits] = {}

    def grown() -> tuple[bool, float]:
        nonlocal trimmed
        rss, peak = memory.rss_and_peak()
        trimmed = min(trimmed, rss)
        if rss - trimmed > TRIM_STEP_BYTES:
            trim_heap()
            rss, peak = memory.rss_and_peak()
            trimmed = rss
        return bool(growth_bytes and rss - ready_rss > growth_bytes), float(peak)

    while True:
        request = conn.recv()
        if request is None:
            return
        started_cpu = _cpu_used()
        ceiling = memory.vm_size() + memory_bytes
        if request[0] == SCAN:  # the text an OCR worker read
            assert scanner is not None
            _, read, context = request
            _scan(conn, scanner, quoted, read, context, ceiling, started_cpu, False, grown)
            continue
        _, raw, sent_limits, context, ocr_mode = request
        limits = _limits(known_limits, sent_limits)

        _limit_memory(ceiling)
        _limit_cpu(limits.cpu_seconds, started_cpu)
        try:
            extraction = extract_message(raw, limits, ocr_mode)
        except MemoryError:
            extraction = Extraction(findings=[unscannable(Reason.LIMIT_MEMORY, "out of memory reading the message")])
        finally:
            _limit_memory(None)
        del raw
        extraction.stats["cpu_seconds"] = _cpu_used() - started_cpu
        extraction.stats["worker_pid"] = float(os.getpid())
        recycle = any(f.reason == Reason.LIMIT_MEMORY for f in extraction.findings)
        if scanner is None:  # the OCR lane: the parent has the text scanned by a main worker
            recycle = recycle or grown()[0]
            conn.send(("extracted", extraction, recycle))
            _limit_cpu(None)
            continue
        conn.send(("extracted", extraction, recycle))
        if extraction.stats.get("ocr_deferred"):
            _limit_cpu(None)
            continue  # the OCR lane reads this message
        _scan(conn, scanner, quoted, extraction, context, ceiling, started_cpu, recycle, grown)
        del extraction


def _scan(
    conn: Connection,
    scanner: Scanner,
    quoted: QuotedCache | None,
    extraction: Extraction,
    context: ScanContext,
    ceiling: int,
    started_cpu: float,
    recycle: bool,
    grown: Callable[[], tuple[bool, float]],
) -> None:
    """The scan phase of a request, within its limits; answers ("scanned", ScanResult, recycle)."""
    from gateway.scan.model import ScanResult
    from gateway.scan.preview import attachment_previews

    _limit_memory(ceiling)
    _limit_cpu(scanner.config.time_budget_seconds + SCAN_CPU_GRACE)
    try:
        segments = extraction.segments
        result = quoted.scan(scanner, segments, context) if quoted is not None else scanner.scan(segments, context)
    except MemoryError:
        result = ScanResult(findings=[unscannable(Reason.LIMIT_MEMORY, "out of memory in the personal-data scan")])
        recycle = True
    except Exception as e:  # a scanner bug must not pass the message: UNSCANNABLE, worker kept
        result = ScanResult(findings=[unscannable(Reason.INTERNAL_ERROR, f"scan: {type(e).__name__}: {e}"[:300])])
    finally:
        _limit_memory(None)
    cfg = scanner.config
    result.previews = attachment_previews(
        extraction, result.heads, cfg.preview_lines, cfg.preview_chars, cfg.preview_attachments, result.findings
    )
    result.heads = {}  # only the assembled previews cross the pipe
    del extraction
    growth, peak = grown()
    result.stats["peak_rss_bytes"] = peak
    result.stats["request_cpu_seconds"] = _cpu_used() - started_cpu
    result.stats["worker_pid"] = float(os.getpid())
    conn.send(("scanned", result, recycle or growth))
    _limit_cpu(None)  # what is left of this allowance must not fall on the next request's unpickling
