"""Log lines cannot be forged: control characters in logged text are escaped (gateway.logsetup)."""

from __future__ import annotations

import io
import logging

import pytest

from gateway.logsetup import EscapeControls, SafeFormatter, escape_controls


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("plain ascii, 日本語も", "plain ascii, 日本語も"),
        ("a\r\nb", "a\\r\\nb"),
        ("\x1b[31mred\x07\x00", "\\x1b[31mred\\x07\\x00"),
        ("tab\there\x7f\x85\x9b", "tab\\there\\x7f\\x85\\x9b"),
        ("line\u2028sep\u2029par", "line\\u2028sep\\u2029par"),
        ("\u202egnp.exe\u2066\u2069\u200f", "\\u202egnp.exe\\u2066\\u2069\\u200f"),
    ],
)
def test_escape_controls(text: str, escaped: str) -> None:
    assert escape_controls(text) == escaped


def _logger(name: str) -> tuple[logging.Logger, io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(SafeFormatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger(name)
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, out


def test_formatter_keeps_one_event_on_one_line() -> None:
    logger, out = _logger("test.safe.formatter")
    logger.warning("helo %s from %s", "evil\r\nINFO gateway: forged\x1b[2J", "127.0.0.2")
    assert out.getvalue() == "WARNING test.safe.formatter: helo evil\\r\\nINFO gateway: forged\\x1b[2J from 127.0.0.2\n"


def test_formatter_escapes_exception_text_but_keeps_the_traceback_lines() -> None:
    logger, out = _logger("test.safe.traceback")
    try:
        raise ValueError("bad \x1b]0;title\x07 value\rforged")
    except ValueError:
        logger.exception("failed")
    text = out.getvalue()
    assert "Traceback (most recent call last):\n" in text
    assert "ValueError: bad \\x1b]0;title\\x07 value\\rforged" in text
    assert "\x1b" not in text and "\r" not in text


def test_filter_escapes_a_library_loggers_records_for_any_handler(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.safe.library")
    logger.addFilter(EscapeControls())
    with caplog.at_level(logging.WARNING, logger="test.safe.library"):
        logger.warning("%r unrecognised: %s", ("127.0.0.1", 1), "X\x1b\x00\r")
    assert caplog.records[0].getMessage() == "('127.0.0.1', 1) unrecognised: X\\x1b\\x00\\r"
