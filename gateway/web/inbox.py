"""The approver's inbox (signed in): every held message waiting for this approver (as an approver, a
deputy or the fallback group after escalation), to approve or reject several at once. Each decision
is its own atomic update, so a message someone else decided meanwhile is simply reported, not sent
twice."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gateway.hold.model import HoldState
from gateway.hold.store import HoldFilter
from gateway.hold.transitions import REFUSALS, Refused
from gateway.web.i18n import translator
from gateway.web.state import web_of

MAX_AT_ONCE = 100


def routes() -> list[BaseRoute]:
    return [
        Route("/inbox", inbox_page, methods=["GET"], include_in_schema=False),
        Route("/inbox", inbox_act, methods=["POST"], include_in_schema=False),
    ]


async def inbox_page(request: Request) -> Response:
    web = web_of(request)
    user = web.auth.user(request)
    if user is None or not user.email:
        return RedirectResponse(f"/admin/login?next=/inbox&lang={web.language(request)}", status_code=303)
    lang = web.language(request, user)
    waiting = await asyncio.to_thread(web.holds.find, HoldFilter(states=(HoldState.HELD_MANAGER,), limit=1000))
    mine = [h for h in waiting if user.email in h.approvers]
    q = request.query_params
    done, refused = int(q.get("done", "0") or 0), int(q.get("refused", "0") or 0)
    return web.render(
        request,
        "inbox.html",
        lang,
        holds=mine,
        user=user,
        csrf=web.auth.form_token("inbox", web.auth.session_nonce(request)),
        done=done,
        refused=refused,
        reason_required=web.config.hold.reject_reason_required,
    )


async def inbox_act(request: Request) -> Response:
    web = web_of(request)
    user = web.auth.user(request)
    lang = web.language(request, user)
    t = translator(lang)

    def refusal(code: str, status: int) -> Response:
        ja, en = REFUSALS[code]
        return web.message(request, lang, status, t("refused"), ja if lang == "ja" else en, "/inbox")

    if user is None or not user.email:
        return refusal("signin", 403)
    form = await request.form()
    csrf = form.get("csrf")
    if not isinstance(csrf, str) or not web.auth.form_ok(csrf, "inbox", web.auth.session_nonce(request)):
        return refusal("csrf", 403)
    action = str(form.get("action") or "")
    if action not in ("approve", "reject"):
        return refusal("scope", 400)
    comment = str(form.get("comment") or "")
    if action == "reject" and web.config.hold.reject_reason_required and not comment.strip():
        return refusal("reason", 400)
    chosen = list(dict.fromkeys(str(v) for v in form.getlist("hold")))[:MAX_AT_ONCE]
    if not chosen:
        return refusal("choose", 400)
    done = refused = 0
    for hold_id in chosen:
        try:
            await web.workflow.approve_signed_in(hold_id, user.email, action, comment)
            done += 1
        except Refused:
            refused += 1
    return RedirectResponse(f"/inbox?lang={lang}&done={done}&refused={refused}", status_code=303)
