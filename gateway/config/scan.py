"""`scan:` in config.yaml: how personal data is found, how much is "bulk", and what is the company's own.

Every field has a default that works without a config file; unknown keys stop start-up.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Sudachi (and so ja_ginza) refuses inputs over 49,149 UTF-8 bytes; 12,000 characters of at most
# 4 bytes each always fit.
MAX_CHUNK_CHARS = 12_000


class ScanConfig(BaseModel):
    """Settings of the personal-data scanner (gateway.scan)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_score: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="A hit counts when its score (after validators and context) reaches this.",
    )
    thresholds: dict[str, float] = Field(
        default_factory=dict,
        description="Per-entity score thresholds overriding min_score, e.g. {PERSON: 0.7}.",
    )
    bulk_records: int = Field(
        default=10,
        ge=1,
        description="Records (table rows or listed people) with personal data that make a BULK finding.",
    )
    entities: list[str] = Field(
        default_factory=list, description="Entities to look for; empty means all the scanner knows."
    )
    own_phone_numbers: list[str] = Field(
        default_factory=list,
        description="The organisation's own phone/fax numbers (any format); never counted as personal data.",
    )
    own_addresses: list[str] = Field(
        default_factory=list,
        description="The organisation's own postal addresses (e.g. '東京都港区芝公園1-2-3'), in any spelling; "
        "never counted, and neither are their postal codes.",
    )
    own_bank_accounts: list[str] = Field(
        default_factory=list, description="The organisation's own bank account numbers (7 digits); never counted."
    )
    ja_model: str = Field(
        default="ja_ginza",
        description="Installed spaCy package (or path) of the Japanese NER model used in the NER window.",
    )
    en_model_path: Path | None = Field(
        default=None,
        description="Path of an English spaCy model for English names; without it English runs on patterns only.",
    )
    ner_window_chars: int = Field(
        default=2_000,
        ge=0,
        description="At most this many characters per message go to GiNZA NER (around uncertain hits); 0 = no NER.",
    )
    ner_seconds: float = Field(
        default=2.0,
        gt=0,
        description="Time spent in NER per message; checked between pieces of at most 256 characters.",
    )
    chunk_chars: int = Field(
        default=8_000,
        ge=500,
        le=MAX_CHUNK_CHARS,
        description=f"Text is scanned in chunks of at most this many characters (≤ {MAX_CHUNK_CHARS}, split at lines).",
    )
    time_budget_seconds: float = Field(
        default=30.0, gt=0, description="A scan still running after this is UNSCANNABLE (fail closed), not a pass."
    )
    max_table_cells_for_names: int = Field(
        default=50_000,
        ge=0,
        description="Distinct unlabelled table cells read by the name tokenizer before giving up on names.",
    )
    samples: int = Field(default=3, ge=0, le=10, description="Masked samples kept per finding.")
    preview_lines: int = Field(
        default=5,
        ge=0,
        le=50,
        description="Lines of each attachment's text shown, masked, on the hold pages (0: no preview).",
    )
    preview_chars: int = Field(
        default=400, ge=0, le=4_000, description="At most this many characters of each attachment's preview."
    )
    preview_attachments: int = Field(
        default=20, ge=0, le=200, description="Attachments (and files inside them) with a preview, per message."
    )

    @field_validator("thresholds")
    @classmethod
    def _check_thresholds(cls, v: dict[str, float]) -> dict[str, float]:
        for entity, score in v.items():
            if not 0.0 <= score <= 1.0:
                raise ValueError(f"threshold of {entity} must be between 0 and 1, not {score}")
        return v

    def threshold(self, entity: str) -> float:
        return self.thresholds.get(entity, self.min_score)
