"""Masked samples: enough to recognise what was found, never the value itself (山田**, 090-****-5678)."""

from __future__ import annotations

import re

_DIGIT = re.compile(r"\d")


def _mask_digits(value: str, keep_head: int, keep_tail: int) -> str:
    positions = [m.start() for m in _DIGIT.finditer(value)]
    hidden = set(positions[keep_head : max(keep_head, len(positions) - keep_tail)])
    return "".join("*" if i in hidden else c for i, c in enumerate(value))


def mask(entity: str, value: str) -> str:
    """A masked sample of `value` for logs, notifications and the database."""
    value = value.strip()
    if entity == "EMAIL_ADDRESS" and "@" in value:
        local, _, domain = value.rpartition("@")
        return f"{local[:1]}***@{domain}"
    if entity in ("JP_PHONE_NUMBER", "PHONE_NUMBER"):
        return _mask_digits(value, 3, 4)
    if entity == "CREDIT_CARD":
        return _mask_digits(value, 0, 4)
    if entity == "JP_POSTAL_CODE":
        return _mask_digits(value, 3, 0)
    if entity == "DATE_OF_BIRTH":
        return _mask_digits(value, 2, 0)
    if entity == "JP_ADDRESS":
        return value[: min(6, max(1, len(value) // 3))] + "***"
    if entity in ("PERSON", "BULK_PERSONAL_DATA"):
        return value[: 2 if len(value) >= 3 else 1] + "**"
    if _DIGIT.search(value):
        return _mask_digits(value, 0, 2)
    return value[:1] + "***"
