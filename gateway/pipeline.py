"""The pipeline worker: takes messages from the inbound queue and runs flow.process on each.

A message whose processing fails is retried with a doubling wait (a store hiccup, a worker restart);
one that keeps failing (worker.max_failures) goes to the shunt queue for a human, and its sender is
told (queue_runner.QueueRunner.failed). It is never dropped and never passed on unprocessed.
"""

from __future__ import annotations

import logging

from gateway import flow
from gateway.config import WorkerConfig
from gateway.hold.workflow import HoldWorkflow
from gateway.inspection.tools import Inspectors
from gateway.policy.holder import PolicyHolder
from gateway.queue_runner import OnShunt, QueueRunner
from gateway.store.base import DispositionLost, Lease, Queue, Store

log = logging.getLogger(__name__)


class PipelineWorker(QueueRunner):
    def __init__(
        self,
        store: Store,
        settings: WorkerConfig,
        tools: Inspectors,
        policy: PolicyHolder,
        holds: HoldWorkflow | None = None,
        on_shunt: OnShunt | None = None,
    ) -> None:
        super().__init__(
            store,
            Queue.INBOUND,
            concurrency=settings.pipeline_concurrency,
            lease_seconds=settings.lease_seconds,
            poll_interval=settings.poll_interval,
            shutdown_seconds=settings.shutdown_seconds,
            max_failures=settings.max_failures,
            failure_delay=settings.failure_delay,
            on_shunt=on_shunt,
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
