"""Delivery tests run against every store backend: the shared `store` fixture (tests/conftest.py), and
with the test next hop (sinkserver.Sink) offering PIPELINING and not: both ways of the client."""

from __future__ import annotations

import pytest

from gateway.store.base import Store
from tests.integration.outbound.sinkserver import Sink


@pytest.fixture
def outbound_store(store: Store) -> Store:
    return store


@pytest.fixture(params=[False, True], ids=["unpipelined", "pipelined"], autouse=True)
def sink_pipelining(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    monkeypatch.setattr(Sink, "offer_pipelining", request.param)
    return bool(request.param)
