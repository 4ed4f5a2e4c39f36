"""`open_holds(url)`: the hold store next to the queues of a store URL (SQLite or Redis)."""

from __future__ import annotations

from gateway.hold.redis_store import RedisHoldStore
from gateway.hold.sqlite_store import SqliteHoldStore
from gateway.hold.store import HoldStore
from gateway.store.redis import connect_redis
from gateway.store.url import parse_store_url


def open_holds(url: str) -> HoldStore:
    """The hold store next to the queues of store `url` (same URL syntax as `gateway.store.open_store`)."""
    where = parse_store_url(url)
    if where.kind == "sqlite":
        return SqliteHoldStore(where.path)
    return RedisHoldStore(connect_redis(where.redis_url), prefix=where.prefix)
