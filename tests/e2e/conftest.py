"""The browser fixture of the hold-page tests: (size name, driver), once on the phone and once on the
desktop (tests/e2e/browser.py has the rest of what they share)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.browser import SIZES, make_browser


@pytest.fixture(params=list(SIZES))
def browser(request: pytest.FixtureRequest) -> Iterator[tuple[str, Any]]:
    size = request.param
    driver = make_browser(*SIZES[size])
    try:
        yield size, driver
    finally:
        driver.quit()
        shutil.rmtree(driver.profile_dir, ignore_errors=True)
