"""Everything a message carries, as text segments with provenance, within limits, fail-closed.

    extraction = extract_message(raw, limits)            # in-process; never raises
    extraction, scan = await pool.inspect(raw, limits)  # gateway.inspection: in a CPU/memory/time-limited worker

Anything that cannot be read (encrypted, unknown, malformed, over a limit) is an UNSCANNABLE
finding with a reason code (gateway.unscannable) and the attachment's name, never an exception.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.config.extract import ExtractLimits
from gateway.content import AttachmentInfo, Extraction, Finding, Segment
from gateway.unscannable import AMBIGUOUS_MIME, UNSCANNABLE, Reason

if TYPE_CHECKING:
    from gateway.extract.message import extract_message

__all__ = [
    "AMBIGUOUS_MIME",
    "UNSCANNABLE",
    "AttachmentInfo",
    "ExtractLimits",
    "Extraction",
    "Finding",
    "Reason",
    "Segment",
    "extract_message",
]


def __getattr__(name: str) -> object:  # the readers (pypdf, Pillow, calamine...) load only when asked for:
    if name == "extract_message":  # the node's first process imports gateway.extract.ocr, never reads
        from gateway.extract.message import extract_message

        return extract_message
    raise AttributeError(name)
