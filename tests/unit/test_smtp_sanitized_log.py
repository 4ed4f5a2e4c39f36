"""aiosmtpd's sanitized_log, as gateway.smtp.server installs it: skipped when the logger drops the
level anyway, the same records as aiosmtpd's own when it does not (AUTH data still masked)."""

from __future__ import annotations

import logging

import aiosmtpd.smtp
import pytest

from gateway.smtp import server


class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _logger(level: int) -> tuple[logging.Logger, _Keep]:
    logger = logging.getLogger(f"test.sanitized.{level}")
    logger.propagate = False
    logger.handlers = []
    keep = _Keep()
    logger.addHandler(keep)
    logger.setLevel(level)
    return logger, keep


def test_installed_in_aiosmtpd() -> None:
    assert aiosmtpd.smtp.sanitized_log is server._sanitized_log_when_enabled


LINES = [b"MAIL FROM:<a@example.com>\r\n", b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n", b"AUTH LOGIN\r\n", b"\x00\x1b"]


@pytest.mark.parametrize("level", [logging.DEBUG, logging.INFO])
def test_same_records_as_aiosmtpd_when_enabled(level: int) -> None:
    mine, mine_kept = _logger(level)
    theirs, theirs_kept = _logger(level + 1)
    theirs.setLevel(level)
    for line in LINES:
        for name in ("debug", "info"):
            server._sanitized_log_when_enabled(getattr(mine, name), "%r >> %r", ("127.0.0.1", 1), line)
            server._aiosmtpd_sanitized_log(getattr(theirs, name), "%r >> %r", ("127.0.0.1", 1), line)
    got = [(r.levelno, r.getMessage()) for r in mine_kept.records]
    assert got == [(r.levelno, r.getMessage()) for r in theirs_kept.records]
    assert got and not any(b"AGFsaWNl" in m.encode() for _, m in got)


def test_nothing_done_when_the_level_is_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    logger, kept = _logger(logging.WARNING)

    def boom(text: bytes) -> bytes:
        raise AssertionError("sanitize called for a dropped record")

    monkeypatch.setattr(aiosmtpd.smtp, "sanitize", boom)
    for name in ("debug", "info"):
        server._sanitized_log_when_enabled(getattr(logger, name), "%r", b"AUTH PLAIN x")
    assert kept.records == []
    with pytest.raises(AssertionError):  # a kept level still goes through aiosmtpd's sanitizing
        server._sanitized_log_when_enabled(logger.warning, "%r", b"AUTH PLAIN x")


def test_other_callables_go_through() -> None:
    seen: list[tuple[object, ...]] = []
    server._sanitized_log_when_enabled(lambda msg, *args: seen.append((msg, *args)), "%r", b"AUTH PLAIN x")
    assert seen == [("%r", b"AUTH PLAIN ********")]
