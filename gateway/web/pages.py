"""The pages a notification link opens: an interstitial page (GET/HEAD change nothing: mail scanners
open links), and POST actions with a CSRF token: confirm (optionally to some recipients only) and
cancel for the sender, approve and reject (with a comment) for an approver."""

from __future__ import annotations

import asyncio
import time

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gateway.hold import tokens
from gateway.hold.details import preview
from gateway.hold.model import Hold, HoldState, LinkToken, Scope
from gateway.hold.transitions import REFUSALS, Refused
from gateway.store.base import Queue
from gateway.web.i18n import translator
from gateway.web.state import Web, web_of

ACTION_SCOPES = {"confirm": Scope.SENDER, "cancel": Scope.SENDER, "approve": Scope.APPROVER, "reject": Scope.APPROVER}


def routes() -> list[BaseRoute]:
    return [
        Route("/h/{hold_id}/{secret}", link_page, methods=["GET"]),  # HEAD comes with GET
        Route("/h/{hold_id}/{secret}/{action}", link_action, methods=["POST"]),
    ]


def _actionable(hold: Hold, token: LinkToken, now: float) -> bool:
    if token.used_at is not None or now >= hold.expires_at:
        return False
    if token.scope is Scope.SENDER:
        return hold.state in (HoldState.HELD_SENDER, HoldState.DELAYED)
    return hold.state is HoldState.HELD_MANAGER


async def _lookup(web: Web, hold_id: str, secret: str) -> tuple[Hold, LinkToken] | None:
    if len(hold_id) > 64 or len(secret) > 128:
        return None
    hold = await asyncio.to_thread(web.holds.get, hold_id)
    if hold is None:
        tokens.match(secret, [])  # same work as a miss on a known hold
        return None
    token = tokens.match(secret, hold.tokens)
    return (hold, token) if token is not None else None


async def _preview(web: Web, hold: Hold) -> str:
    found = await asyncio.to_thread(web.store.get, hold.id)
    if found is None or found[0] is not Queue.HOLD:
        return ""
    try:
        raw = await asyncio.to_thread(web.store.raw, hold.id)
    except KeyError:
        return ""
    return preview(raw)


async def link_page(request: Request) -> Response:
    web = web_of(request)
    hold_id, secret = request.path_params["hold_id"], request.path_params["secret"]
    user = web.auth.user(request)
    found = await _lookup(web, hold_id, secret)
    if found is None:
        lang = web.language(request, user)
        t = translator(lang)
        return web.message(request, lang, 404, t("refused"), t("not_found"))
    hold, token = found
    lang = web.language(request, user, hold.language if token.scope is Scope.SENDER else "")
    now = time.time()
    actionable = _actionable(hold, token, now)
    cookie, fresh_cookie = web.auth.csrf_cookie(request)
    need_signin = (
        actionable
        and token.scope is Scope.APPROVER
        and web.config.web.approvers_sign_in
        and (user is None or user.email != token.actor)
    )
    response = web.render(
        request,
        "hold.html",
        lang,
        hold=hold,
        scope=token.scope.value,
        actionable=actionable,
        expired=now >= hold.expires_at and hold.state.waiting,
        need_signin=need_signin,
        signin_url=f"/admin/login?next={request.url.path}",
        csrf=web.auth.csrf_token(cookie, hold.id),
        action_url=f"/h/{hold.id}/{secret}",
        preview=await _preview(web, hold) if actionable else "",
        removed=hold.removed,
    )
    if fresh_cookie:
        web.auth.set_csrf_cookie(response, cookie)
    return response


async def link_action(request: Request) -> Response:
    web = web_of(request)
    hold_id, secret, action = (request.path_params[k] for k in ("hold_id", "secret", "action"))
    user = web.auth.user(request)
    lang = web.language(request, user)
    t = translator(lang)
    scope = ACTION_SCOPES.get(action)
    if scope is None:
        return web.message(request, lang, 404, t("refused"), t("not_found"))
    form = await request.form()
    csrf = form.get("csrf")
    if not isinstance(csrf, str) or not web.auth.csrf_ok(request, csrf, hold_id):
        return _refused(web, request, lang, 403, "csrf")
    signed_in: str | None = None
    if scope is Scope.APPROVER and web.config.web.approvers_sign_in:
        if user is None or not user.email:
            return _refused(web, request, lang, 403, "signin")
        signed_in = user.email
    keep: list[str] | None = None
    if action == "confirm" and form.get("choose") == "1":
        keep = [str(v) for v in form.getlist("keep")]
    comment = str(form.get("comment") or "")
    try:
        await web.workflow.act(hold_id, secret, scope, action, keep=keep, comment=comment, signed_in=signed_in)
    except Refused as e:
        return _refused(web, request, lang, 409 if e.code in ("state", "used", "recipients") else 403, e.code)
    return RedirectResponse(f"/h/{hold_id}/{secret}?lang={lang}", status_code=303)


def _refused(web: Web, request: Request, lang: str, status: int, code: str) -> Response:
    t = translator(lang)
    ja, en = REFUSALS.get(code, REFUSALS["token"])
    return web.message(request, lang, status, t("refused"), ja if lang == "ja" else en)
