"""Group commit for asyncio callers: many concurrent `accept`s share one durable write.

The SMTP side may answer 250 only after the message is on disk. One fsync per message would cap the
gateway at the disk's fsync rate; instead, callers that arrive while a commit is running wait together
and go into the next `store.accept(batch)`, which runs in a worker thread (never on the event loop).
Every caller returns only after its own batch is durable; if the batch fails, every caller in it gets
StoreError (and answers 451: the MTA retries; nothing acknowledged is lost).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from gateway.message import QueuedMessage
from gateway.store.base import Queue, Store, StoreError

log = logging.getLogger(__name__)


@dataclass
class _Pending:
    message: QueuedMessage
    raw: bytes
    queue: Queue
    done: asyncio.Future[None]


class GroupCommitter:
    def __init__(self, store: Store, max_batch: int = 256) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._store = store
        self._max_batch = max_batch
        self._pending: list[_Pending] = []
        self._runner: asyncio.Task[None] | None = None
        self._closed = False
        self.commits = 0  # store.accept calls made (for tests and benchmarks)
        self.accepted = 0  # messages made durable

    async def accept(self, message: QueuedMessage, raw: bytes, queue: Queue = Queue.INBOUND) -> None:
        """Return once `message` is durably stored; raise StoreError if it is not."""
        if self._closed:
            raise StoreError("the group committer is closed")
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(message, raw, queue, done))
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run())
        # If our caller is cancelled (the SMTP client went away), the future is cancelled too: a
        # message not yet in a batch is dropped (no 250 was given, the MTA retries), one already in
        # a running batch is stored anyway (a possible duplicate, never a loss).
        await done

    async def _run(self) -> None:
        batch: list[_Pending] = []
        try:
            while self._pending:
                take = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
                batch = [p for p in take if not p.done.done()]
                if not batch:
                    continue
                failures = await asyncio.to_thread(self._commit, batch)
                for p in batch:
                    if p.done.done():
                        continue
                    error = failures.get(p.queue)
                    if error is None:
                        p.done.set_result(None)
                    else:
                        # One exception object per caller: raising shares and mutates tracebacks.
                        mine = StoreError(str(error))
                        mine.__cause__ = error
                        p.done.set_exception(mine)
                batch = []
        finally:
            # Only reached with work left if this task itself was cancelled (loop shutting down).
            left, self._pending = batch + self._pending, []
            for p in left:
                if not p.done.done():
                    p.done.set_exception(StoreError("the group committer was stopped"))

    def _commit(self, batch: list[_Pending]) -> dict[Queue, StoreError]:
        """Runs in a worker thread: one store.accept per queue in the batch (almost always one)."""
        by_queue: dict[Queue, list[tuple[QueuedMessage, bytes]]] = {}
        for p in batch:
            by_queue.setdefault(p.queue, []).append((p.message, p.raw))
        failures: dict[Queue, StoreError] = {}
        for queue, items in by_queue.items():
            try:
                self._store.accept(items, queue)
            except StoreError as e:
                failures[queue] = e
            except Exception as e:  # a bug must not leave callers hanging or answering 250
                log.exception("group commit: unexpected error from the store")
                failures[queue] = StoreError(f"store failed: {type(e).__name__}")
                failures[queue].__cause__ = e
            else:
                self.commits += 1
                self.accepted += len(items)
        return failures

    async def close(self) -> None:
        """Stop taking new messages and wait until everything already handed in is committed."""
        self._closed = True
        runner = self._runner
        if runner is not None and not runner.done():
            await asyncio.shield(runner)
