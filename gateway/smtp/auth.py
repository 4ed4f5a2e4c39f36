"""SMTP AUTH credentials: scrypt password hashes and the aiosmtpd authenticator.

Stored format (self-describing, so parameters can be raised later without breaking old hashes):
    scrypt$<n>$<r>$<p>$<salt, base64>$<hash, base64>
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import logging
import secrets
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from gateway.config import SmtpAuthUser

log = logging.getLogger(__name__)

SCHEME = "scrypt"
DEFAULT_N = 2**14
DEFAULT_R = 8
DEFAULT_P = 1
_SALT_BYTES = 16
_HASH_BYTES = 32
# Bounds on the parameters we are willing to compute, so that a hand-edited hash cannot make every
# login burn gigabytes or minutes.
_MAX_N = 2**20
_MAX_R = 32
_MAX_P = 16
_MAX_MEM = 1024 * 1024 * 1024


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _scrypt(password: bytes, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    return hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, maxmem=_MAX_MEM, dklen=dklen)


def hash_password(password: str, *, n: int = DEFAULT_N, r: int = DEFAULT_R, p: int = DEFAULT_P) -> str:
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = _scrypt(password.encode("utf-8"), salt, n, r, p, _HASH_BYTES)
    return f"{SCHEME}${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def parse_hash(stored: str) -> tuple[int, int, int, bytes, bytes]:
    """(n, r, p, salt, hash) of a stored hash; ValueError (without the hash in it) if malformed."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        raise ValueError("not a scrypt$n$r$p$salt$hash password hash")
    try:
        n, r, p = (int(x) for x in parts[1:4])
        salt = base64.b64decode(parts[4], validate=True)
        digest = base64.b64decode(parts[5], validate=True)
    except ValueError:
        raise ValueError("malformed scrypt password hash") from None
    if not (1 < n <= _MAX_N and n & (n - 1) == 0 and 0 < r <= _MAX_R and 0 < p <= _MAX_P):
        raise ValueError("scrypt parameters out of range")
    if len(salt) < 8 or len(digest) < 16:
        raise ValueError("scrypt salt or hash too short")
    return n, r, p, salt, digest


def verify_password(password: str | bytes, stored: str) -> bool:
    """True if `password` matches `stored`. A malformed stored hash never matches."""
    try:
        n, r, p, salt, digest = parse_hash(stored)
    except ValueError:
        return False
    pw = password.encode("utf-8") if isinstance(password, str) else password
    candidate = _scrypt(pw, salt, n, r, p, len(digest))
    return hmac.compare_digest(candidate, digest)


@functools.cache
def _dummy_hash() -> str:
    """A stand-in hash for unknown users, so that "no such user" costs as much as "wrong password"."""
    return hash_password(secrets.token_urlsafe(16))


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
        ok = verify_password(password, stored if stored is not None else _dummy_hash())
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
