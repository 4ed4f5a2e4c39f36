"""What every page handler shares: the node's store, holds, workflow, sign-in and templates (`Web`),
reached from a request with `web_of(request)`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jinja2
from prometheus_client import CollectorRegistry
from starlette.requests import Request
from starlette.responses import HTMLResponse

from gateway.config import Config
from gateway.hold.details import complete
from gateway.hold.labels import Labels
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

    def render(
        self,
        request: Request,
        name: str,
        lang: str,
        status: int = 200,
        *,
        lang_path: str | None = None,
        **context: Any,
    ) -> HTMLResponse:
        """A page. `lang_path`: where the language switch goes (a page answering a POST switches
        on the page it came back to, never on the POST's URL)."""
        other = "en" if lang == "ja" else "ja"
        labels = Labels(lang, self.config.hold.time_zone)
        hold = context.get("hold")
        if hold is not None and isinstance(getattr(hold, "details", None), dict):
            context["details"] = complete(hold.details)
        html = self.env.get_template(name).render(
            lang=lang,
            t=translator(lang),
            labels=labels,
            other_lang=other,
            lang_url=f"{lang_path or request.url.path}?lang={other}",
            when=labels.when,
            **context,
        )
        return HTMLResponse(html, status_code=status)

    def message(self, request: Request, lang: str, status: int, title: str, text: str, back: str = "") -> HTMLResponse:
        """An error or notice page, with a way back and a language switch that works after a POST."""
        back = back or _back_of(request)
        return self.render(request, "message.html", lang, status, title=title, text=text, back=back, lang_path=back)


def _back_of(request: Request) -> str:
    """Where an error page leads back to: the page of the link or admin page the request was about."""
    path = request.url.path
    parts = path.strip("/").split("/")
    if parts[0] == "h" and len(parts) >= 3:
        return "/" + "/".join(parts[:3])
    if parts[0] == "admin":
        if len(parts) >= 3 and parts[1] in ("holds", "shunt"):
            return "/admin/" + "/".join(parts[1:3]) if parts[1] == "holds" else "/admin/shunt"
        return "/admin" if path != "/admin/login" else "/admin/login"
    if parts[0] == "inbox":
        return "/inbox"
    return path if request.method in ("GET", "HEAD") else "/"


def web_of(request: Request) -> Web:
    web: Web = request.app.state.web
    return web
