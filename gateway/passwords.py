"""Password hashes for SMTP AUTH users and web users: scrypt, self-describing, so that parameters can
be raised later without breaking old hashes:

    scrypt$<n>$<r>$<p>$<salt, base64>$<hash, base64>
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets

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
def dummy_hash() -> str:
    """A stand-in hash for unknown users, so that "no such user" costs as much as "wrong password"."""
    return hash_password(secrets.token_urlsafe(16))
