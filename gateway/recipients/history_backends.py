"""`open_history(url)`: the recipient history next to the queues of a store URL (SQLite or Redis)."""

from __future__ import annotations

from gateway.config.recipients import RecipientsConfig
from gateway.recipients.domains import Organisations
from gateway.recipients.history import RecipientHistory
from gateway.recipients.history_redis import RedisHistory
from gateway.recipients.history_sqlite import SqliteHistory
from gateway.store.redis import connect_redis
from gateway.store.url import parse_store_url


def open_history(url: str, orgs: Organisations | None = None) -> RecipientHistory:
    """The history next to the queues of store `url` (same URL syntax as `gateway.store.open_store`).

    `orgs` decides which organisation a recipient's domain belongs to when a delivery is recorded:
    every process of a node must pass the same rules it reads with (`open_node_history`)."""
    where = parse_store_url(url)
    if where.kind == "sqlite":
        return SqliteHistory(where.path, orgs)
    return RedisHistory(connect_redis(where.redis_url), prefix=where.prefix, orgs=orgs)


def open_node_history(store_url: str, settings: RecipientsConfig) -> RecipientHistory:
    """The history as every part of a node opens it: with the site's organisation rules
    (`recipients.extra_public_suffixes`), so that what delivery records is what assessment reads."""
    return open_history(store_url, Organisations(settings.extra_public_suffixes))
