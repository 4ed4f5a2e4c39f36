"""`inspection:` in config.yaml: the worker processes that extract and scan each message."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

MiB = 1024 * 1024


class InspectionConfig(BaseModel):
    """Settings of the inspection pool (gateway.inspection.pool)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    workers: int = Field(
        default=2,
        ge=1,
        le=64,
        description="Inspection worker processes; each loads the scanner's models once (about 200 MB, "
        "300 MB with GiNZA) and inspects one message at a time.",
    )
    recycle_after: int = Field(
        default=20_000,
        ge=1,
        description="A worker is replaced by a fresh one after this many messages, so no parser state "
        "accumulates. A fresh worker loads its models again (about 3 s of CPU with GiNZA, as much as "
        "inspecting a few hundred plain mails), so this is rare; `recycle_growth_bytes` catches a worker "
        "that grows sooner.",
    )
    recycle_growth_bytes: int = Field(
        default=256 * MiB,
        ge=16 * MiB,
        description="A worker whose resident memory after a message exceeds what it held when its models "
        "had loaded by more than this is replaced by a fresh one (memory a parser kept, or a large "
        "message's heap that stays resident).",
    )
    memory_bytes: int = Field(
        default=1024 * MiB,
        ge=64 * MiB,
        description="Address space one message may add to a worker on top of its loaded models "
        "(RLIMIT_AS); past it the message is UNSCANNABLE (limit-memory) and the worker is replaced.",
    )
    quoted_cache_entries: int = Field(
        default=2048,
        ge=0,
        description="Quoted replies each worker remembers by a hash of their text, so the same quoted "
        "text in a later reply is not scanned again (its findings are reused, marked quoted); 0: off.",
    )
    nice: int = Field(
        default=10,
        ge=0,
        le=19,
        description="Scheduling niceness of the workers: receiving (the durable write before 250) and "
        "delivery go first when the CPU is short; inspection catches up from the queue.",
    )
    start_seconds: float = Field(
        default=180.0,
        gt=0,
        description="Time a worker may take to load its models; a worker that cannot stops start-up.",
    )
    ocr_workers: int = Field(
        default=1,
        ge=0,
        le=16,
        description="Workers of the OCR lane: mail with an image or scanned PDF page to read goes to them "
        "after the main workers found one, so a burst of screenshots never holds up plain mail. Started "
        "on the first such message. 0: the main workers read images themselves.",
    )
    ocr_nice: int = Field(
        default=15,
        ge=0,
        le=19,
        description="Scheduling niceness of the OCR lane's workers: above `nice`, so the main workers "
        "(plain mail) go first when the CPU is short.",
    )
