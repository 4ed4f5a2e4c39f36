"""Limits of one extraction (config.yaml `extract:`). Going past any of them yields an UNSCANNABLE
finding with the limit's reason code; nothing is silently skipped."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from gateway.config.ocr import OcrSettings

MiB = 1024 * 1024


class ExtractLimits(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_decompressed_bytes: int = Field(
        default=200 * MiB,
        gt=0,
        description="Total bytes decompressed for one message (transfer decoding, archive members, "
        "OOXML parts), counted while streaming; sizes declared in headers are never trusted.",
    )
    max_attachment_bytes: int = Field(
        default=50 * MiB,
        gt=0,
        description="Largest single attachment or archive member that is read at all.",
    )
    max_archive_depth: int = Field(
        default=4,
        ge=0,
        description="How deep archives and attached messages may nest (a zip in a zip is depth 2).",
    )
    max_archive_entries: int = Field(
        default=2000,
        gt=0,
        description="Most members one archive may have (read from the end record before opening).",
    )
    max_mime_depth: int = Field(default=20, gt=0, description="Deepest MIME multipart nesting read.")
    max_mime_parts: int = Field(default=500, gt=0, description="Most MIME parts read in one message.")
    max_attachments: int = Field(
        default=1000,
        gt=0,
        description="Most files (attachments plus archive members) read in one message.",
    )
    max_attachment_text_chars: int = Field(
        default=10_000_000,
        gt=0,
        description="Most characters of text taken from one attachment; past it the attachment is "
        "partially read and UNSCANNABLE.",
    )
    max_message_text_chars: int = Field(
        default=50_000_000,
        gt=0,
        description="Most characters of text taken from the whole message.",
    )
    max_pdf_pages: int = Field(default=5000, gt=0, description="Most PDF pages read per document.")
    max_undecodable_ratio: float = Field(
        default=0.02,
        ge=0,
        le=1,
        description="Share of characters that may be undecodable (replaced) before a text part is "
        "reported UNSCANNABLE.",
    )
    cpu_seconds: int = Field(
        default=30,
        gt=0,
        description="CPU time of one extraction in its inspection worker (RLIMIT_CPU); past it the worker "
        "is killed and replaced.",
    )
    wall_seconds: float = Field(
        default=60.0,
        gt=0,
        description="Wall-clock time of one extraction; past it the worker is killed and replaced.",
    )
    ocr: OcrSettings = Field(
        default_factory=OcrSettings,
        description="Reading the text in images and scanned PDF pages (Tesseract); see docs/extract.md.",
    )
