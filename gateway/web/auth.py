"""Who is signed in: a local user file with scrypt password hashes (`gateway hash-password`), a
signed session cookie (itsdangerous, key shared by all nodes through the hold store), and CSRF tokens.

Extension point for single sign-on (OIDC): `SignIn` is what the pages ask. `LocalUsers` answers from
the user file and the session cookie; an OIDC implementation would add its own routes (redirect to
the provider, the callback that checks the ID token), map the token's `email` claim to a `User` with
roles, and call `issue_session()` so that everything after sign-in works as it does for local users.
"""

from __future__ import annotations

import secrets
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
            samesite="strict",
            path="/",
        )

    def end_session(self, response: Response) -> None:
        response.delete_cookie(SESSION_COOKIE, path="/")

    def user(self, request: Request) -> User | None:
        value = request.cookies.get(SESSION_COOKIE)
        if not value:
            return None
        try:
            data = self._sessions.loads(value, max_age=int(self.session_seconds))
        except BadSignature:
            return None
        entry = self.users.get(str(data.get("u", ""))) if isinstance(data, dict) else None
        return self._user(entry) if entry is not None else None

    # -- CSRF: a random cookie, and a form field that is an HMAC of it and what the form is for ------

    def csrf_cookie(self, request: Request) -> tuple[str, bool]:
        """(the browser's CSRF cookie value, whether it must be set on the response)."""
        value = request.cookies.get(CSRF_COOKIE, "")
        if len(value) >= 32:
            return value, False
        return secrets.token_urlsafe(32), True

    def set_csrf_cookie(self, response: Response, value: str) -> None:
        response.set_cookie(CSRF_COOKIE, value, httponly=True, secure=self.secure, samesite="strict", path="/")

    def csrf_token(self, cookie: str, purpose: str) -> str:
        return tokens.sign(self.key, "csrf", cookie, purpose)

    def csrf_ok(self, request: Request, submitted: str, purpose: str) -> bool:
        cookie = request.cookies.get(CSRF_COOKIE, "")
        if len(cookie) < 32 or not submitted:
            return False
        return tokens.same(self.csrf_token(cookie, purpose), submitted)
