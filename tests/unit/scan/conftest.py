"""Scanners built once per session: the fast stage only (most tests), and one with GiNZA loaded."""

from __future__ import annotations

import pytest

from gateway.scan import ScanConfig
from gateway.scan.engine import Scanner


@pytest.fixture(scope="session")
def scanner() -> Scanner:
    return Scanner(ScanConfig(ner_window_chars=0))


@pytest.fixture(scope="session")
def ner_scanner() -> Scanner:
    return Scanner(ScanConfig())  # loads ja_ginza: once per session
