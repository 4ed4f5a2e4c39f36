"""Delivery tests run against every store backend: the shared `store` fixture (tests/conftest.py)."""

from __future__ import annotations

import pytest

from gateway.store.base import Store


@pytest.fixture
def outbound_store(store: Store) -> Store:
    return store
