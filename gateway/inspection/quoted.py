"""Quoted replies are scanned once per worker: their findings are reused when the same quoted text
comes back in a later message (a reply, a reply-all, a forward of the same mail).

A quoted segment (the extractor marks `quoted` runs: '>' lines, everything after an "Original
Message" separator) is recognised by a SHA-256 hash of its text, its kind and content type, and the
scan context (sender, recipients, the organisation's own addresses: they decide what is quiet). On a
hit the segment goes to the scanner empty (so it is skipped) and its earlier findings are put back,
placed in this message (part, attachment, location) and marked quoted as they were. On a miss the
segment is scanned with the rest and its findings are kept for next time.

Only the hash is kept as the key, never the text, and the findings hold masked samples only (as
every ScanResult does); nothing here is logged. The cache is per worker process and bounded
(`max_entries`, least recently used out first).

What stays exact: findings are per segment (the scanner aggregates by segment), the message's
records are the sum over segments, so putting a segment's findings back gives the result a full scan
gives. Two things are message-wide, and there the cache steps aside: a quoted segment whose findings
would count towards the bulk threshold is never reused if the message's total reaches it (the whole
message is scanned again without the cache, so the BULK finding is the scanner's own), and a scan
that ran out of time stores nothing. Tables, text inside attachments (its first lines make the
attachment's masked preview) and segments whose provenance is not unique in the message are not
cached.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import Counter, OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gateway.content import Segment
from gateway.scan.model import BULK, PersonalData, ScanContext, ScanResult

if TYPE_CHECKING:  # the scanner's models load in the worker only
    from gateway.scan.engine import Scanner

MIN_CHARS = 120  # shorter quoted runs cost less to scan than to look up


@dataclass(frozen=True)
class _Entry:
    findings: tuple[PersonalData, ...]
    records: int


class QuotedCache:
    def __init__(self, max_entries: int = 2048, min_chars: int = MIN_CHARS) -> None:
        self.max_entries = max_entries
        self.min_chars = min_chars
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def scan(self, scanner: Scanner, segments: list[Segment], context: ScanContext) -> ScanResult:
        """scanner.scan(segments, context), with quoted segments seen before not scanned again."""
        places = Counter(s.where for s in segments)
        candidates = {
            i: self._key(s, context)
            for i, s in enumerate(segments)
            if s.quoted
            and not s.attachment
            and s.kind != "table"
            and len(s.text) >= self.min_chars
            and places[s.where] == 1
        }
        if not candidates:
            return scanner.scan(segments, context)
        reused: dict[int, _Entry] = {}
        for i, key in candidates.items():
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                reused[i] = entry
        sent = [
            dataclasses.replace(s, text="", source="", breaks=()) if i in reused else s for i, s in enumerate(segments)
        ]
        result = scanner.scan(sent, context)
        added = sum(e.records for e in reused.values())
        if added and result.records + added >= scanner.config.bulk_records:
            self.misses += len(candidates)
            return scanner.scan(segments, context)  # message-wide: the scanner's own BULK finding
        self.hits += len(reused)
        self.misses += len(candidates) - len(reused)
        if not result.unscannable:
            for i, key in candidates.items():
                if i not in reused:
                    self._store(key, segments[i], result)
        if not reused:
            return result
        return _merged(result, segments, reused, added)

    def _key(self, segment: Segment, context: ScanContext) -> bytes:
        h = hashlib.sha256()
        for part in (
            segment.kind,
            segment.content_type,
            context.sender.lower(),
            *sorted(r.lower() for r in context.recipients),
            "|",
            *context.internal_domains,
            "|",
            *context.own_phone_numbers,
            "|",
            *context.own_addresses,
            "|",
            segment.text,
        ):
            h.update(part.encode("utf-8", "surrogatepass"))
            h.update(b"\0")
        return h.digest()

    def _store(self, key: bytes, segment: Segment, result: ScanResult) -> None:
        where = segment.where
        found = tuple(f for f in result.personal if f.location == where)
        self._entries[key] = _Entry(found, max((f.records for f in found), default=0))
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


def _merged(result: ScanResult, segments: list[Segment], reused: dict[int, _Entry], added: int) -> ScanResult:
    """The scanner's result with the reused findings put back in segment order, as a full scan orders them."""
    order = {s.where: i for i, s in enumerate(segments)}
    personal: list[tuple[int, PersonalData]] = [(order.get(f.location, len(segments)), f) for f in result.personal]
    for i, entry in reused.items():
        seg = segments[i]
        personal += [
            (
                i,
                dataclasses.replace(
                    f, location=seg.where, part=seg.part, attachment=seg.attachment, path=seg.path, sheet=seg.sheet
                ),
            )
            for f in entry.findings
        ]
    personal.sort(key=lambda item: item[0])
    head = [f for f in result.findings if not isinstance(f, PersonalData)]
    bulk = [f for f in result.findings if isinstance(f, PersonalData) and f.entity == BULK]
    stats = dict(result.stats, quoted_reused=float(len(reused)))
    findings = [*head, *(f for _, f in personal), *bulk]
    return dataclasses.replace(result, findings=findings, records=result.records + added, stats=stats)
