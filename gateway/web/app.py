"""The Starlette application: routes, security headers on every response, and rendering.

Every response carries Cache-Control: no-store and Referrer-Policy: no-referrer (a link's token is
in its path and must not leak through caches or Referer headers), a strict Content-Security-Policy
(no external assets, no inline script) and X-Frame-Options: DENY.
"""

from __future__ import annotations

import asyncio
import hmac
from pathlib import Path

import jinja2
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.config import Config
from gateway.hold.notify import TEMPLATES
from gateway.hold.store import HoldStore
from gateway.hold.workflow import HoldWorkflow
from gateway.mail.safe_text import one_line
from gateway.metrics import StoreCollector, registry
from gateway.store.base import Store, StoreError
from gateway.web import admin, api, inbox, pages
from gateway.web.auth import LocalUsers, load_users
from gateway.web.state import Web, web_of

SECURITY_HEADERS = [
    (b"cache-control", b"no-store"),
    (b"pragma", b"no-cache"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (
        b"content-security-policy",
        b"default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; "
        b"frame-ancestors 'none'; base-uri 'none'",
    ),
]


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {h[0] for h in SECURITY_HEADERS}
                headers = [h for h in message.get("headers", []) if h[0].lower() not in names]
                message["headers"] = headers + SECURITY_HEADERS
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def stylesheet(request: Request) -> Response:
    css = (TEMPLATES / "web" / "app.css").read_text(encoding="utf-8")
    return Response(css, media_type="text/css")


async def script(request: Request) -> Response:
    js = (TEMPLATES / "web" / "app.js").read_text(encoding="utf-8")
    return Response(js, media_type="text/javascript")


async def metrics(request: Request) -> Response:
    """Prometheus text. With web.metrics_token, only for `Authorization: Bearer <token>`."""
    wanted: str = request.app.state.metrics_token
    if wanted:
        given = request.headers.get("authorization", "")
        scheme, _, token = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), wanted.encode()):
            return PlainTextResponse("unauthorized", status_code=401, headers={"WWW-Authenticate": "Bearer"})
    body = generate_latest(registry()) + generate_latest(request.app.state.store_metrics)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def _store_metrics(store: Store, holds: HoldStore) -> CollectorRegistry:
    collected = CollectorRegistry()
    collected.register(StoreCollector(store, holds))
    return collected


def create_metrics_app(config: Config, store: Store, holds: HoldStore) -> Starlette:
    """/metrics alone, for web.metrics_listen (a port of its own, e.g. only on the monitoring network)."""
    app = Starlette(routes=[Route("/metrics", metrics, methods=["GET"])])
    app.state.metrics_token = config.web.metrics_token
    app.state.store_metrics = _store_metrics(store, holds)
    return app


async def health(request: Request) -> Response:
    """For load balancers and monitors: 200 while the store answers, 503 when it does not."""
    try:
        await asyncio.to_thread(web_of(request).store.ping)
    except StoreError as e:
        return PlainTextResponse(f"store unavailable: {type(e).__name__}", status_code=503)
    return PlainTextResponse("ok")


def page_environment(templates: Path = TEMPLATES) -> jinja2.Environment:
    """The pages' templates (also compiled by `gateway check-config`)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates / "web")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["line"] = one_line  # message text on a page: one line, no control characters (escaped too)
    return env


def create_app(
    config: Config, store: Store, holds: HoldStore, workflow: HoldWorkflow, templates: Path = TEMPLATES
) -> Starlette:
    env = page_environment(templates)
    auth = LocalUsers(
        load_users(config.web.users_file),
        holds.secret(),
        config.web.session_hours * 3600,
        secure=config.web.base_url.startswith("https://"),
    )
    store_metrics = _store_metrics(store, holds)
    # With web.metrics_listen, /metrics is served there only (create_metrics_app), not here.
    metrics_here = (
        [] if config.web.metrics_listen else [Route("/metrics", metrics, methods=["GET"], include_in_schema=False)]
    )
    routes: list[BaseRoute] = [
        Route("/static/app.css", stylesheet, methods=["GET"], include_in_schema=False),
        Route("/static/app.js", script, methods=["GET"], include_in_schema=False),
        *metrics_here,
        Route("/healthz", health, methods=["GET"], include_in_schema=False),
        *pages.routes(),
        *inbox.routes(),
        *admin.routes(),
        *api.routes(),
    ]
    app = Starlette(routes=routes)
    app.state.web = Web(config, store, holds, workflow, auth, env, store_metrics)
    app.state.metrics_token = config.web.metrics_token
    app.state.store_metrics = store_metrics
    app.add_middleware(SecurityHeaders)
    return app
