"""Link tokens: 256 random bits from `secrets`, stored only as a SHA-256 digest, compared in constant
time. A token never appears in a log line: log the hold id and the token's scope instead."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable

from gateway.hold.model import LinkToken, Scope

TOKEN_BYTES = 32  # 256 bits; the house rule asks for at least 128


def mint(scope: Scope, actor: str) -> tuple[str, LinkToken]:
    """A new token: (the secret for the link, the record to store)."""
    secret = secrets.token_urlsafe(TOKEN_BYTES)
    return secret, LinkToken(digest=digest(secret), scope=scope, actor=actor.lower())


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogateescape")).hexdigest()


def match(secret: str, tokens: Iterable[LinkToken]) -> LinkToken | None:
    """The stored token `secret` belongs to. Every candidate is compared, each in constant time."""
    wanted = digest(secret)
    found: LinkToken | None = None
    for token in tokens:
        if hmac.compare_digest(wanted, token.digest):
            found = token
    return found


def sign(key: bytes, *parts: str) -> str:
    """HMAC-SHA256 of the parts (CSRF tokens): hex."""
    return hmac.new(key, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
