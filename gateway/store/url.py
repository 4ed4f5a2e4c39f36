"""The store URL, parsed once for every store that lives beside the queues (queues, history, holds).

sqlite:///var/lib/gateway/gateway.db            -> StoreUrl("sqlite", path="/var/lib/gateway/gateway.db")
redis://host:6379/0?prefix=gw2                  -> StoreUrl("redis", redis_url="redis://host:6379/0", prefix="gw2")
redis+sentinel://s1:26379,s2:26379/mymaster/0   -> StoreUrl("redis", redis_url=..., prefix="gw")
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDIS_SCHEMES = ("redis", "rediss", "unix", "redis+sentinel")
EXPECTED = "expected sqlite:///PATH, redis://HOST:PORT/DB or redis+sentinel://..."


@dataclass(frozen=True)
class StoreUrl:
    kind: str  # "sqlite" | "redis"
    path: str = ""  # sqlite: the database file
    redis_url: str = ""  # redis: the URL without our own `prefix` parameter
    prefix: str = "gw"  # redis: the key prefix, so several gateways (or test runs) can share a database


def parse_store_url(url: str) -> StoreUrl:
    """Raises ValueError with a message for the admin."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"store url: {EXPECTED}")
    scheme = scheme.lower()
    if scheme == "sqlite":
        path = rest.split("?", 1)[0]
        if not path or path == "/":
            raise ValueError("store url: sqlite:///PATH needs a file path")
        return StoreUrl("sqlite", path=path)
    if scheme in REDIS_SCHEMES:
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        prefixes = [v for k, v in query if k == "prefix"]
        rest_query = urlencode([(k, v) for k, v in query if k != "prefix"])
        return StoreUrl(
            "redis", redis_url=urlunsplit(parts._replace(query=rest_query)), prefix=prefixes[-1] if prefixes else "gw"
        )
    raise ValueError(f"store url: unknown scheme {scheme!r}; {EXPECTED}")


def redact_url(url: str) -> str:
    """The URL for logs and the start-up summary: a password in it becomes ***."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return url
    userinfo, _, host = rest.partition("@")
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in userinfo else f"{scheme}://***@{host}"
