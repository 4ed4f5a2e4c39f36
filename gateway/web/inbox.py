"""The approver's inbox (signed in): every held message waiting for this approver (as an approver, a
deputy or the fallback group after escalation, or for an approver who is away and named them), to
approve or reject several at once. Each decision is its own atomic update, so a message someone else
decided meanwhile is simply reported, not sent twice.

The approver also says here that they are away, naming a deputy from the users who can sign in, and
that they are back (POST with the page's form token; GET changes nothing)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gateway.hold.model import HoldState
from gateway.hold.store import HoldFilter
from gateway.hold.transitions import REFUSALS, Refused
from gateway.web.auth import User
from gateway.web.i18n import translator
from gateway.web.state import Web, web_of

MAX_AT_ONCE = 100


def routes() -> list[BaseRoute]:
    return [
        Route("/inbox", inbox_page, methods=["GET"], include_in_schema=False),
        Route("/inbox", inbox_act, methods=["POST"], include_in_schema=False),
        Route("/inbox/away", away_act, methods=["POST"], include_in_schema=False),
    ]


def _deputies(web: Web, user: User) -> list[User]:
    """Who can be named deputy: users of the users file with an address who approve (or administer)."""
    out = []
    for name in sorted(web.auth.users):
        entry = web.auth.users[name]
        email = entry.email.lower()
        if email and email != user.email and ({"approver", "admin"} & set(entry.roles)):
            out.append(User(entry.username, frozenset(entry.roles), email, entry.language))
    return out


async def inbox_page(request: Request) -> Response:
    web = web_of(request)
    user = web.auth.user(request)
    if user is None or not user.email:
        return RedirectResponse(f"/admin/login?next=/inbox&lang={web.language(request)}", status_code=303)
    lang = web.language(request, user)
    waiting = await asyncio.to_thread(web.holds.find, HoldFilter(states=(HoldState.HELD_MANAGER,), limit=1000))
    acting_for = await web.workflow.acting_for(user.email)
    mine = [h for h in waiting if user.email in h.approvers or acting_for & set(h.approvers)]
    chosen = (await asyncio.to_thread(web.holds.away)).get(user.email, "")
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
        standing_in={h.id: sorted(acting_for & set(h.approvers)) for h in mine if user.email not in h.approvers},
        deputy=chosen,
        deputies=_deputies(web, user),
        away_in_config=user.email in {a.lower() for a in web.config.hold.away},
        away_csrf=web.auth.form_token("away", web.auth.session_nonce(request)),
    )


@dataclass
class _Post:
    """A signed-in approver's form post whose form token is right, or the page that refuses it."""

    web: Web
    user: User
    lang: str
    form: FormData

    def refusal(self, request: Request, code: str, status: int) -> Response:
        return _refusal(self.web, request, self.lang, code, status)


def _refusal(web: Web, request: Request, lang: str, code: str, status: int) -> Response:
    ja, en = REFUSALS[code]
    return web.message(request, lang, status, translator(lang)("refused"), ja if lang == "ja" else en, "/inbox")


async def _signed_post(request: Request, form_name: str) -> _Post | Response:
    web = web_of(request)
    user = web.auth.user(request)
    lang = web.language(request, user)
    if user is None or not user.email:
        return _refusal(web, request, lang, "signin", 403)
    form = await request.form()
    csrf = form.get("csrf")
    if not isinstance(csrf, str) or not web.auth.form_ok(csrf, form_name, web.auth.session_nonce(request)):
        return _refusal(web, request, lang, "csrf", 403)
    return _Post(web, user, lang, form)


async def away_act(request: Request) -> Response:
    """Away with a deputy (`deputy` one of the users offered), or back (`deputy` empty)."""
    post = await _signed_post(request, "away")
    if isinstance(post, Response):
        return post
    web, user, lang, form = post.web, post.user, post.lang, post.form

    deputy = str(form.get("deputy") or "").strip().lower()
    if deputy and deputy not in {u.email for u in _deputies(web, user)}:
        return post.refusal(request, "deputy", 400)
    try:
        await web.workflow.set_away(user.email, deputy or None)
    except Refused as e:
        return post.refusal(request, e.code, 400)
    return RedirectResponse(f"/inbox?lang={lang}", status_code=303)


async def inbox_act(request: Request) -> Response:
    post = await _signed_post(request, "inbox")
    if isinstance(post, Response):
        return post
    web, user, lang, form = post.web, post.user, post.lang, post.form

    action = str(form.get("action") or "")
    if action not in ("approve", "reject"):
        return post.refusal(request, "scope", 400)
    comment = str(form.get("comment") or "")
    if action == "reject" and web.config.hold.reject_reason_required and not comment.strip():
        return post.refusal(request, "reason", 400)
    chosen = list(dict.fromkeys(str(v) for v in form.getlist("hold")))[:MAX_AT_ONCE]
    if not chosen:
        return post.refusal(request, "choose", 400)
    done = refused = 0
    for hold_id in chosen:
        try:
            await web.workflow.approve_signed_in(hold_id, user.email, action, comment)
            done += 1
        except Refused:
            refused += 1
    return RedirectResponse(f"/inbox?lang={lang}&done={done}&refused={refused}", status_code=303)
