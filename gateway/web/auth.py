"""Who is signed in: a local user file with scrypt password hashes (`gateway hash-password`), a
signed session cookie (itsdangerous, key shared by all nodes through the hold store), and CSRF tokens.

Extension point for single sign-on (OIDC): `SignIn` is what the pages ask. `LocalUsers` answers from
the user file and the session cookie; an OIDC implementation would add its own routes (redirect to
the provider, the callback that checks the ID token), map the token's `email` claim to a `User` with
roles, and call `issue_session()` so that everything after sign-in works as it does for local users.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import yaml
from itsdangerous import BadSignature, URLSafeTimedSerializer
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from gateway.hold import tokens
from gateway.passwords import dummy_hash, verify_password

SESSION_COOKIE = "gw_session"
CSRF_COOKIE = "gw_csrf"
FORM_SECONDS = 12 * 3600  # how long a page's form stays valid (a page left open over lunch still works)


class UserEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    username: str = Field(min_length=1)
    password_hash: str
    roles: list[str] = Field(default_factory=list)
    email: str = ""
    language: str = Field(default="", pattern="^(|ja|en)$")


class UserFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    users: list[UserEntry] = Field(default_factory=list)


@dataclass(frozen=True)
class User:
    username: str
    roles: frozenset[str]
    email: str = ""
    language: str = ""

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


class UserFileError(Exception):
    pass


def load_users(path: Path | None) -> dict[str, UserEntry]:
    if path is None:
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        parsed = UserFile.model_validate(data)
    except (OSError, yaml.YAMLError, ValidationError) as e:
        raise UserFileError(f"{path}: {e}") from None
    return {u.username: u for u in parsed.users}


class SignIn(Protocol):
    def user(self, request: Request) -> User | None: ...


class LocalUsers:
    def __init__(self, users: dict[str, UserEntry], key: bytes, session_seconds: float, secure: bool) -> None:
        self.users = users
        self.session_seconds = session_seconds
        self.secure = secure
        self.key = key
        self._sessions = URLSafeTimedSerializer(key, salt="gateway-session")

    def check_password(self, username: str, password: str) -> User | None:
        entry = self.users.get(username)
        # Verify against a hash even for an unknown user, so timing does not tell which names exist.
        ok = verify_password(password, entry.password_hash if entry else dummy_hash())
        if entry is None or not ok:
            return None
        return self._user(entry)

    @staticmethod
    def _user(entry: UserEntry) -> User:
        return User(entry.username, frozenset(entry.roles), entry.email.lower(), entry.language)

    def issue_session(self, response: Response, user: User) -> None:
        value = self._sessions.dumps({"u": user.username, "n": secrets.token_hex(8)})
        response.set_cookie(
            SESSION_COOKIE,
            value,
            max_age=int(self.session_seconds),
            httponly=True,
            secure=self.secure,
            # Lax: a signed-in approver who opens a notice's link from a webmail (a cross-site
            # navigation) arrives signed in. Cross-site POSTs still come without it, and every form
            # carries its own token as well (form_token).
            samesite="lax",
            path="/",
        )

    def end_session(self, response: Response) -> None:
        response.delete_cookie(SESSION_COOKIE, path="/")

    def _session(self, request: Request) -> dict[str, str] | None:
        value = request.cookies.get(SESSION_COOKIE)
        if not value:
            return None
        try:
            data = self._sessions.loads(value, max_age=int(self.session_seconds))
        except BadSignature:
            return None
        return data if isinstance(data, dict) else None

    def user(self, request: Request) -> User | None:
        data = self._session(request)
        entry = self.users.get(str(data.get("u", ""))) if data is not None else None
        return self._user(entry) if entry is not None else None

    def session_nonce(self, request: Request) -> str:
        """The random part of this browser's session ('' when not signed in): binds forms to it."""
        data = self._session(request)
        return str(data.get("n", "")) if data is not None else ""

    # -- per-form tokens: no cookie, so two tabs (two notices opened at once) never spoil each other --

    def form_token(self, purpose: str, binding: str, now: float | None = None) -> str:
        """A token for one form: when it was made (8 hex digits) and an HMAC of it, what the form is for
        (the hold), and what only its rightful user has (the link's secret, the session)."""
        issued = f"{int(time.time() if now is None else now) & 0xFFFFFFFF:08x}"
        return issued + tokens.sign(self.key, "form", purpose, binding, issued)

    def form_ok(self, submitted: str, purpose: str, binding: str, now: float | None = None) -> bool:
        if len(submitted) != 8 + 64:
            return False
        issued = submitted[:8]
        try:
            age = int(time.time() if now is None else now) - int(issued, 16)
        except ValueError:
            return False
        if not -300 <= age <= FORM_SECONDS:
            return False
        return tokens.same(tokens.sign(self.key, "form", purpose, binding, issued), submitted[8:])

    # -- CSRF: a random cookie, and a form field that is an HMAC of it and what the form is for ------

    def csrf_cookie(self, request: Request) -> tuple[str, bool]:
        """(the browser's CSRF cookie value, whether it must be set on the response)."""
        value = request.cookies.get(CSRF_COOKIE, "")
        if len(value) >= 32:
            return value, False
        return secrets.token_urlsafe(32), True

    def set_csrf_cookie(self, response: Response, value: str) -> None:
        """Only the sign-in form uses the cookie (there is no session to bind it to yet)."""
        response.set_cookie(CSRF_COOKIE, value, httponly=True, secure=self.secure, samesite="lax", path="/")

    def csrf_token(self, cookie: str, purpose: str) -> str:
        return tokens.sign(self.key, "csrf", cookie, purpose)

    def csrf_ok(self, request: Request, submitted: str, purpose: str) -> bool:
        cookie = request.cookies.get(CSRF_COOKIE, "")
        if len(cookie) < 32 or not submitted:
            return False
        return tokens.same(self.csrf_token(cookie, purpose), submitted)
