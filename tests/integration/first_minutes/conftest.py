"""Fixtures for the first-minutes tests: the hold store of the shared `store_url` fixture."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gateway.hold.backends import open_holds
from gateway.hold.store import HoldStore


@pytest.fixture
def holds(store_url: str) -> Iterator[HoldStore]:
    h = open_holds(store_url)
    h.clear()
    yield h
    h.clear()
    h.close()
