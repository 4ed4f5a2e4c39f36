"""JSON API for admins: the same as the admin pages. Authenticated by the admin session cookie or
HTTP Basic (the user file). State-changing calls need `Content-Type: application/json`, which a
cross-site form cannot send (no CORS headers are ever served), so they are safe from CSRF.

The OpenAPI schema is at /api/openapi.json (from the YAML in each endpoint's docstring)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.schemas import SchemaGenerator

from gateway.hold.model import Hold
from gateway.hold.transitions import Refused
from gateway.web.admin import _filter, ratio
from gateway.web.auth import User
from gateway.web.state import Web, web_of
from gateway.web.throttle import login_throttle, throttled_check

SCHEMA = SchemaGenerator(
    {
        "openapi": "3.0.0",
        "info": {"title": "Mail gateway hold API", "version": "1"},
        "components": {"securitySchemes": {"basic": {"type": "http", "scheme": "basic"}}},
        "security": [{"basic": []}],
    }
)


def routes() -> list[BaseRoute]:
    return [
        Route("/api/holds", list_holds, methods=["GET"]),
        Route("/api/holds/{hold_id}", get_hold, methods=["GET"]),
        Route("/api/holds/{hold_id}/{action}", act, methods=["POST"]),
        Route("/api/audit", audit, methods=["GET"]),
        Route("/api/stats", stats, methods=["GET"]),
        Route("/api/openapi.json", openapi, methods=["GET"], include_in_schema=False),
    ]


def _public(hold: Hold) -> dict[str, Any]:
    d = hold.to_json()
    d.pop("tokens", None)  # digests only, but nobody needs them
    d.pop("previews", None)  # attachment text (masked) is for the pages only
    d["rule"] = hold.rule
    d["removed"] = list(hold.removed)
    return d


async def _user(web: Web, request: Request) -> User | None:
    user = web.auth.user(request)
    header = request.headers.get("authorization", "")
    if user is None and header.lower().startswith("basic "):
        try:
            name, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        # The same throttle as the admin form: while locked, 401 without a password check.
        host = request.client.host if request.client else None
        user, _ = await throttled_check(
            login_throttle(request.app), host, name, lambda: web.auth.check_password(name, password)
        )
    return user if user is not None and user.is_admin else None


def _denied() -> Response:
    return JSONResponse(
        {"error": "unauthorized"}, status_code=401, headers={"WWW-Authenticate": 'Basic realm="gateway"'}
    )


async def list_holds(request: Request) -> Response:
    """
    summary: Held messages, newest first
    parameters:
      - {name: state, in: query, schema: {type: string}, description: "held_sender, held_manager, delayed, ..."}
      - {name: sender, in: query, schema: {type: string}}
      - {name: rule, in: query, schema: {type: string}}
      - {name: age, in: query, schema: {type: number}, description: at least this many hours old}
    responses:
      200: {description: "{holds: [...]}"}
      401: {description: not signed in as an admin}
    """
    web = web_of(request)
    if await _user(web, request) is None:
        return _denied()
    holds = await asyncio.to_thread(web.holds.find, _filter(request))
    return JSONResponse({"holds": [_public(h) for h in holds]})


async def get_hold(request: Request) -> Response:
    """
    summary: One hold with its audit log
    parameters:
      - {name: hold_id, in: path, required: true, schema: {type: string}}
    responses:
      200: {description: "{hold: {...}, audit: [...]}"}
      404: {description: unknown hold}
    """
    web = web_of(request)
    if await _user(web, request) is None:
        return _denied()
    hold = await asyncio.to_thread(web.holds.get, request.path_params["hold_id"])
    if hold is None:
        return JSONResponse({"error": "not found"}, status_code=404)
    entries = await asyncio.to_thread(web.holds.audit, hold.id)
    return JSONResponse({"hold": _public(hold), "audit": [e.to_json() for e in entries]})


async def act(request: Request) -> Response:
    """
    summary: Release, reject or extend a waiting hold
    description: "Body: {\\"comment\\": \\"...\\", \\"hours\\": 24}. A reject needs a comment (the reason)
      when hold.reject_reason_required is on."
    parameters:
      - {name: hold_id, in: path, required: true, schema: {type: string}}
      - {name: action, in: path, required: true, schema: {type: string, enum: [release, reject, extend]}}
    requestBody:
      content:
        application/json:
          schema:
            type: object
            properties: {comment: {type: string}, hours: {type: number}}
    responses:
      200: {description: "{hold: {...}}"}
      400: {description: "a reject without a reason: {error: reason}"}
      409: {description: "the hold is not waiting any more: {error: state}"}
      415: {description: body is not JSON}
    """
    web = web_of(request)
    user = await _user(web, request)
    if user is None:
        return _denied()
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return JSONResponse({"error": "send application/json"}, status_code=415)
    try:
        body = json.loads(await request.body() or b"{}")
        comment = str(body.get("comment", ""))
        hours = float(body.get("hours", 0))
    except (ValueError, AttributeError, TypeError):
        return JSONResponse({"error": "bad request"}, status_code=400)
    hold_id, action = request.path_params["hold_id"], request.path_params["action"]
    if action == "reject" and web.config.hold.reject_reason_required and not comment.strip():
        return JSONResponse({"error": "reason"}, status_code=400)
    try:
        change = await web.workflow.admin(hold_id, action, user.username, comment=comment, hours=hours)
    except Refused as e:
        return JSONResponse({"error": e.code}, status_code=404 if e.code == "token" else 409)
    hold = await asyncio.to_thread(web.holds.get, hold_id)
    return JSONResponse({"hold": _public(hold or change.hold)})


async def audit(request: Request) -> Response:
    """
    summary: The latest audit entries, newest first
    responses:
      200: {description: "{audit: [...]}"}
    """
    web = web_of(request)
    if await _user(web, request) is None:
        return _denied()
    entries = await asyncio.to_thread(web.holds.audit, None, 500)
    return JSONResponse({"audit": [e.to_json() for e in entries]})


async def stats(request: Request) -> Response:
    """
    summary: Per-rule statistics (holds, outcomes, cancel ratio)
    responses:
      200:
        description: "{rules: {RULE: {holds, released_as_is, recipient_removed, cancelled, rejected, expired,
          cancel_ratio}}}"
    """
    web = web_of(request)
    if await _user(web, request) is None:
        return _denied()
    table = await asyncio.to_thread(web.holds.stats)
    return JSONResponse({"rules": {rule: {**row, "cancel_ratio": ratio(row)} for rule, row in table.items()}})


async def openapi(request: Request) -> Response:
    return JSONResponse(SCHEMA.get_schema(routes=request.app.routes))
