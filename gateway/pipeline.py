"""The pipeline worker: takes messages from the inbound queue and runs flow.process on each.

A message whose processing fails is retried a few times with a short back-off (a store hiccup, a
worker restart); one that keeps failing goes to the shunt queue for a human. It is never dropped and
never passed on unprocessed.
"""

from __future__ import annotations

import asyncio
import logging
import time

from gateway import flow
from gateway.config import WorkerConfig
from gateway.hold.workflow import HoldWorkflow
from gateway.inspection.tools import Inspectors
from gateway.policy.holder import PolicyHolder
from gateway.queue_runner import QueueRunner
from gateway.store.base import DispositionLost, Lease, Queue, Store

log = logging.getLogger(__name__)

PIPELINE_ATTEMPTS = 3
PIPELINE_RETRY_SECONDS = 30.0


class PipelineWorker(QueueRunner):
    def __init__(
        self,
        store: Store,
        settings: WorkerConfig,
        tools: Inspectors,
        policy: PolicyHolder,
        holds: HoldWorkflow | None = None,
    ) -> None:
        super().__init__(
            store,
            Queue.INBOUND,
            concurrency=settings.pipeline_concurrency,
            lease_seconds=settings.lease_seconds,
            poll_interval=settings.poll_interval,
            shutdown_seconds=settings.shutdown_seconds,
        )
        self.settings = settings
        self.tools = tools
        self.policy = policy
        self.holds = holds

    def parked(self) -> int:
        return self.tools.pool.ocr_backlog

    async def handle(self, lease: Lease) -> None:
        try:
            await flow.process(self.store, lease, self.tools, self.policy.current, self.holds)
        except DispositionLost:
            log.warning("lease lost while processing %s; another worker has it", lease.message.id)
        except Exception as e:
            await self._retry_or_shunt(lease, e)

    async def _retry_or_shunt(self, lease: Lease, error: Exception) -> None:
        message = lease.message
        message.attempts += 1
        reason = f"{type(error).__name__}: {error}"[:500]
        if message.attempts < PIPELINE_ATTEMPTS:
            log.warning("pipeline failed on %s (attempt %d): %s", message.id, message.attempts, reason)
            due = time.time() + PIPELINE_RETRY_SECONDS * message.attempts
            await asyncio.to_thread(self.store.move, lease, Queue.INBOUND, message, due_at=due)
            return
        log.error("pipeline gave up on %s after %d attempts, shunted: %s", message.id, message.attempts, reason)
        message.shunt_reason = reason
        await asyncio.to_thread(self.store.move, lease, Queue.SHUNT, message)
