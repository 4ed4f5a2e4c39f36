"""Inspection worker processes: extraction and the personal-data scan of each message, within limits.

    from gateway.workers import InspectPool
    pool = InspectPool(config.scan, config.inspection); await pool.start()
    extraction, scan = await pool.inspect(raw, config.extract, context)

settings.py  `inspection:` in config.yaml (workers, recycle_after, memory_bytes, start_seconds)
child.py     the worker process: models loaded once, per-request CPU and memory limits
pool.py      the parent side: requests off the event loop, wall-clock kills, respawn, recycling
"""

from __future__ import annotations

from gateway.workers.settings import InspectionConfig

__all__ = ["InspectPool", "InspectionConfig", "PoolClosed", "PoolStartError"]


def __getattr__(name: str) -> object:  # the pool pulls in multiprocessing and the scan model; config does not
    if name in ("InspectPool", "PoolClosed", "PoolStartError"):
        from gateway.workers import pool

        return getattr(pool, name)
    raise AttributeError(name)
