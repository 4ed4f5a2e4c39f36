"""Durable, lease-based message queues: `open_store(url)` picks the backend from the URL.

- `sqlite:///var/lib/gateway/gateway.db` -> SqliteStore("/var/lib/gateway/gateway.db") (absolute);
  `sqlite://data/gateway.db` -> a path relative to the working directory.
- `redis://`, `rediss://`, `unix://` and `redis+sentinel://H1:26379,H2:26379/SERVICE[/DB]` -> RedisStore;
  an optional `prefix=NAME` query parameter sets the key prefix (default `gw`), so that several
  gateways (or test runs) can share one Redis database.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from gateway.store.base import Lease, Queue, Store, StoreError

__all__ = ["Lease", "Queue", "Store", "StoreError", "open_store"]

_REDIS_SCHEMES = ("redis", "rediss", "unix", "redis+sentinel")


def open_store(url: str) -> Store:
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError("store url: expected sqlite:///PATH, redis://HOST:PORT/DB or redis+sentinel://...")
    scheme = scheme.lower()
    if scheme == "sqlite":
        path = rest.split("?", 1)[0]
        if not path or path == "/":
            raise ValueError("store url: sqlite:///PATH needs a file path")
        from gateway.store.sqlite import SqliteStore

        return SqliteStore(path)
    if scheme in _REDIS_SCHEMES:
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        prefixes = [v for k, v in query if k == "prefix"]
        rest_query = urlencode([(k, v) for k, v in query if k != "prefix"])
        from gateway.store.redis import RedisStore

        return RedisStore(urlunsplit(parts._replace(query=rest_query)), prefix=prefixes[-1] if prefixes else "gw")
    raise ValueError(f"store url: unknown scheme {scheme!r}; expected sqlite, redis, rediss, unix or redis+sentinel")
