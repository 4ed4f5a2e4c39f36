"""`open_contacts(url)`: the contact book next to the queues of a store URL (SQLite or Redis)."""

from __future__ import annotations

from gateway.recipients.contacts import ContactBook
from gateway.recipients.contacts_redis import RedisContacts
from gateway.recipients.contacts_sqlite import SqliteContacts
from gateway.store.redis import connect_redis
from gateway.store.url import parse_store_url


def open_contacts(url: str) -> ContactBook:
    """The contact book next to the queues of store `url` (same URL syntax as the recipient history)."""
    where = parse_store_url(url)
    if where.kind == "sqlite":
        return SqliteContacts(where.path)
    return RedisContacts(connect_redis(where.redis_url), prefix=where.prefix)
