"""State of one extraction: budgets counted against the limits, and where results are collected."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from gateway.config.extract import ExtractLimits
from gateway.content import AttachmentInfo, Extraction, Finding, Segment
from gateway.extract.normalise import TextBuilder, normalise
from gateway.unscannable import AMBIGUOUS_MIME, UNSCANNABLE, Reason


class LimitExceeded(Exception):
    """A budget ran out. Raised inside a handler, turned into an UNSCANNABLE finding by its caller."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class Unscannable(Exception):
    """A handler cannot read its input (encrypted, malformed, unsupported)."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Where:
    """Provenance of what is being read: MIME part, top-level attachment, path inside it."""

    part: str = ""
    attachment: str = ""
    path: tuple[str, ...] = ()
    depth: int = 0  # archive / attached-message nesting

    def inside(self, name: str) -> Where:
        """A member of the current file (archive entry, attachment of an attached message)."""
        if not self.attachment:
            return Where(self.part, name, (), self.depth + 1)
        return Where(self.part, self.attachment, (*self.path, name), self.depth + 1)

    @property
    def key(self) -> tuple[str, str, tuple[str, ...]]:
        return (self.part, self.attachment, self.path)

    @property
    def label(self) -> str:
        return " › ".join((self.attachment, *self.path)) if self.attachment else f"part {self.part}"


ReadMessage = Callable[["Context", bytes, "Where"], None]


class Context:
    """One extraction's budgets and results. `read_message` reads a message found inside a file (an
    attached .eml): mime.py reads files and files hold messages, so the reader is handed down here
    instead of files.py importing mime.py back."""

    def __init__(self, limits: ExtractLimits, read_message: ReadMessage, ocr_mode: str = "run") -> None:
        self.limits = limits
        self.read_message = read_message
        self.ocr_mode = ocr_mode  # "run": images are read with OCR here; "defer": left for the OCR lane
        self.ocr_seconds = 0.0
        self.out = Extraction()
        self.decompressed = 0
        self.text_chars = 0
        self.files = 0
        self.parts = 0
        self._file_chars: dict[tuple[str, str, tuple[str, ...]], int] = {}
        self._reported: set[tuple[str, str, tuple[str, str, tuple[str, ...]]]] = set()

    # -- budgets --------------------------------------------------------------------------------

    def take_bytes(self, n: int, where: Where) -> None:
        """Count `n` freshly decompressed bytes against the message budget."""
        self.decompressed += n
        if self.decompressed > self.limits.max_decompressed_bytes:
            raise LimitExceeded(
                Reason.LIMIT_DECOMPRESSED,
                f"more than {self.limits.max_decompressed_bytes} bytes decompressed (at {where.label})",
            )

    def text_room(self, where: Where) -> int:
        """Characters that `where` may still contribute."""
        used = self._file_chars.get(where.key, 0)
        per_file = self.limits.max_attachment_text_chars if where.attachment else 1 << 62
        return max(0, min(per_file - used, self.limits.max_message_text_chars - self.text_chars))

    def count_file(self, where: Where) -> None:
        self.files += 1
        if self.files > self.limits.max_attachments:
            raise LimitExceeded(
                Reason.LIMIT_ATTACHMENTS, f"more than {self.limits.max_attachments} files in the message"
            )

    # -- results --------------------------------------------------------------------------------

    def finding(self, entity: str, reason: Reason, detail: str, where: Where, sheet: str = "") -> None:
        key = (entity, str(reason), where.key)
        if key in self._reported and reason in _ONCE:
            return
        self._reported.add(key)
        self.out.findings.append(
            Finding(
                entity=entity,
                reason=str(reason),
                detail=detail,
                part=where.part,
                attachment=where.attachment,
                path=where.path,
                sheet=sheet,
            )
        )

    def unscannable(self, reason: Reason, detail: str, where: Where, sheet: str = "") -> None:
        self.finding(UNSCANNABLE, reason, detail, where, sheet)

    def ambiguous(self, reason: Reason, detail: str, where: Where) -> None:
        self.finding(AMBIGUOUS_MIME, reason, detail, where)

    def attachment(self, info: AttachmentInfo) -> None:
        self.out.attachments.append(info)

    def add(self, seg: Segment, where: Where) -> None:
        """Keep a segment, cut to the text limits (a cut is an UNSCANNABLE finding)."""
        if not seg.text.strip():
            return
        room = self.text_room(where)
        if len(seg.text) > room:
            self.limit_reached(where, seg.sheet)
            if room <= 0:
                return
            seg = _cut(seg, room)
        self._file_chars[where.key] = self._file_chars.get(where.key, 0) + len(seg.text)
        self.text_chars += len(seg.text)
        self.out.segments.append(seg)

    def limit_reached(self, where: Where, sheet: str = "") -> None:
        """Report that the text of `where` (or of the message) was cut at its limit."""
        if where.attachment and self.text_chars < self.limits.max_message_text_chars:
            self.unscannable(
                Reason.LIMIT_ATTACHMENT_TEXT,
                f"only the first {self.limits.max_attachment_text_chars} characters were read",
                where,
                sheet,
            )
        else:
            self.unscannable(
                Reason.LIMIT_MESSAGE_TEXT,
                f"only the first {self.limits.max_message_text_chars} characters of the message were read",
                where,
                sheet,
            )

    def text(
        self,
        text: str,
        kind: str,
        where: Where,
        content_type: str = "",
        *,
        sheet: str = "",
        field: str = "",
        quoted: bool = False,
        charset: str = "",
    ) -> None:
        norm, breaks = normalise(text)
        self.add(
            Segment(
                text=norm,
                kind=kind,
                part=where.part,
                content_type=content_type,
                attachment=where.attachment,
                path=where.path,
                sheet=sheet,
                field=field,
                quoted=quoted,
                charset=charset,
                source=text if norm != text else "",
                breaks=tuple(breaks),
            ),
            where,
        )

    def table(
        self,
        rows: list[list[str]],
        where: Where,
        content_type: str,
        *,
        first_row: int = 1,
        sheet: str = "",
        quoted: bool = False,
        charset: str = "",
    ) -> None:
        """Rows as one table segment: the first non-empty row is the header, the rest data rows."""
        start = 0
        while start < len(rows) and not any(c.strip() for c in rows[start]):
            start += 1
        if start >= len(rows):
            return
        header = tuple(normalise(_cell(c))[0] for c in rows[start])
        room = self.text_room(where)
        built = _plain_table(rows, start, room)
        if built is None:
            b = TextBuilder()
            _add_row(b, rows[start])
            offsets: list[int] = []
            for row in rows[start + 1 :]:
                b.add_raw("\n")
                offsets.append(b.length)
                _add_row(b, row)
                if b.length > room:
                    break  # add() cuts it and reports
            while offsets and offsets[-1] >= b.length:
                offsets.pop()
            text, source, breaks = b.build()
        else:
            text, offsets = built
            source, breaks = "", ()
        self.add(
            Segment(
                text=text,
                kind="table",
                part=where.part,
                content_type=content_type,
                attachment=where.attachment,
                path=where.path,
                sheet=sheet,
                header=header,
                row_offsets=tuple(offsets),
                first_row=first_row + start + 1,
                quoted=quoted,
                charset=charset,
                source=source,
                breaks=breaks,
            ),
            where,
        )


_ONCE = {Reason.LIMIT_ATTACHMENT_TEXT, Reason.LIMIT_MESSAGE_TEXT}


def _cell(value: str) -> str:
    return value.replace("\t", " ").replace("\r", " ").replace("\n", " ")


def _add_row(b: TextBuilder, row: list[str]) -> None:
    # Trailing empty cells carry nothing; a row keeps its leading ones so columns line up.
    end = len(row)
    while end and not row[end - 1]:
        end -= 1
    for i in range(end):
        if i:
            b.add_raw("\t")
        b.add(_cell(row[i]))


def _row_text(row: list[str]) -> str:
    """The row as _add_row writes it, before normalisation: cells joined by tabs, trailing empty ones left out."""
    end = len(row)
    while end and not row[end - 1]:
        end -= 1
    return "\t".join([_cell(c) for c in row[:end]])


def _plain_table(rows: list[list[str]], start: int, room: int) -> tuple[str, list[int]] | None:
    """The table's text and row offsets as the TextBuilder of Context.table gives them, where
    normalisation changes no cell (the common case: checked on the whole text at once; a tab or a line
    end between two cells is a boundary that neither NFKC nor the dash rule crosses); None otherwise."""
    lines = [_row_text(rows[start])]
    length = len(lines[0])
    offsets: list[int] = []
    for row in rows[start + 1 :]:
        length += 1
        offsets.append(length)
        line = _row_text(row)
        lines.append(line)
        length += len(line)
        if length > room:
            break
    while offsets and offsets[-1] >= length:
        offsets.pop()
    text = "\n".join(lines)
    norm, breaks = normalise(text)
    if breaks or norm != text:
        return None
    return text, offsets


def _cut(seg: Segment, n: int) -> Segment:
    src_n = seg.source_offset(n) if seg.source else 0
    return dataclasses.replace(
        seg,
        text=seg.text[:n],
        row_offsets=tuple(o for o in seg.row_offsets if o < n),
        source=seg.source[:src_n] if seg.source else "",
        breaks=tuple(b for b in seg.breaks if b[0] <= n),
    )
