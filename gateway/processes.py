"""Child processes of `gateway run`: parts of the node that run in processes of their own.

- smtp.processes > 1: that many receive processes share the SMTP port (SO_REUSEPORT);
- relay.processes > 0: that many delivery processes take from the outbound queue (leases keep them
  apart);
the first process runs the rest (pipeline, hold workflow, web), so that receiving, inspecting and
delivering never compete for one event loop and one interpreter lock.

A child that dies is started again (a crash must not leave the node deaf or stuck). A child that dies
within seconds of starting twice in a row (the port is taken, the certificate cannot be read, the
store cannot be opened) stops the whole node with an error, as a single-process node that cannot do
its work would not start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from multiprocessing.process import BaseProcess

from gateway.config import Config

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


class ChildFailed(Exception):
    """A child process could not start (twice in a row)."""


class ChildProcesses:
    def __init__(self, config: Config, parts: Sequence[str], target: Callable[[Config, str], None]) -> None:
        """One child per entry of `parts` (a part may repeat); each runs target(config, part)."""
        self.config = config
        self.parts = list(parts)
        self.target = target
        self._context = multiprocessing.get_context("spawn")
        self._procs: list[tuple[BaseProcess, float]] = []
        self._early_exits = [0] * len(self.parts)  # per child slot, in a row
        self.failed = ""  # why the node stopped, if a child could not start

    def _spawn(self, part: str) -> tuple[BaseProcess, float]:
        process = self._context.Process(target=self.target, args=(self.config, part), daemon=False, name=part)
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
