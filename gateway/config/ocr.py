"""`extract.ocr:` in config.yaml: reading the text in images (image attachments, inline images,
image-only PDF pages) with Tesseract, and what is too small to hold text."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_LANGUAGE = frozenset("abcdefghijklmnopqrstuvwxyz_")


class OcrSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(
        default=True,
        description="Read images with OCR. Off, every image that could hold text is UNSCANNABLE "
        "(ocr-unavailable): nothing is passed unread.",
    )
    languages: str = Field(
        default="jpn+eng",
        description="Tesseract languages, joined by '+' (Debian packages tesseract-ocr-jpn, tesseract-ocr-eng).",
    )
    tessdata: str = Field(
        default="",
        description="Folder of the Tesseract language data; empty: the one libtesseract was built with "
        "(/usr/share/tesseract-ocr/5/tessdata on Debian).",
    )
    min_width: int = Field(default=32, ge=1, description="Images narrower than this (pixels) are skipped: icons.")
    min_height: int = Field(default=16, ge=1, description="Images lower than this (pixels) are skipped: rules.")
    min_pixels: int = Field(
        default=40_000,
        ge=1,
        description="Images with fewer pixels (width x height) are skipped: signature logos and icons "
        "(a 200x200 area; a 300x100 logo is skipped, a 1000x650 screenshot is read).",
    )
    max_pixels: int = Field(
        default=40_000_000,
        ge=1,
        description="Images with more pixels are not decoded (decompression bombs): UNSCANNABLE limit-image-pixels.",
    )
    image_seconds: float = Field(
        default=20.0,
        gt=0,
        description="Time Tesseract may spend on one image or PDF page; past it the image is "
        "UNSCANNABLE (limit-ocr-time) and the text read so far is still scanned.",
    )
    message_seconds: float = Field(
        default=60.0,
        gt=0,
        description="Time all OCR of one message may take; images after it are UNSCANNABLE (limit-ocr-time). "
        "Added to extract.cpu_seconds and extract.wall_seconds for mail that needs OCR.",
    )
    pdf_page_chars: int = Field(
        default=20,
        ge=0,
        description="A PDF page whose text layer has fewer non-blank characters than this, and that "
        "draws an image, is rendered and read with OCR (a scanned page).",
    )
    pdf_image_share: float = Field(
        default=0.1,
        ge=0,
        le=1,
        description="On a PDF page that has a text layer, an image drawn over at least this share of the "
        "page (and not too small by its own pixels) is rendered and read with OCR: a pasted screenshot. "
        "0.1 of A4 is about 10x6 cm; letterhead logos, stamps and signatures stay below it. 1: never.",
    )
    pdf_dpi: int = Field(default=200, ge=72, le=600, description="Resolution PDF pages are rendered at for OCR.")

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: str) -> str:
        parts = value.split("+")
        if not value or any(not p or not set(p) <= _LANGUAGE for p in parts):
            raise ValueError("languages are Tesseract names joined by '+', e.g. 'jpn+eng'")
        return value

    @model_validator(mode="after")
    def _sizes(self) -> OcrSettings:
        if self.min_pixels > self.max_pixels:
            raise ValueError("min_pixels must not be larger than max_pixels")
        if self.min_width * self.min_height > self.max_pixels:
            raise ValueError("min_width x min_height must not be larger than max_pixels")
        return self

    def skipped(self, width: int, height: int) -> bool:
        """Too small to hold a line of text worth reading (logos, icons, spacers)."""
        return width < self.min_width or height < self.min_height or width * height < self.min_pixels
