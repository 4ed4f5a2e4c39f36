"""Logging set-up: one line per event, no message content (DESIGN: never log personal data)."""

from __future__ import annotations

import logging
import os


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        format=f"%(asctime)s %(levelname)s [{os.getpid()}] %(name)s: %(message)s",
    )
    for noisy in ("mail.log", "aiosmtpd", "aiosmtplib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def mask_address(address: str) -> str:
    """For logs, which never carry an address in clear: 'taro.yamada@example.co.jp' -> 'ta***@example.co.jp',
    the null sender -> '<>', anything without an @ -> '***'."""
    if not address:
        return "<>"
    local, at, domain = address.rpartition("@")
    if not at:
        return "***"
    return f"{local[:2]}***@{domain}"
