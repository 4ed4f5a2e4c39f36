"""The web server inside the node's event loop (uvicorn as an asyncio task, beside SMTP and the
workers). uvicorn's access log is off: a link's path carries its token, and tokens are never logged."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Generator

import uvicorn
from starlette.types import ASGIApp

from gateway.config import Config, parse_host_port
from gateway.hold.store import HoldStore
from gateway.hold.workflow import HoldWorkflow
from gateway.store.base import Store
from gateway.web.app import create_app, create_metrics_app


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # The node owns SIGTERM/SIGINT (graceful shutdown of every part); uvicorn must not take them.
        yield


class WebServer:
    def __init__(self, server: uvicorn.Server, task: asyncio.Task[None], extra: list[WebServer] | None = None) -> None:
        self.server = server
        self.task = task
        self.extra = extra or []  # the metrics listener (web.metrics_listen)

    @property
    def port(self) -> int:
        return int(self.server.servers[0].sockets[0].getsockname()[1])

    async def close(self) -> None:
        for other in self.extra:
            await other.close()
        self.server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.task, timeout=10)


async def _serve(app: ASGIApp, listen: str) -> WebServer:
    host, port = parse_host_port(listen)
    server = _Server(uvicorn.Config(app, host=host, port=port, access_log=False, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # raises: the port is taken ...
            raise OSError(f"web server on {listen} did not start")
        await asyncio.sleep(0.02)
    return WebServer(server, task)


async def start_web(config: Config, store: Store, holds: HoldStore, workflow: HoldWorkflow) -> WebServer:
    web = await _serve(create_app(config, store, holds, workflow), config.web.listen)
    if config.web.metrics_listen:
        try:
            web.extra.append(await _serve(create_metrics_app(config, store, holds), config.web.metrics_listen))
        except BaseException:
            await web.close()
            raise
    return web
