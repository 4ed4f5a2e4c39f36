"""Fixtures for the delivery tests: a store of each backend (sqlite always; redis when one answers)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.store import open_store
from gateway.store.base import Store

REDIS_URL = "redis://127.0.0.1:6379/15"


def _redis_available() -> bool:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
        return True
    except Exception:
        return False


@pytest.fixture(params=["sqlite", "redis"])
def outbound_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        store = open_store(f"sqlite:///{tmp_path / 'gateway.db'}")
        yield store
        store.close()
        return
    if not _redis_available():
        pytest.skip("no Redis on 127.0.0.1:6379")
    import redis

    prefix = f"test-outbound-{secrets.token_hex(6)}"
    store = open_store(f"{REDIS_URL}?prefix={prefix}")
    yield store
    store.close()
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"*{prefix}*"))
    if keys:
        client.delete(*keys)
