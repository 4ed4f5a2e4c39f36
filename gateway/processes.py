"""Child processes of `gateway run`: parts of the node that run in processes of their own.

- smtp.processes > 1: that many receive processes share the SMTP port (SO_REUSEPORT);
- relay.processes > 0: that many delivery processes take from the outbound queue (leases keep them
  apart);
the first process runs the rest (pipeline, hold workflow, web), so that receiving, inspecting and
delivering never compete for one event loop and one interpreter lock.

The processes of a node ring each other's doorbells (`Doorbells`): a receive process that stored a
message wakes the first process's pipeline worker, and the first process that relayed one wakes a
delivery process, at once instead of at their next `worker.poll_interval`.

A child that dies is started again (a crash must not leave the node deaf or stuck). A child that dies
within seconds of starting twice in a row (the port is taken, the certificate cannot be read, the
store cannot be opened) stops the whole node with an error, as a single-process node that cannot do
its work would not start.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from gateway.config import Config
from gateway.store.base import Queue, Store

log = logging.getLogger(__name__)

EARLY_EXIT_SECONDS = 5.0  # dying sooner than this after start counts as failing to start
CHECK_INTERVAL = 0.5


def stop_when_orphaned(interval: float = 1.0) -> None:
    """In a child: SIGTERM to itself (a graceful stop) once the parent is gone, so that a first
    process killed outright does not leave receivers taking mail that no pipeline will read."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        log.error("the first process (%d) is gone; stopping", parent)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="orphan-watch", daemon=True).start()


class Doorbells:
    """One pipe per queue between the processes of a node. A process that puts a message on a queue
    whose worker runs in another process rings (one byte, from the store's thread, never blocking);
    the worker's process reads the pipe on its event loop and wakes its worker (`Store.due_now`).
    Best effort: a byte that does not fit (nobody reads) is dropped, and the worker's poll finds the
    message. Several delivery processes read one pipe: each byte wakes one of them."""

    QUEUES = (Queue.INBOUND, Queue.OUTBOUND)

    def __init__(self) -> None:
        self._pipes: dict[Queue, tuple[Connection, Connection]] = {
            queue: multiprocessing.Pipe(duplex=False) for queue in self.QUEUES
        }

    def connect(
        self, store: Store, loop: asyncio.AbstractEventLoop, worked_here: Sequence[Queue]
    ) -> Callable[[], None]:
        """Listen for the queues worked on in this process, ring for the others. Returns the call
        that stops both."""
        stops: list[Callable[[], object]] = []
        for queue, (reader, writer) in self._pipes.items():
            if queue in worked_here:
                fd = reader.fileno()
                os.set_blocking(fd, False)
                loop.add_reader(fd, self._heard, fd, store, queue, loop)
                stops.append(functools.partial(loop.remove_reader, fd))
            else:
                fd = writer.fileno()
                os.set_blocking(fd, False)
                stops.append(store.watch(queue, functools.partial(self._ring, fd)))

        def stop() -> None:
            for each in stops:
                each()

        return stop

    @staticmethod
    def _ring(fd: int) -> None:
        with contextlib.suppress(OSError):  # full: a wake-up is on its way already; closed: nobody to wake
            os.write(fd, b"\0")

    @staticmethod
    def _heard(fd: int, store: Store, queue: Queue, loop: asyncio.AbstractEventLoop) -> None:
        """Drain the pipe (many rings since the last read are one wake-up), then wake the worker."""
        rung = False
        while True:
            try:
                data = os.read(fd, 4096)
            except BlockingIOError:  # drained, or another process read it first
                break
            except OSError:
                data = b""
            if not data:  # every writer is gone: nothing more to hear
                loop.remove_reader(fd)
                break
            rung = True
            if len(data) < 4096:
                break
        if rung:
            store.due_now(queue)


class ChildFailed(Exception):
    """A child process could not start (twice in a row)."""


class ChildProcesses:
    def __init__(self, config: Config, parts: Sequence[str], target: Callable[[Config, str, Doorbells], None]) -> None:
        """One child per entry of `parts` (a part may repeat); each runs target(config, part, doorbells)."""
        self.config = config
        self.parts = list(parts)
        self.target = target
        self.doorbells = Doorbells()
        self._context = multiprocessing.get_context("spawn")
        self._procs: list[tuple[BaseProcess, float]] = []
        self._early_exits = [0] * len(self.parts)  # per child slot, in a row
        self.failed = ""  # why the node stopped, if a child could not start

    def _spawn(self, part: str) -> tuple[BaseProcess, float]:
        process = self._context.Process(
            target=self.target, args=(self.config, part, self.doorbells), daemon=False, name=part
        )
        process.start()
        return process, time.monotonic()

    def start(self) -> None:
        self._procs = [self._spawn(part) for part in self.parts]

    def check(self) -> None:
        """Replace dead children; raise ChildFailed when they keep dying at start-up."""
        for i, (process, started) in enumerate(self._procs):
            if process.is_alive():
                continue
            lived = time.monotonic() - started
            if lived < EARLY_EXIT_SECONDS:
                self._early_exits[i] += 1
                if self._early_exits[i] >= 2:
                    raise ChildFailed(
                        f"a {self.parts[i]} process exited with code {process.exitcode} {lived:.1f} s after "
                        "start, twice in a row (see the log above: is the SMTP port taken?)"
                    )
            else:
                self._early_exits[i] = 0
            log.error(
                "%s process %s exited with code %s; starting another", self.parts[i], process.pid, process.exitcode
            )
            self._procs[i] = self._spawn(self.parts[i])

    async def supervise(self, stop: asyncio.Event) -> None:
        """Until stop: keep the children running; on ChildFailed, stop the node."""
        while not stop.is_set():
            try:
                self.check()
            except ChildFailed as e:
                log.error("stopping: %s", e)
                self.failed = str(e)
                stop.set()
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=CHECK_INTERVAL)

    def stop(self) -> None:
        """SIGTERM to every child (each shuts down gracefully), then wait; SIGKILL what hangs."""
        for process, _ in self._procs:
            if process.pid is not None and process.is_alive():
                process.terminate()
        for process, _ in self._procs:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
                process.join()
