"""Removing what a test run wrote to the shared Redis (queues, messages, history, holds of one prefix)."""

from __future__ import annotations

import redis


def delete_redis_prefix(url: str, prefix: str) -> None:
    """Delete every key a gateway with key prefix `prefix` may have written (`prefix:...`, `{prefix:...}...`)."""
    client = redis.Redis.from_url(url)
    try:
        for pattern in (f"{prefix}:*", f"{{{prefix}:*"):
            keys = list(client.scan_iter(match=pattern, count=1000))
            for i in range(0, len(keys), 500):
                client.delete(*keys[i : i + 500])
    finally:
        client.close()
