"""Tests that need something a machine may lack (chromium, Postfix, root, redis-server) say so: they
are skipped with the reason, which `pytest -rs` (the default here) lists at the end of the run. CI sets
GATEWAY_TEST_REQUIRE_ALL=1 after installing everything (.ci/run): there a missing need fails instead,
so that a green CI has run every test."""

from __future__ import annotations

import os

import pytest

REQUIRE_ALL = os.environ.get("GATEWAY_TEST_REQUIRE_ALL") == "1"


def require(missing: str | None) -> None:
    """Call at the start of a test or fixture with why it cannot run here (None: it can)."""
    if missing is None:
        return
    if REQUIRE_ALL:
        pytest.fail(f"{missing} (GATEWAY_TEST_REQUIRE_ALL=1: every test must run here)", pytrace=False)
    pytest.skip(missing)
