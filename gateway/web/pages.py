"""The pages a notification link opens: an interstitial page (GET/HEAD change nothing: mail scanners
open links), and POST actions with a per-form token: confirm (optionally to some recipients only) and
cancel (withdraw, also after asking for approval) for the sender, approve and reject (with a reason)
for an approver. A sender's link also opens the list of their held mail, where each can be withdrawn.

The form token is bound to the hold, the link's secret and (when signed in) the session, not to a
cookie: two notices opened in two tabs, or a link opened from a webmail on another site, both work.
A cross-site page cannot make one: it would need the link's secret."""

from __future__ import annotations

import asyncio
import time

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gateway.hold import tokens
from gateway.hold.details import preview
from gateway.hold.model import Hold, HoldState, LinkToken, Scope
from gateway.hold.store import HoldFilter
from gateway.hold.transitions import REFUSALS, Refused
from gateway.store.base import Queue
from gateway.web.i18n import translator
from gateway.web.state import Web, web_of

ACTION_SCOPES = {"confirm": Scope.SENDER, "cancel": Scope.SENDER, "approve": Scope.APPROVER, "reject": Scope.APPROVER}


MINE_DAYS = 30  # a sender's link opens their list of held mail for this long after it was sent


def routes() -> list[BaseRoute]:
    return [
        Route("/h/{hold_id}/{secret}", link_page, methods=["GET"], include_in_schema=False),  # HEAD comes with GET
        Route("/h/{hold_id}/{secret}/mine", mine_page, methods=["GET"], include_in_schema=False),
        Route(
            "/h/{hold_id}/{secret}/mine/{other_id}/withdraw", mine_withdraw, methods=["POST"], include_in_schema=False
        ),
        Route("/h/{hold_id}/{secret}/{action}", link_action, methods=["POST"], include_in_schema=False),
    ]


def _binding(web: Web, request: Request, secret: str, token: LinkToken | None = None) -> str:
    """What a link's form token is bound to: the link's secret, and the session of a signed-in approver."""
    nonce = web.auth.session_nonce(request) if token is None or token.scope is Scope.APPROVER else ""
    return tokens.digest(secret) + ":" + nonce


def _can_withdraw(hold: Hold, token: LinkToken, now: float) -> bool:
    return token.scope is Scope.SENDER and hold.state is HoldState.HELD_MANAGER and now < hold.expires_at


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
    need_signin = (
        actionable
        and token.scope is Scope.APPROVER
        and web.config.web.approvers_sign_in
        and (user is None or user.email != token.actor)
    )
    return web.render(
        request,
        "hold.html",
        lang,
        hold=hold,
        scope=token.scope.value,
        actionable=actionable,
        choose=actionable and token.scope is Scope.SENDER,
        can_withdraw=_can_withdraw(hold, token, now),
        expired=now >= hold.expires_at and hold.state.waiting,
        need_signin=need_signin,
        signin_url=f"/admin/login?next={request.url.path}&lang={lang}",
        csrf=web.auth.form_token(hold.id, _binding(web, request, secret, token)),
        action_url=f"/h/{hold.id}/{secret}",
        mine_url=f"/h/{hold.id}/{secret}/mine?lang={lang}" if token.scope is Scope.SENDER else "",
        preview=await _preview(web, hold) if actionable else "",
        removed=hold.removed,
        reason_required=web.config.hold.reject_reason_required,
    )


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
    if not isinstance(csrf, str) or not web.auth.form_ok(csrf, hold_id, _binding(web, request, secret, _scoped(scope))):
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
    if action == "reject" and web.config.hold.reject_reason_required and not comment.strip():
        return _refused(web, request, lang, 400, "reason")
    try:
        await web.workflow.act(hold_id, secret, scope, action, keep=keep, comment=comment, signed_in=signed_in)
    except Refused as e:
        return _refused(web, request, lang, 409 if e.code in ("state", "used", "recipients") else 403, e.code)
    return RedirectResponse(f"/h/{hold_id}/{secret}?lang={lang}", status_code=303)


def _scoped(scope: Scope) -> LinkToken:
    return LinkToken("", scope, "")


async def _sender_link(web: Web, hold_id: str, secret: str) -> tuple[Hold, LinkToken] | None:
    """The hold and token of a sender's link that may open their list (a sender link, not too old)."""
    found = await _lookup(web, hold_id, secret)
    if found is None:
        return None
    hold, token = found
    if token.scope is not Scope.SENDER or time.time() - hold.created_at > MINE_DAYS * 86400:
        return None
    return hold, token


async def mine_page(request: Request) -> Response:
    """The sender's own held mail: every message of theirs still held, or decided in the last days."""
    web = web_of(request)
    hold_id, secret = request.path_params["hold_id"], request.path_params["secret"]
    found = await _sender_link(web, hold_id, secret)
    if found is None:
        lang = web.language(request)
        t = translator(lang)
        return web.message(request, lang, 404, t("refused"), t("not_found"))
    hold, token = found
    lang = web.language(request, None, hold.language)
    mine = await asyncio.to_thread(web.holds.find, HoldFilter(sender=token.actor))
    mine = [h for h in mine if h.sender == token.actor][:100]
    binding = _binding(web, request, secret, token)
    return web.render(
        request,
        "mine.html",
        lang,
        holds=[(h, web.auth.form_token("withdraw:" + h.id, binding)) for h in mine],
        action_url=f"/h/{hold_id}/{secret}/mine",
        back_url=f"/h/{hold_id}/{secret}?lang={lang}",
        sender=token.actor,
    )


async def mine_withdraw(request: Request) -> Response:
    web = web_of(request)
    hold_id, secret, other_id = (request.path_params[k] for k in ("hold_id", "secret", "other_id"))
    lang = web.language(request)
    found = await _sender_link(web, hold_id, secret)
    if found is None:
        return _refused(web, request, lang, 403, "token")
    _, token = found
    form = await request.form()
    csrf = form.get("csrf")
    if not isinstance(csrf, str) or not web.auth.form_ok(
        csrf, "withdraw:" + other_id, _binding(web, request, secret, token)
    ):
        return _refused(web, request, lang, 403, "csrf")
    try:
        await web.workflow.withdraw(other_id, token.actor)
    except Refused as e:
        return _refused(web, request, lang, 409 if e.code == "state" else 403, e.code)
    return RedirectResponse(f"/h/{hold_id}/{secret}/mine?lang={lang}", status_code=303)


def _refused(web: Web, request: Request, lang: str, status: int, code: str) -> Response:
    t = translator(lang)
    ja, en = REFUSALS.get(code, REFUSALS["token"])
    return web.message(request, lang, status, t("refused"), ja if lang == "ja" else en)
