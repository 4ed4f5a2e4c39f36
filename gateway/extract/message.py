"""Reading a whole message: the entry point of extraction (`gateway.extract.extract_message`)."""

from __future__ import annotations

from gateway.config.extract import ExtractLimits
from gateway.content import Extraction
from gateway.extract.context import Context, LimitExceeded, Unscannable, Where
from gateway.extract.mime import parse, read_attached_message, read_message
from gateway.unscannable import Reason


def extract_message(raw: bytes, limits: ExtractLimits | None = None, ocr_mode: str = "run") -> Extraction:
    """Read the whole message. Never raises: every problem becomes an UNSCANNABLE finding.

    `ocr_mode` "defer" reads no image: each one that could hold text counts in
    `stats["ocr_deferred"]` (and is UNSCANNABLE), for the inspection pool to read the message again
    in its OCR lane."""
    ctx = Context(limits or ExtractLimits(), read_attached_message, ocr_mode)
    try:
        if not isinstance(raw, bytes | bytearray | memoryview):
            raise TypeError(f"raw message must be bytes, not {type(raw).__name__}")
        raw = bytes(raw)
        message = parse(raw)
        ctx.out.mime_defects = sum(len(part.defects) for part in message.walk())
        read_message(ctx, message, Where(), "", 0, raw)
    except (LimitExceeded, Unscannable) as e:
        if not any(f.reason == e.reason for f in ctx.out.findings):  # else already reported where it hit
            ctx.unscannable(e.reason, e.detail, Where())
    except RecursionError:
        ctx.unscannable(Reason.LIMIT_MIME_DEPTH, "message structure nested too deeply to parse", Where())
    except MemoryError:
        ctx.unscannable(Reason.LIMIT_MEMORY, "out of memory while reading the message", Where())
    except Exception as e:
        ctx.unscannable(Reason.INTERNAL_ERROR, f"{type(e).__name__}: {e}"[:300], Where())
    return ctx.out
