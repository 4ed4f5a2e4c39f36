"""Logging set-up: one line per event, no message content (DESIGN: never log personal data).

Log lines cannot be forged: text a client supplied (an unknown command, a HELO name, an address, an
exception's message) may carry CR, LF, ESC, BEL, NUL or Unicode line and direction controls that would
start a fake line, move the cursor or recolour a terminal. Every message is escaped on its way out
(`SafeFormatter` on the handler set up here; `EscapeControls` on loggers of libraries that log client
text, such as aiosmtpd's "mail.log"), so one event stays one line and shows those characters as
visible escapes (`\\x1b`, `\\r`, `\\u202e`).
"""

from __future__ import annotations

import logging
import os
import sys


def name_process(role: str) -> None:
    """Name this process `gw-<role>` where `ps`, `top` and /proc show it (Linux: /proc/self/comm, at
    most 15 bytes), so an operator, and a benchmark measuring CPU per process, can tell the receive,
    delivery and inspection processes of a node apart. Elsewhere nothing happens."""
    try:
        with open("/proc/self/comm", "w") as f:
            f.write(f"gw-{role}"[:15])
    except OSError:
        pass


def _escapes() -> dict[int, str]:
    table: dict[int, str] = {}
    named = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
    for code in [*range(0x20), *range(0x7F, 0xA0)]:  # C0, DEL, C1
        table[code] = named.get(chr(code), f"\\x{code:02x}")
    # Line and paragraph separators and the bidirectional controls (which reorder what a reader sees).
    for code in [0x2028, 0x2029, 0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]:
        table[code] = f"\\u{code:04x}"
    return table


_ESCAPES = _escapes()


def escape_controls(text: str) -> str:
    """`text` with every control character written as a visible escape (one log line stays one line)."""
    return text.translate(_ESCAPES)


class SafeFormatter(logging.Formatter):
    """Escapes control characters in the message; in a traceback, everything but its own line breaks."""

    def format(self, record: logging.LogRecord) -> str:
        msg, args = record.msg, record.args
        record.msg, record.args = escape_controls(record.getMessage()), None
        try:
            return super().format(record)
        finally:
            record.msg, record.args = msg, args

    def formatException(self, ei: logging._SysExcInfoType) -> str:
        return "\n".join(escape_controls(line) for line in super().formatException(ei).split("\n"))


class EscapeControls(logging.Filter):
    """For a library's logger: its records carry the escaped message, whatever handler writes them."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        escaped = escape_controls(message)
        if escaped != message:
            record.msg, record.args = escaped, None
        return True


def describe_error(error: BaseException) -> str:
    """An error for shunt reasons and admins: its type and first line, bounded, escaped."""
    lines = str(error).strip().splitlines()
    return escape_controls(f"{type(error).__name__}: {lines[0] if lines else ''}")[:500]


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(SafeFormatter(f"%(asctime)s %(levelname)s [{os.getpid()}] %(name)s: %(message)s"))
    logging.basicConfig(level=getattr(logging, level, logging.INFO), handlers=[handler])
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
