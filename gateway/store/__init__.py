"""Durable, lease-based message queues: `open_store(url)` picks the backend from the URL.

- `sqlite:///var/lib/gateway/gateway.db` -> SqliteStore("/var/lib/gateway/gateway.db") (absolute);
  `sqlite://data/gateway.db` -> a path relative to the working directory.
- `redis://`, `rediss://`, `unix://` and `redis+sentinel://H1:26379,H2:26379/SERVICE[/DB]` -> RedisStore;
  an optional `prefix=NAME` query parameter sets the key prefix (default `gw`), so that several
  gateways (or test runs) can share one Redis database.
"""

from __future__ import annotations

from gateway.store.base import Lease, Queue, Store, StoreError
from gateway.store.url import parse_store_url

__all__ = ["Lease", "Queue", "Store", "StoreError", "open_store", "ping_store"]


def open_store(url: str, node_id: str | None = None, *, min_replicas: int = 0, replica_timeout: float = 1.0) -> Store:
    """`node_id` names this node in lease tokens (gateway.store.owner); None: the host name.
    Redis: `accept` returns only once `min_replicas` replicas have the messages (WAIT)."""
    where = parse_store_url(url)
    if where.kind == "sqlite":
        from gateway.store.sqlite import SqliteStore

        return SqliteStore(where.path, node_id=node_id)
    from gateway.store.redis import RedisStore

    return RedisStore(
        where.redis_url,
        prefix=where.prefix,
        node_id=node_id,
        min_replicas=min_replicas,
        replica_timeout=replica_timeout,
    )


def ping_store(url: str) -> None:
    """Raise StoreError if a networked store (Redis) does not answer now; a local file always does."""
    where = parse_store_url(url)
    if where.kind != "redis":
        return
    import redis

    from gateway.store.redis import connect_redis

    client = connect_redis(where.redis_url)
    try:
        client.ping()
    except redis.RedisError as e:
        raise StoreError(f"{type(e).__name__}: {e}") from e
    finally:
        client.close()
