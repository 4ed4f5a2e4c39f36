"""The scanner's entity names as the rules read them (the table lives in gateway.scan.names)."""

from __future__ import annotations

from gateway.scan.names import ENTITY_NAMES, entity_name

__all__ = ["ENTITY_NAMES", "entity_name"]
