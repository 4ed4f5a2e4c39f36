"""Shared fixtures: a real Redis, a fresh store of each backend, and a message factory."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from gateway.message import Envelope, QueuedMessage, new_message_id
from gateway.store.base import Store
from tests.support.needs import require
from tests.support.redis_keys import delete_redis_prefix

DEFAULT_TEST_REDIS_URL = "redis://127.0.0.1:6379/15"

# The embedded defaults keep their state in /var/lib/gateway when it is writable (root): a test that
# runs on the defaults must never write there. Subprocesses inherit this.
if not os.environ.get("GATEWAY_STATE_DIR"):
    import tempfile

    os.environ["GATEWAY_STATE_DIR"] = tempfile.mkdtemp(prefix="gateway-test-state-")

MakeMessage = Callable[..., tuple[QueuedMessage, bytes]]


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The test Redis (GATEWAY_TEST_REDIS_URL, default db 15 on localhost). Fails if none answers."""
    url = os.environ.get("GATEWAY_TEST_REDIS_URL", DEFAULT_TEST_REDIS_URL)
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        try:
            client.ping()
        finally:
            client.close()
    except redis.RedisError as e:
        # Skipped with the reason (failed in CI, which starts one: tests/support/needs.py).
        require(
            f"needs a Redis at {url} ({type(e).__name__}): start one (`apt-get install redis-server`), "
            "or point GATEWAY_TEST_REDIS_URL at one"
        )
    return url


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    prefix = f"gwtest-{secrets.token_hex(6)}"
    yield prefix
    delete_redis_prefix(redis_url, prefix)


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An open_store URL for a fresh, empty store of each backend."""
    if request.param == "sqlite":
        return f"sqlite://{tmp_path / 'store' / 'gateway.db'}"
    url: str = request.getfixturevalue("redis_url")
    prefix: str = request.getfixturevalue("redis_prefix")
    return f"{url}{'&' if '?' in url else '?'}prefix={prefix}"


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    from gateway.store import open_store

    s = open_store(store_url)
    yield s
    s.close()


@pytest.fixture
def make_message() -> MakeMessage:
    """make_message(mail_from=..., rcpt_tos=..., body=..., received_at=..., **fields) -> (message, raw)."""

    def make(
        mail_from: str = "sender@example.co.jp",
        rcpt_tos: tuple[str, ...] = ("rcpt@example.com",),
        body: str = "Hello.",
        received_at: float | None = None,
        message_id: str | None = None,
        **fields: Any,
    ) -> tuple[QueuedMessage, bytes]:
        mid = message_id or new_message_id()
        raw = (
            f"From: <{mail_from}>\r\nTo: {', '.join(f'<{r}>' for r in rcpt_tos)}\r\n"
            f"Subject: test {mid}\r\nMessage-ID: <{mid}@test>\r\n\r\n{body}\r\n"
        ).encode()
        message = QueuedMessage(
            id=mid,
            envelope=Envelope(mail_from=mail_from, rcpt_tos=tuple(rcpt_tos), client_address="127.0.0.1"),
            received_at=time.time() if received_at is None else received_at,
            **fields,
        )
        return message, raw

    return make


@pytest.fixture(autouse=True)
def _keep_umask() -> Iterator[None]:
    """A command run in-process (`gateway run`, `init`) sets a private umask for the process: give the
    next test the one it had (a Postfix instance made under umask 077 cannot read its own queue)."""
    previous = os.umask(0o022)
    os.umask(previous)
    yield
    os.umask(previous)
