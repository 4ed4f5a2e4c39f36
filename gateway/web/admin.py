"""Admin pages (signed in, role admin): the held queue with filters and the shunt queue (messages the
gateway could not process, with the error), one hold's details and audit
log with release / reject / extend, the whole audit log, and per-rule statistics. Also sign-in and
sign-out for admins and approvers."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gateway.hold.model import HoldState
from gateway.hold.store import HoldFilter
from gateway.hold.transitions import REFUSALS, Refused
from gateway.store.base import Queue
from gateway.web.auth import User
from gateway.web.i18n import translator
from gateway.web.state import Web, web_of
from gateway.web.throttle import login_throttle, throttled_check, whole_seconds

log = logging.getLogger(__name__)


def routes() -> list[BaseRoute]:
    return [
        Route("/", front_door, methods=["GET"], include_in_schema=False),
        Route("/admin/login", login_page, methods=["GET"], include_in_schema=False),
        Route("/admin/login", login, methods=["POST"], include_in_schema=False),
        Route("/admin/logout", logout, methods=["POST"], include_in_schema=False),
        Route("/admin", queue_page, methods=["GET"], include_in_schema=False),
        Route("/admin/holds/{hold_id}", hold_page, methods=["GET"], include_in_schema=False),
        Route("/admin/holds/{hold_id}/{action}", hold_action, methods=["POST"], include_in_schema=False),
        Route("/admin/audit", audit_page, methods=["GET"], include_in_schema=False),
        Route("/admin/stats", stats_page, methods=["GET"], include_in_schema=False),
        Route("/admin/shunt", shunt_page, methods=["GET"], include_in_schema=False),
        Route("/admin/shunt/{message_id}/{action}", shunt_action, methods=["POST"], include_in_schema=False),
    ]


# `/`: the admin queue, which sends whoever is not signed in to the sign-in page. (No docstring: the
# OpenAPI generator reads route docstrings as YAML.)
async def front_door(request: Request) -> Response:
    web = web_of(request)
    target = "/admin" if web.auth.user(request) is not None else "/admin/login?next=/admin"
    return RedirectResponse(target, status_code=303)


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


def _with_csrf(web: Web, request: Request, name: str, lang: str, status: int = 200, **context: Any) -> Response:
    """A page with forms. Signed in: the forms' token is bound to the session (no cookie, so tabs
    never spoil each other). The sign-in form, before any session, uses a CSRF cookie."""
    nonce = web.auth.session_nonce(request)
    if nonce:
        return web.render(request, name, lang, status, csrf=web.auth.form_token("admin", nonce), **context)
    cookie, fresh = web.auth.csrf_cookie(request)
    response = web.render(request, name, lang, status, csrf=web.auth.csrf_token(cookie, "admin"), **context)
    if fresh:
        web.auth.set_csrf_cookie(response, cookie)
    return response


def _form_ok(web: Web, request: Request, submitted: object) -> bool:
    if not isinstance(submitted, str):
        return False
    nonce = web.auth.session_nonce(request)
    if nonce:
        return web.auth.form_ok(submitted, "admin", nonce)
    return web.auth.csrf_ok(request, submitted, "admin")


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
    if not isinstance(csrf, str) or not (web.auth.csrf_ok(request, csrf, "admin") or _form_ok(web, request, csrf)):
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
    if nxt == "/admin" and not user.is_admin:
        nxt = "/inbox"  # an approver signing in on their own lands on their inbox
    response = RedirectResponse(nxt, status_code=303)
    web.auth.issue_session(response, user)
    return response


async def logout(request: Request) -> Response:
    web = web_of(request)
    form = await request.form()
    if not _form_ok(web, request, form.get("csrf")):
        lang = web.language(request)
        t = translator(lang)
        return web.message(request, lang, 403, t("refused"), REFUSALS["csrf"][0 if lang == "ja" else 1], "/admin")
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
    holds, stats, counts = await asyncio.gather(
        asyncio.to_thread(web.holds.find, where),
        asyncio.to_thread(web.holds.stats),
        asyncio.to_thread(web.store.counts),
    )
    lang = web.language(request, user)
    rules = sorted(set(stats) | {h.rule for h in holds})
    return _with_csrf(
        web,
        request,
        "admin_queue.html",
        lang,
        holds=holds,
        where=where,
        states=list(HoldState),
        rules=rules,
        user=user,
        now=time.time(),
        age=lambda seconds: _age(seconds, lang),
        shunted=counts.get(Queue.SHUNT, 0),
    )


def _age(seconds: float, lang: str) -> str:
    t = translator(lang)
    minutes = max(0, int(seconds // 60))
    if minutes < 60:
        return t("minutes_short").format(n=minutes)
    if minutes < 48 * 60:
        return t("hours_short").format(n=minutes // 60)
    return t("days_short").format(n=minutes // 1440)


async def hold_page(request: Request) -> Response:
    web = web_of(request)
    user = _admin(web, request)
    if isinstance(user, Response):
        return user
    lang = web.language(request, user)
    hold = await asyncio.to_thread(web.holds.get, request.path_params["hold_id"])
    if hold is None:
        t = translator(lang)
        return web.message(request, lang, 404, t("refused"), t("hold_not_found"), "/admin")
    audit = await asyncio.to_thread(web.holds.audit, hold.id)
    return _with_csrf(
        web,
        request,
        "admin_hold.html",
        lang,
        hold=hold,
        audit=audit,
        user=user,
        removed=hold.removed,
        choose=False,
        reason_required=web.config.hold.reject_reason_required,
    )


async def hold_action(request: Request) -> Response:
    web = web_of(request)
    user = _admin(web, request)
    if isinstance(user, Response):
        return user
    lang = web.language(request, user)
    form = await request.form()
    if not _form_ok(web, request, form.get("csrf")):
        t = translator(lang)
        return web.message(request, lang, 403, t("refused"), REFUSALS["csrf"][0 if lang == "ja" else 1])
    hold_id, action = request.path_params["hold_id"], request.path_params["action"]
    try:
        hours = float(form.get("hours") or 0)  # type: ignore[arg-type]
    except ValueError:
        hours = 0.0
    comment = str(form.get("comment") or "")
    if action == "reject" and web.config.hold.reject_reason_required and not comment.strip():
        t = translator(lang)
        ja, en = REFUSALS["reason"]
        return web.message(request, lang, 400, t("refused"), ja if lang == "ja" else en)
    try:
        await web.workflow.admin(hold_id, action, user.username, comment=comment, hours=hours)
    except Refused as e:
        t = translator(lang)
        ja, en = REFUSALS.get(e.code, REFUSALS["state"])
        return web.message(request, lang, 409, t("refused"), ja if lang == "ja" else en)
    return RedirectResponse(f"/admin/holds/{hold_id}?lang={lang}", status_code=303)


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


async def shunt_page(request: Request) -> Response:
    """Messages the pipeline or delivery gave up on: for a human to retry or discard."""
    web = web_of(request)
    user = _admin(web, request)
    if isinstance(user, Response):
        return user
    messages = await asyncio.to_thread(web.store.list_queue, Queue.SHUNT, 200)
    lang = web.language(request, user)
    return _with_csrf(web, request, "admin_shunt.html", lang, messages=messages, user=user)


async def shunt_action(request: Request) -> Response:
    """retry: back to the queue it failed on (inbound: inspected again; outbound: delivered again);
    discard: deleted unsent. Either takes the message under a claim, so two admins act once."""
    web = web_of(request)
    user = _admin(web, request)
    if isinstance(user, Response):
        return user
    lang = web.language(request, user)
    t = translator(lang)
    form = await request.form()
    if not _form_ok(web, request, form.get("csrf")):
        return web.message(request, lang, 403, t("refused"), REFUSALS["csrf"][0 if lang == "ja" else 1])
    message_id, action = request.path_params["message_id"], request.path_params["action"]
    if action not in ("retry", "discard"):
        return web.message(request, lang, 404, t("refused"), t("not_found"))
    lease = await asyncio.to_thread(web.store.claim_message, Queue.SHUNT, message_id, web.config.worker.lease_seconds)
    if lease is None:
        ja, en = REFUSALS["state"]
        return web.message(request, lang, 409, t("refused"), ja if lang == "ja" else en)
    message = lease.message
    if action == "discard":
        done = await asyncio.to_thread(web.store.finish, lease)
    else:
        target = Queue.OUTBOUND if message.released or message.is_notice or message.delivered else Queue.INBOUND
        if message.shunt_reason.startswith("outbound"):
            target = Queue.OUTBOUND
        message.attempts = 0
        message.failures = 0  # a fresh count of failures (worker.max_failures)
        message.shunt_reason = ""
        done = await asyncio.to_thread(web.store.move, lease, target, message)
    log.info("shunt %s: %s by admin %s", message_id, action, user.username)
    if not done:
        ja, en = REFUSALS["state"]
        return web.message(request, lang, 409, t("refused"), ja if lang == "ja" else en)
    return RedirectResponse(f"/admin/shunt?lang={lang}", status_code=303)
