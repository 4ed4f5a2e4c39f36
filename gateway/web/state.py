"""What every page handler shares: the node's store, holds, workflow, sign-in and templates (`Web`),
reached from a request with `web_of(request)`."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import jinja2
from prometheus_client import CollectorRegistry
from starlette.requests import Request
from starlette.responses import HTMLResponse

from gateway.config import Config
from gateway.hold.store import HoldStore
from gateway.hold.workflow import HoldWorkflow
from gateway.store.base import Store
from gateway.web.auth import LocalUsers, User
from gateway.web.i18n import translator


@dataclass
class Web:
    config: Config
    store: Store
    holds: HoldStore
    workflow: HoldWorkflow
    auth: LocalUsers
    env: jinja2.Environment
    metrics: CollectorRegistry

    def language(self, request: Request, user: User | None = None, fallback: str = "") -> str:
        asked = request.query_params.get("lang", "")
        if asked in ("ja", "en"):
            return asked
        if user is not None and user.language:
            return user.language
        return fallback or self.config.hold.language

    def render(self, request: Request, name: str, lang: str, status: int = 200, **context: Any) -> HTMLResponse:
        other = "en" if lang == "ja" else "ja"
        html = self.env.get_template(name).render(
            lang=lang,
            t=translator(lang),
            other_lang=other,
            lang_url=f"{request.url.path}?lang={other}",
            when=lambda t: time.strftime("%Y-%m-%d %H:%M", time.localtime(t)),
            **context,
        )
        return HTMLResponse(html, status_code=status)

    def message(self, request: Request, lang: str, status: int, title: str, text: str) -> HTMLResponse:
        return self.render(request, "message.html", lang, status, title=title, text=text)


def web_of(request: Request) -> Web:
    web: Web = request.app.state.web
    return web
