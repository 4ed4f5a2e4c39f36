"""Starts the parts of a node: SMTP receive, pipeline worker, delivery. `gateway run` starts all of
them in one process (plus extra receive processes sharing the port when smtp.processes > 1);
`gateway smtp|worker|deliver` start one part, so several nodes can share a Redis store.

The pipeline worker inspects in the inspection worker pool (gateway/inspection), started before anything
else: a node whose models do not load does not start. It decides with the rules of gateway/policy:
loaded before anything starts (broken rules stop start-up), reloaded on SIGHUP and, with
policy.watch, when a file changes; a broken new set is logged and the old one kept.

Shutdown on SIGTERM/SIGINT: stop accepting connections, let transactions finish and messages in
flight finish within worker.shutdown_seconds (the rest are interrupted and their leases released, due
at once), close the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable, Collection
from typing import TYPE_CHECKING

from gateway.config import Config
from gateway.message import Envelope, QueuedMessage, new_message_id
from gateway.processes import ChildFailed, ChildProcesses, Doorbells, stop_when_orphaned
from gateway.store import open_store, ping_store
from gateway.store.base import Queue, Store, StoreError
from gateway.store.url import redact_url

if TYPE_CHECKING:  # each part imports what it runs (serve): a receive process loads no rules, models or pages
    from gateway.hold.notify import Notifier
    from gateway.hold.store import HoldStore
    from gateway.hold.workflow import HoldWorkflow
    from gateway.inspection.tools import Inspectors
    from gateway.queue_runner import OnShunt
    from gateway.recipients.contacts import ContactBook
    from gateway.recipients.history import RecipientHistory
    from gateway.store.group_commit import GroupCommitter

log = logging.getLogger(__name__)

PARTS = ("smtp", "worker", "deliver", "web")


def make_on_shunt(store: Store, notifier: Notifier) -> OnShunt:
    """Once a worker shunted a message: tell its sender where a human must act."""

    async def on_shunt(message: QueuedMessage, raw: bytes | None) -> object:
        if raw is None:
            try:
                raw = await asyncio.to_thread(store.raw, message.id)
            except Exception:  # the notice goes without the subject
                raw = None
        return await notifier.shunted(message, raw)

    return on_shunt


async def wait_for_store(url: str, stop: asyncio.Event, first: float = 1.0, longest: float = 30.0) -> bool:
    """A Redis store that does not answer at start is tried again, with back-off, until it does (True)
    or the node is told to stop (False): services come and go, a restart order is not an error."""
    delay = first
    while not stop.is_set():
        try:
            await asyncio.to_thread(ping_store, url)
            if delay > first:
                log.info("store %s answers now", redact_url(url))
            return True
        except StoreError as e:
            log.warning("store %s not reachable (%s); trying again in %.0f s", redact_url(url), e, delay)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        delay = min(delay * 2, longest)
    return False


def admin_addresses(config: Config) -> list[str]:
    """The admins' addresses (web.users_file, role admin): they approve when nobody else is configured to."""
    from gateway.web.auth import load_users

    return [u.email for u in load_users(config.web.users_file).values() if "admin" in u.roles and u.email]


def make_accept(committer: GroupCommitter) -> Callable[[Envelope, bytes], Awaitable[str]]:
    """The SMTP side's only way into the gateway: durably queue a message, return its queue id."""

    async def accept(envelope: Envelope, raw: bytes) -> str:
        message = QueuedMessage(
            id=new_message_id(), envelope=envelope, received_at=time.time(), pending=envelope.rcpt_tos
        )
        await committer.accept(message, raw)
        return message.id

    return accept


def freeze_heap() -> None:
    """Collect the garbage of start-up, then move every object left (modules, config, rules, the
    parts) to the collector's permanent generation (gc.freeze): they live as long as the process, and
    each full collection would otherwise walk them all again (about 20 ms for 80,000 objects, a few
    times per thousand messages). Reference counting still frees them; only a reference cycle among
    them that becomes garbage later (an old rule set after a reload) stays until the process ends."""
    gc.collect()
    gc.freeze()


