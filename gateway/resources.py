"""Where the shipped files live: rules/ and templates/ beside the package in a source checkout (also an
editable install), or under <prefix>/share/gateway/ when installed from a wheel (pyproject data-files)."""

from __future__ import annotations

import sys
from pathlib import Path


def shipped(name: str) -> Path:
    """The shipped directory `name` ("rules" or "templates")."""
    beside_source = Path(__file__).resolve().parents[1] / name
    if beside_source.is_dir():
        return beside_source
    return Path(sys.prefix) / "share" / "gateway" / name
