"""Personal-data scanning: Segments → findings (entity, count, distinct, records, where, masked samples).

from gateway.scan import ScanConfig, ScanContext, Scanner
scanner = Scanner(ScanConfig())                      # in-process, blocking
result = scanner.scan(segments, ScanContext(sender=..., recipients=(...)))
result.to_json()["findings"]

The gateway runs the Scanner in its inspection workers (gateway.inspection.pool.InspectPool), next to extraction.
"""

from __future__ import annotations

import gateway.scan.offline  # noqa: F401  (must precede presidio, spacy and tldextract)
from gateway.config.scan import ScanConfig
from gateway.scan.model import BULK, PersonalData, ScanContext, ScanResult

__all__ = ["BULK", "PersonalData", "ScanConfig", "ScanContext", "ScanModelError", "ScanResult", "Scanner"]


def __getattr__(name: str) -> object:  # heavy modules (presidio, spaCy) load only when asked for
    if name in ("Scanner", "ScanModelError"):
        from gateway.scan import engine

        return getattr(engine, name)
    raise AttributeError(name)
