"""SMTP AUTH: the aiosmtpd authenticator over the configured users (hashes: gateway/passwords.py)."""

from __future__ import annotations

import hmac
import logging
import secrets
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from gateway.config import SmtpAuthUser
from gateway.passwords import dummy_hash, parse_hash, verify_password

log = logging.getLogger(__name__)


class Authenticator:
    """aiosmtpd `authenticator=` callable over config.auth_users (mechanisms PLAIN and LOGIN).

    scrypt is deliberately slow (~50 ms) and aiosmtpd calls authenticators synchronously on the event
    loop. An MTA authenticates on every connection, so successful checks are remembered (keyed by an
    HMAC under a per-process random key, never the password itself) to keep the loop responsive.
    Failed attempts are never cached; the server limits AUTH attempts per connection.
    """

    def __init__(self, users: Iterable[SmtpAuthUser], cache_size: int = 256) -> None:
        self._users = {u.username: u.password_hash for u in users}
        for username, stored in self._users.items():
            try:
                parse_hash(stored)
            except ValueError as e:
                raise ValueError(f"smtp.auth_users: user {username!r}: {e}") from None
        self._key = secrets.token_bytes(32)
        self._ok: OrderedDict[bytes, None] = OrderedDict()
        self._cache_size = cache_size

    @property
    def configured(self) -> bool:
        return bool(self._users)

    def check(self, username: bytes, password: bytes) -> str | None:
        """The username if the credentials are valid, else None."""
        try:
            name = username.decode("utf-8")
        except UnicodeDecodeError:
            return None
        stored = self._users.get(name)
        key = hmac.new(self._key, username + b"\0" + password + b"\0" + (stored or "").encode(), "sha256")
        cache_key = key.digest()
        if stored is not None and cache_key in self._ok:
            self._ok.move_to_end(cache_key)
            return name
        ok = verify_password(password, stored if stored is not None else dummy_hash())
        if not ok or stored is None:
            return None
        self._ok[cache_key] = None
        while len(self._ok) > self._cache_size:
            self._ok.popitem(last=False)
        return name

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if mechanism not in ("PLAIN", "LOGIN") or not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        name = self.check(auth_data.login, auth_data.password)
        if name is None:
            log.info("AUTH %s failed from %s", mechanism, _peer_ip(session))
            return AuthResult(success=False, handled=False)
        log.info("AUTH %s succeeded from %s", mechanism, _peer_ip(session))
        return AuthResult(success=True, auth_data=name)


def _peer_ip(session: Session) -> str:
    peer = session.peer
    return str(peer[0]) if isinstance(peer, tuple) and peer else "?"
