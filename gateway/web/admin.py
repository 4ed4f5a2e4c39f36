"""Admin pages (signed in, role admin): the held queue with filters, one hold's details and audit
log with release / reject / extend, the whole audit log, and per-rule statistics. Also sign-in and
sign-out for admins and approvers."""

from __future__ import annotations

import asyncio
import logging
import math
import time

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gateway.hold.model import HoldState
from gateway.hold.store import HoldFilter
from gateway.hold.transitions import REFUSALS, Refused
from gateway.web.auth import User
from gateway.web.i18n import translator
from gateway.web.state import Web, web_of
from gateway.web.throttle import login_throttle, throttled_check, whole_seconds

log = logging.getLogger(__name__)


def routes() -> list[BaseRoute]:
    return [
        Route("/admin/login", login_page, methods=["GET"]),
        Route("/admin/login", login, methods=["POST"]),
        Route("/admin/logout", logout, methods=["POST"]),
        Route("/admin", queue_page, methods=["GET"]),
        Route("/admin/holds/{hold_id}", hold_page, methods=["GET"]),
        Route("/admin/holds/{hold_id}/{action}", hold_action, methods=["POST"]),
        Route("/admin/audit", audit_page, methods=["GET"]),
        Route("/admin/stats", stats_page, methods=["GET"]),
    ]


def _safe_next(value: str) -> str:
    return value if value.startswith("/") and not value.startswith("//") and "\\" not in value else "/admin"


def _admin(web: Web, request: Request) -> User | Response:
    user = web.auth.user(request)
    if user is None:
        return RedirectResponse(f"/admin/login?next={request.url.path}", status_code=303)
    if not user.is_admin:
        lang = web.language(request, user)
        t = translator(lang)
        return web.message(request, lang, 403, t("refused"), REFUSALS["signin"][0 if lang == "ja" else 1])
    return user


def _with_csrf(web: Web, request: Request, name: str, lang: str, status: int = 200, **context: object) -> Response:
    cookie, fresh = web.auth.csrf_cookie(request)
    response = web.render(request, name, lang, status, csrf=web.auth.csrf_token(cookie, "admin"), **context)
    if fresh:
        web.auth.set_csrf_cookie(response, cookie)
    return response


async def login_page(request: Request) -> Response:
    web = web_of(request)
    lang = web.language(request)
    return _with_csrf(
        web, request, "login.html", lang, next=_safe_next(request.query_params.get("next", "")), failed=False
    )


async def login(request: Request) -> Response:
    web = web_of(request)
    lang = web.language(request)
    form = await request.form()
    csrf = form.get("csrf")
    nxt = _safe_next(str(form.get("next") or ""))
    if not isinstance(csrf, str) or not web.auth.csrf_ok(request, csrf, "admin"):
        t = translator(lang)
        return web.message(request, lang, 403, t("refused"), REFUSALS["csrf"][0 if lang == "ja" else 1])
    username, password = str(form.get("username") or ""), str(form.get("password") or "")
    host = request.client.host if request.client else None
    user, wait = await throttled_check(
        login_throttle(request.app), host, username, lambda: web.auth.check_password(username, password)
    )
    if wait is not None:
        # Locked: answer without looking at the password, so a locked name cannot be probed.
        seconds = whole_seconds(wait)
        t = translator(lang)
        refused = web.message(
            request, lang, 429, t("refused"), t("signin_locked").format(minutes=max(1, math.ceil(seconds / 60)))
        )
        refused.headers["Retry-After"] = str(seconds)
        return refused
    if user is None:
        return _with_csrf(web, request, "login.html", lang, 401, next=nxt, failed=True)
    response = RedirectResponse(nxt, status_code=303)
    web.auth.issue_session(response, user)
    return response


async def logout(request: Request) -> Response:
    web = web_of(request)
    form = await request.form()
    csrf = form.get("csrf")
    if not isinstance(csrf, str) or not web.auth.csrf_ok(request, csrf, "admin"):
        return Response(status_code=403)
    response = RedirectResponse("/admin/login", status_code=303)
    web.auth.end_session(response)
    return response


def _filter(request: Request) -> HoldFilter:
    q = request.query_params
    states = tuple(HoldState(s) for s in q.getlist("state") if s in HoldState.__members__.values())
    older = None
    try:
        hours = float(q.get("age", "") or 0)
        older = time.time() - hours * 3600 if hours > 0 else None
    except ValueError:
        pass
    return HoldFilter(states=states, sender=q.get("sender", "")[:200], rule=q.get("rule", "")[:200], older_than=older)


async def queue_page(request: Request) -> Response:
    web = web_of(request)
    user = _admin(web, request)
    if isinstance(user, Response):
        return user
    where = _filter(request)
    holds = await asyncio.to_thread(web.holds.find, where)
    lang = web.language(request, user)
    return _with_csrf(
        web, request, "admin_queue.html", lang, holds=holds, where=where, states=list(HoldState), user=user
    )


async def hold_page(request: Request) -> Response:
    web = web_of(request)
    user = _admin(web, request)
    if isinstance(user, Response):
        return user
    lang = web.language(request, user)
    hold = await asyncio.to_thread(web.holds.get, request.path_params["hold_id"])
    if hold is None:
        t = translator(lang)
        return web.message(request, lang, 404, t("refused"), t("not_found"))
    audit = await asyncio.to_thread(web.holds.audit, hold.id)
    return _with_csrf(web, request, "admin_hold.html", lang, hold=hold, audit=audit, user=user, removed=hold.removed)


async def hold_action(request: Request) -> Response:
    web = web_of(request)
    user = _admin(web, request)
    if isinstance(user, Response):
        return user
    lang = web.language(request, user)
    form = await request.form()
    csrf = form.get("csrf")
    if not isinstance(csrf, str) or not web.auth.csrf_ok(request, csrf, "admin"):
        t = translator(lang)
        return web.message(request, lang, 403, t("refused"), REFUSALS["csrf"][0 if lang == "ja" else 1])
    hold_id, action = request.path_params["hold_id"], request.path_params["action"]
    try:
        hours = float(form.get("hours") or 0)  # type: ignore[arg-type]
    except ValueError:
        hours = 0.0
    try:
        await web.workflow.admin(hold_id, action, user.username, comment=str(form.get("comment") or ""), hours=hours)
    except Refused as e:
        t = translator(lang)
        ja, en = REFUSALS.get(e.code, REFUSALS["state"])
        return web.message(request, lang, 409, t("refused"), ja if lang == "ja" else en)
    return RedirectResponse(f"/admin/holds/{hold_id}", status_code=303)


async def audit_page(request: Request) -> Response:
    web = web_of(request)
    user = _admin(web, request)
    if isinstance(user, Response):
        return user
    entries = await asyncio.to_thread(web.holds.audit, None, 500)
    return _with_csrf(web, request, "admin_audit.html", web.language(request, user), entries=entries, user=user)


def ratio(row: dict[str, int]) -> float | None:
    decided = sum(row.get(k, 0) for k in ("released_as_is", "recipient_removed", "cancelled", "rejected"))
    if not decided:
        return None
    return (row.get("cancelled", 0) + row.get("recipient_removed", 0)) / decided


async def stats_page(request: Request) -> Response:
    web = web_of(request)
    user = _admin(web, request)
    if isinstance(user, Response):
        return user
    stats = await asyncio.to_thread(web.holds.stats)
    rows = [(rule, row, ratio(row)) for rule, row in stats.items()]
    return _with_csrf(web, request, "admin_stats.html", web.language(request, user), rows=rows, user=user)
