"""Personal-data scanning: Segments → findings (entity, count, distinct, records, where, masked samples).

from gateway.scan import ScanConfig, ScanContext, Scanner, ScanPool
scanner = Scanner(ScanConfig())                      # in-process, blocking
pool = ScanPool(ScanConfig()); await pool.start()    # worker processes, models loaded once
result = await pool.scan(segments, ScanContext(sender=..., recipients=(...)))
result.to_json()["findings"]
"""

from __future__ import annotations

import gateway.scan.offline  # noqa: F401  (must precede presidio, spacy and tldextract)
from gateway.scan.model import BULK, PersonalData, ScanContext, ScanResult
from gateway.scan.settings import ScanConfig

__all__ = ["BULK", "PersonalData", "ScanConfig", "ScanContext", "ScanModelError", "ScanPool", "ScanResult", "Scanner"]


def __getattr__(name: str) -> object:  # heavy modules (presidio, spaCy) load only when asked for
    if name in ("Scanner", "ScanModelError"):
        from gateway.scan import engine

        return getattr(engine, name)
    if name == "ScanPool":
        from gateway.scan.pool import ScanPool

        return ScanPool
    raise AttributeError(name)
