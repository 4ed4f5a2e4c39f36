"""What inspection learns about a message's content: text Segments with provenance, and Findings.

Extraction produces Segments (text to scan) and UNSCANNABLE / AMBIGUOUS_MIME Findings; the scanner
adds personal-data Findings of the same class (entity "PERSON", "PHONE_NUMBER", ... with counts and
masked samples). Everything here is a plain, picklable, immutable dataclass: it crosses the boundary
of the extraction worker process.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from operator import attrgetter
from typing import Any, TypeVar

SEP = " › "

_T = TypeVar("_T")


_INIT_VALUES: dict[type, Callable[[Any], tuple[Any, ...]]] = {}


def _reduce_to_init(self: Any) -> tuple[type, tuple[Any, ...]]:
    cls = type(self)
    values = _INIT_VALUES.get(cls)
    if values is None:
        names = [f.name for f in fields(cls) if f.init]
        # the class as a last name: attrgetter of one name alone gives no tuple
        getter = attrgetter(*names, "__class__")
        values = _INIT_VALUES[cls] = (lambda obj: getter(obj)[:-1]) if names else (lambda obj: ())
    return cls, values(self)


def pickled_by_fields(cls: type[_T]) -> type[_T]:
    """A frozen slots dataclass pickled as its class and its fields in order, remade by its __init__:
    what crosses the pipe to and from the inspection workers. dataclasses' own state functions for
    slots (`fields()` and a loop in Python per object) took 3-4 times as long to load."""
    cls.__reduce__ = _reduce_to_init  # type: ignore[method-assign]
    return cls


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Segment:
    """A piece of text the scanner reads, and where it came from.

    `text` is normalised for scanning (NFKC, dash look-alikes between digits unified to "-").
    When that changed anything, `source` holds the decoded text before normalisation and `breaks`
    maps offsets back (see `source_offset`); otherwise both are empty.

    Provenance: `part` is the MIME part number ("1.2"; "" for the top-level headers), `attachment`
    the name of the attached file the text came from, `path` the names inside it (archive members,
    attachments of a forwarded message), `sheet` a worksheet or slide, `field` a header name.

    Tables (`kind == "table"`): `text` holds one row per line, cells separated by tabs; `header` is
    the header row's cells, `row_offsets[i]` the offset in `text` where data row i starts, and
    `first_row` the 1-based row number (in the sheet) of data row 0.
    """

    text: str
    # subject | display-name | header | filename | body | calendar | attachment | table | hidden
    # (hidden: travels but is not shown as text, `field` says where: "HTML comment", "attribute alt",
    # "MIME preamble", ...; header: any other header field, named in `field`)
    kind: str
    part: str = ""
    content_type: str = ""
    attachment: str = ""
    path: tuple[str, ...] = ()
    sheet: str = ""
    field: str = ""
    header: tuple[str, ...] = ()
    row_offsets: tuple[int, ...] = ()
    first_row: int = 0
    quoted: bool = False
    charset: str = ""
    source: str = ""
    breaks: tuple[tuple[int, int], ...] = ()

    @property
    def rows(self) -> int:
        return len(self.row_offsets)

    def row_at(self, offset: int) -> int:
        """The sheet row number (1-based) of a text offset in a table; 0 outside tables."""
        if not self.row_offsets:
            return 0
        return self.first_row + max(0, bisect_right(self.row_offsets, offset) - 1)

    def source_offset(self, offset: int) -> int:
        """Map an offset in `text` back to the offset in `source` (identity when unchanged)."""
        i = bisect_right(self.breaks, (offset, 1 << 62)) - 1
        if i < 0:
            return offset
        norm_at, src_at = self.breaks[i]
        return src_at + (offset - norm_at)

    @property
    def where(self) -> str:
        """Human-readable provenance: 'attachment 申込者一覧.xlsx › sheet 明細 › rows 2-5573'."""
        bits: list[str] = []
        if self.attachment:
            bits.append(f"attachment {self.attachment}")
            bits.extend(self.path)
            if self.kind in ("subject", "display-name", "body", "calendar", "header"):
                bits.append(f"{self.kind} {self.field}".rstrip())
            elif self.kind in ("hidden", "filename") and self.field:
                bits.append(self.field)
        elif self.kind in ("subject", "display-name", "header"):
            bits.append(f"header {self.field}" if self.field else self.kind)
        elif self.kind in ("hidden", "filename") and self.field:
            bits.append(f"{self.field} {self.content_type}".rstrip())
        else:
            bits.append(f"{self.kind} {self.content_type}".rstrip())
        if self.sheet:
            bits.append(f"sheet {self.sheet}")
        if self.kind == "table" and self.row_offsets:
            bits.append(f"rows {self.first_row}-{self.first_row + len(self.row_offsets) - 1}")
        if self.quoted:
            bits.append("quoted")
        if self.part:
            bits.append(f"part {self.part}")
        return SEP.join(bits)


@dataclass(frozen=True, slots=True)
class Finding:
    """Something the rules can act on: an entity found, how often, why, and where.

    Extraction emits entity "UNSCANNABLE" (content that could not be read: `reason` is a stable code
    from gateway.unscannable, `detail` says exactly what) and "AMBIGUOUS_MIME". The scanner emits
    personal-data entities with `count` and masked `samples` (never raw values).
    """

    entity: str
    reason: str = ""
    detail: str = ""
    count: int = 1
    part: str = ""
    attachment: str = ""
    path: tuple[str, ...] = ()
    sheet: str = ""
    row: int = 0
    samples: tuple[str, ...] = ()
    score: float = 1.0

    @property
    def where(self) -> str:
        bits: list[str] = []
        if self.attachment:
            bits.append(f"attachment {self.attachment}")
        bits.extend(self.path)
        if self.sheet:
            bits.append(f"sheet {self.sheet}")
        if self.row:
            bits.append(f"row {self.row}")
        if self.part:
            bits.append(f"part {self.part}")
        return SEP.join(bits)


@dataclass(frozen=True, slots=True)
class AttachmentInfo:
    """Facts about one attached file (or archive member) for the rules: name, type, size."""

    name: str
    detected_type: str  # e.g. "xlsx", "pdf", "zip", "image/png", "unknown"
    size: int
    declared_type: str = ""
    part: str = ""
    path: tuple[str, ...] = ()
    encrypted: bool = False
    text_extracted: bool = False
    sha256: str = ""  # of the file's bytes (identical attachments sent to other organisations)


@dataclass(slots=True)
class Extraction:
    """The result of reading a whole message."""

    segments: list[Segment] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    attachments: list[AttachmentInfo] = field(default_factory=list)
    stats: dict[str, float] = field(default_factory=dict)
    mime_defects: int = 0  # defects the MIME parser found (counted where the message is parsed once)

    @property
    def unscannable(self) -> list[Finding]:
        return [f for f in self.findings if f.entity == "UNSCANNABLE"]

    @property
    def text_chars(self) -> int:
        return sum(len(s.text) for s in self.segments)