async def serve(
    config: Config,
    parts: Collection[str] = PARTS,
    store: Store | None = None,
    children: ChildProcesses | None = None,
    doorbells: Doorbells | None = None,
    settle: bool = False,
) -> None:
    """Run the given parts until SIGTERM/SIGINT (and keep the child processes running, if given).
    `doorbells` (a child's; the first process takes its children's) wake the queue workers across
    the processes of the node. With `settle` (every process of `gateway run`), what start-up built
    is frozen once the parts are running (freeze_heap)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    policy = None
    if "worker" in parts:
        from gateway.policy.holder import PolicyHolder

        policy = PolicyHolder(config.policy)  # PolicyError: do not start
    if policy is not None:
        loop.add_signal_handler(signal.SIGHUP, lambda: loop.create_task(asyncio.to_thread(policy.reload)))
    if store is None and not await wait_for_store(config.store.url, stop):
        return
    store = store or open_store(
        config.store.url,
        config.worker.node_id,
        min_replicas=config.store.redis_min_replicas,
        replica_timeout=config.store.redis_replica_timeout,
    )
    workers: list[asyncio.Task[None]] = []
    server = committer = None
    tools: Inspectors | None = None
    history: RecipientHistory | None = None
    contacts: ContactBook | None = None
    holds: HoldStore | None = None
    workflow: HoldWorkflow | None = None
    on_shunt: OnShunt | None = None
    if {"worker", "deliver", "web"} & set(parts):  # a process that only receives needs none of this
        from gateway.hold.backends import open_holds
        from gateway.hold.notify import NoticeSettings, Notifier
        from gateway.hold.workflow import HoldWorkflow
        from gateway.recipients.contacts_backends import open_contacts
        from gateway.recipients.history_backends import open_node_history

        if {"worker", "deliver"} & set(parts):
            history = open_node_history(config.store.url, config.recipients)
            if config.recipients.misaddressed.enabled:
                contacts = open_contacts(config.store.url)
        holds = open_holds(config.store.url)
        notifier = Notifier(store, NoticeSettings.of(config))
        on_shunt = make_on_shunt(store, notifier)
        workflow = HoldWorkflow.from_config(store, holds, config, admins=admin_addresses(config))
    web = None
    doorbells = children.doorbells if children is not None else doorbells
    unring: Callable[[], None] | None = None
    try:
        if doorbells is not None:  # other processes of the node wake our workers, we theirs
            worked_here = [Queue.INBOUND] if policy is not None else []
            worked_here += [Queue.OUTBOUND] if "deliver" in parts else []
            unring = doorbells.connect(store, loop, worked_here)
        if policy is not None:  # the models load first: a node that cannot scan does not start
            from gateway.inspection.tools import Inspectors

            tools = Inspectors.from_config(config, history, contacts=contacts)
            await tools.start()
        if "smtp" in parts:
            from gateway.smtp.server import start_smtp_server
            from gateway.store.group_commit import GroupCommitter

            committer = GroupCommitter(store, max_batch=config.smtp.commit_batch_max)
            server = await start_smtp_server(config.smtp, make_accept(committer))
            log.info("smtp listening on %s (port %d)", config.smtp.listen, server.port)
        if policy is not None and tools is not None:
            from gateway.pipeline import PipelineWorker

            pipeline = PipelineWorker(store, config.worker, tools, policy, workflow, on_shunt=on_shunt)
            workers.append(asyncio.create_task(pipeline.run(stop)))
            if config.policy.watch:
                workers.append(asyncio.create_task(policy.watch(stop)))
        if "deliver" in parts:
            from gateway.outbound.worker import DeliveryWorker
            from gateway.recipients.pruning import prune_periodically

            deliver = DeliveryWorker.from_config(
                store, config, history=history, holds=holds, contacts=contacts, on_shunt=on_shunt
            )
            workers.append(asyncio.create_task(deliver.run(stop)))
            if history is not None:
                retention = config.recipients.history_retention_days
                workers.append(asyncio.create_task(prune_periodically(history, retention, stop, contacts)))
        if children is not None:  # after the models loaded: a node that cannot scan takes no mail
            children.start()
            if "smtp" in children.parts:  # receiving has processes of its own: the rest yields to it
                os.nice(config.worker.nice)
            workers.append(asyncio.create_task(children.supervise(stop)))
        if workflow is not None:  # expiry, reminders, delay release (every node; updates are atomic)
            workers.append(asyncio.create_task(workflow.run(stop)))
        if "web" in parts and config.web.enabled and holds is not None and workflow is not None:
            from gateway.web.server import start_web

            web = await start_web(config, store, holds, workflow)
            log.info("web listening on %s", config.web.listen)
        if settle:
            freeze_heap()
        log.info("gateway ready: %s", ", ".join(p for p in PARTS if p in parts))
        await stop.wait()
        log.info("shutting down")
    finally:
        stop.set()
        if server is not None:
            await server.close()
        if web is not None:
            await web.close()
        if committer is not None:
            await committer.close()
        await asyncio.gather(*workers, return_exceptions=True)
        if tools is not None:
            tools.close()
        if history is not None:
            history.close()
        if contacts is not None:
            contacts.close()
        if holds is not None:
            holds.close()
        if unring is not None:
            unring()
        store.close()
        log.info("stopped")


def _serve_part(config: Config, part: str, doorbells: Doorbells) -> None:
    """A child process of `gateway run` (gateway/processes.py)."""
    from gateway.logsetup import name_process, setup_logging

    name_process(part)
    setup_logging(config.log_level)
    if part != "smtp" and config.smtp.processes > 1:
        os.nice(config.worker.nice)
    log.info("%s process %d started", part, os.getpid())
    stop_when_orphaned()
    asyncio.run(serve(config, (part,), doorbells=doorbells, settle=True))


def run_node(config: Config, parts: Collection[str] = PARTS) -> None:
    """Blocking entry for the CLI. Receiving (smtp.processes > 1) and delivery (relay.processes > 0)
    may run in child processes (gateway/processes.py); this process runs the other parts. Raises
    ChildFailed when a child cannot start."""
    spawned = []
    if "smtp" in parts and config.smtp.processes > 1:
        spawned += ["smtp"] * config.smtp.processes
    if "deliver" in parts and config.relay.processes > 0:
        spawned += ["deliver"] * config.relay.processes
    children = None
    if spawned:
        children = ChildProcesses(config, spawned, _serve_part)  # started by serve()
        parts = [p for p in parts if p not in spawned]
    try:
        asyncio.run(serve(config, parts, children=children, settle=True))
    finally:
        if children is not None:
            children.stop()
    if children is not None and children.failed:
        raise ChildFailed(children.failed)
