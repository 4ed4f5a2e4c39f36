"""The Scanner: Segments → personal-data findings with counts, records and masked samples.

    scanner = Scanner(ScanConfig())               # loads Sudachi (and GiNZA when the NER window > 0)
    result = scanner.scan(segments, ScanContext(sender=..., recipients=...))

Stages per segment, in chunks of at most `chunk_chars` characters split at line ends:
  1. fast: compiled patterns + validators + context words / table headers; names by Sudachi POS
  2. tables: header-classified columns; records = rows holding personal data
  3. quiet: signatures, reply attribution, greetings, the organisation's own data
  4. slow (bounded): GiNZA NER only on lines where other personal data sits without a name,
     at most `ner_window_chars` characters and `ner_seconds` per message
A scan past `time_budget_seconds` returns an UNSCANNABLE finding (fail closed).
"""

from __future__ import annotations

import bisect
import logging
import re
import time
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import gateway.scan.offline  # noqa: F401  (before presidio/spacy)
from gateway.config.scan import ScanConfig
from gateway.content import Segment
from gateway.scan.evidence import BATCH_ENTITIES, batches, paragraphs
from gateway.scan.mask import mask
from gateway.scan.model import BULK, Hit, PersonalData, ScanContext, ScanResult
from gateway.scan.ner import NerStage, ScanModelError, english_ner, japanese_ner
from gateway.scan.preview import heads_of
from gateway.scan.quiet import Own, Zones, zones
from gateway.scan.recognizers import ENTITIES, JapaneseNameRecognizer, pattern_recognizers
from gateway.scan.tables import cell_hits, classify_header, column_at, content_columns
from gateway.unscannable import Reason, unscannable

log = logging.getLogger(__name__)

__all__ = ["ScanModelError", "Scanner"]

_JA_TEXT = re.compile(r"[\u3041-\u3096\u30a1-\u30fa\u4e00-\u9fff]")
# Correspondents' own names and addresses in From/To/Cc display names are not leaks; any other
# personal data there (a phone number, a My Number in a display name) is.
_HEADER_KINDS = ("display-name",)
_CORRESPONDENT = frozenset({"PERSON", "EMAIL_ADDRESS"})
_RUNNING_TEXT = ("body", "subject", "calendar")


class _TimeUp(Exception):
    pass


@dataclass(slots=True)
class _Budget:
    deadline: float
    ner_chars: int
    ner_seconds: float
    ner_used: int = 0  # characters given to NER
    ner_spent: float = 0.0  # seconds spent in NER

    def check(self) -> None:
        if time.monotonic() > self.deadline:
            raise _TimeUp

    def ner_affords(self, chars: int) -> bool:
        """Whether `chars` more characters fit the NER time budget, at the rate measured so far in this
        message (pieces are short, so the budget is overrun by at most one piece)."""
        if self.ner_spent >= self.ner_seconds:
            return False
        if not self.ner_used:
            return True
        return self.ner_spent + chars * self.ner_spent / self.ner_used <= self.ner_seconds


# NER reads windows in pieces of at most this many characters, cut after a sentence or a line, so
# `scan.ner_seconds` is checked inside the work, not only between windows.
NER_PIECE_CHARS = 256
_SENTENCE_END = re.compile(r"[。．！？!?\n]")


def _pieces(text: str, a: int, b: int) -> Iterator[tuple[int, int]]:
    while b - a > NER_PIECE_CHARS:
        cut = a + NER_PIECE_CHARS
        ends = [m.end() for m in _SENTENCE_END.finditer(text, a + NER_PIECE_CHARS // 4, cut)]
        cut = ends[-1] if ends else cut
        yield a, cut
        a = cut
    if b > a:
        yield a, b


@dataclass(slots=True)
class _Place:
    """Hits of one segment, after the quiet stage."""

    segment: Segment
    hits: list[tuple[Hit, bool]] = field(default_factory=list)  # (hit, quoted)
    text: str = ""  # the text the offsets refer to (normalised)
    found: list[Hit] = field(default_factory=list)  # every hit over its threshold, before the quiet stage


def _chunks(text: str, size: int) -> Iterator[tuple[int, str]]:
    """(offset, chunk) pieces of at most `size` characters, split after a line end where possible."""
    pos, n = 0, len(text)
    while pos < n:
        end = min(n, pos + size)
        if end < n:
            cut = text.rfind("\n", pos, end)
            end = cut + 1 if cut > pos else end
        yield pos, text[pos:end]
        pos = end


def _resolve(hits: list[Hit]) -> list[Hit]:
    """Overlapping hits: the higher score wins, then the longer span. A name inside an address that
    Japan Post's data confirms is part of the address (town names read like surnames: 上高野, 田中町)."""
    places = [(h.start, h.end) for h in hits if h.source == "gazetteer"]
    if places:
        hits = [h for h in hits if h.entity != "PERSON" or not any(a <= h.start and h.end <= b for a, b in places)]
    kept: list[Hit] = []
    starts: list[int] = []  # taken spans, disjoint and sorted
    ends: list[int] = []
    for h in sorted(hits, key=lambda h: (-h.score, h.start - h.end)):
        i = bisect.bisect_right(starts, h.start)
        if (i > 0 and ends[i - 1] > h.start) or (i < len(starts) and starts[i] < h.end):
            continue
        kept.append(h)
        starts.insert(i, h.start)
        ends.insert(i, h.end)
    kept.sort(key=lambda h: h.start)
    return kept


def _zones(text: str, kind: str, found: list[Hit]) -> Zones:
    """The quiet zones of a body. They only ever silence or mark hits (and place NER windows beside
    them): without a hit (most plain mail) they change nothing and are not worked out."""
    return zones(text) if found and kind in ("body", "calendar") else Zones([], [], [])


def _row(seg: Segment, offset: int) -> int:
    """The sheet row of an offset; the first line is the row above the first data row (a CSV without
    a header row has values there)."""
    return seg.row_at(offset) if offset >= seg.row_offsets[0] else seg.first_row - 1


def _data_row(hits: list[Hit], threshold: Callable[[str], float]) -> bool:
    """A first row holding personal data (a counted hit, or two values of any score) is not a header."""
    return any(h.score >= threshold(h.entity) for h in hits) or len(hits) >= 2


_NOT_DIGIT = re.compile(r"\D")
_SPACE = re.compile(r"\s")
_ASCII_DIGIT = re.compile(r"[0-9]")


def _value_key(hit: Hit) -> str:
    v = hit.value
    if hit.entity == "EMAIL_ADDRESS":
        return v.lower()
    if hit.entity not in ("JP_ADDRESS", "DATE_OF_BIRTH") and (
        _ASCII_DIGIT.search(v) if v.isascii() else any(c.isdigit() for c in v)
    ):
        return _NOT_DIGIT.sub("", v)
    return _SPACE.sub("", v)


class Scanner:
    """Built once per process from ScanConfig; `scan()` is synchronous and CPU-bound (run in gateway.inspection)."""

    def __init__(self, config: ScanConfig | None = None) -> None:
        self.config = config = config or ScanConfig()
        unknown = set(config.entities) - set(ENTITIES)
        if unknown:
            raise ScanModelError(f"scan.entities names unknown entities: {sorted(unknown)}; known: {list(ENTITIES)}")
        self.entities = set(config.entities or ENTITIES)
        self.recognizers = pattern_recognizers(list(self.entities))
        self._shapes: dict[str, Callable[[str], list[int]]] = {
            r.ENTITY: r.shapes for r in self.recognizers if r.ENTITY in BATCH_ENTITIES
        }
        self.names = JapaneseNameRecognizer()
        try:
            self.names.load()
        except Exception as e:
            raise ScanModelError(f"Sudachi dictionary could not be loaded (SudachiDict-core): {e}") from e
        self.ner: NerStage | None = None
        self.ner_en: NerStage | None = None
        if config.ner_window_chars > 0 and "PERSON" in self.entities:
            self.ner = japanese_ner(config.ja_model, self.names.tokenizer)
            if config.en_model_path is not None:
                self.ner_en = english_ner(config.en_model_path)
        elif config.en_model_path is not None and not config.en_model_path.is_dir():
            raise ScanModelError(f"English model path {config.en_model_path} does not exist (scan.en_model_path)")

    # -- the whole message ------------------------------------------------------------------------

    def scan(self, segments: list[Segment], context: ScanContext | None = None) -> ScanResult:
        context = context or ScanContext()
        cfg = self.config
        started = time.monotonic()
        budget = _Budget(
            deadline=started + cfg.time_budget_seconds, ner_chars=cfg.ner_window_chars, ner_seconds=cfg.ner_seconds
        )
        own = Own(context, cfg.own_phone_numbers, cfg.own_addresses, cfg.own_bank_accounts)
        places: list[_Place] = []
        result = ScanResult()
        chars = 0
        try:
            for seg in segments:
                places.append(self._scan_segment(seg, own, budget))
                chars += len(seg.text)
        except _TimeUp:
            result.findings.append(
                unscannable(
                    Reason.LIMIT_TIME,
                    f"personal-data scan stopped after {cfg.time_budget_seconds:g} s "
                    f"({len(places)} of {len(segments)} text parts read)",
                )
            )
        self._aggregate(places, result)
        # Not scanned (the time budget ran out) means no head: nothing unmasked can be shown.
        result.heads = heads_of(
            ((p.segment, p.text or p.segment.text, p.found) for p in places),
            cfg.preview_lines,
            cfg.preview_chars,
            cfg.preview_attachments,
        )
        result.stats = {
            "scan_seconds": time.monotonic() - started,
            "chars": float(chars),
            "ner_chars": float(budget.ner_used),
            "ner_seconds": budget.ner_spent,
        }
        log.debug(
            "scanned %d chars in %.1f ms: %s",
            chars,
            result.stats["scan_seconds"] * 1000,
            {f.entity: f.count for f in result.findings},
        )
        return result

    def find(self, segments: list[Segment], context: ScanContext | None = None) -> list[tuple[int, Hit, bool]]:
        """The counted hits with raw values, as (segment index, hit, quoted): for evaluation only
        (bench/accuracy.py, tests). Raw values must never reach a log, a notice or the store."""
        context = context or ScanContext()
        cfg = self.config
        now = time.monotonic()
        budget = _Budget(now + cfg.time_budget_seconds, cfg.ner_window_chars, cfg.ner_seconds)
        own = Own(context, cfg.own_phone_numbers, cfg.own_addresses, cfg.own_bank_accounts)
        return [(i, h, q) for i, seg in enumerate(segments) for h, q in self._scan_segment(seg, own, budget).hits]

    # -- one segment -------------------------------------------------------------------------------

    def _scan_segment(self, seg: Segment, own: Own, budget: _Budget) -> _Place:
        place = _Place(seg)
        if not seg.text.strip():
            return place
        correspondents = seg.kind in _HEADER_KINDS
        text = seg.text
        if not unicodedata.is_normalized("NFKC", text):
            text = unicodedata.normalize("NFKC", text)
        table = seg.kind == "table"
        headers = seg.header if table else ()
        # the header row is the text before the first data row (when the extractor put it there)
        header_end = seg.row_offsets[0] if table and seg.row_offsets else 0
        columns: dict[int, str] = {}
        for i, cell in enumerate(headers):
            entity = classify_header(cell)
            if entity is not None:
                columns[i] = entity

        def header_at(offset: int, chunk: str, base: int) -> str:
            col = column_at(chunk, offset)
            return headers[col] if col < len(headers) else ""

        threshold = self.config.threshold
        raw: list[Hit] = []
        for base, chunk in _chunks(text, self.config.chunk_chars):
            budget.check()
            ctx_fn = (lambda off, c=chunk, b=base: header_at(off, c, b)) if table and headers else None
            hits: list[Hit] = []
            claimed: list[tuple[str, int, int]] = []
            for r in self.recognizers:
                hits.extend(r.find(chunk, ctx_fn, table=table))
                if r.CLAIMS_SHAPE:
                    claimed.extend((r.ENTITY, a, b) for a, b in r.shape_spans(chunk))
            if claimed:
                hits = [
                    h for h in hits if not any(e != h.entity and a <= h.start and h.end <= b for e, a, b in claimed)
                ]
            if "PERSON" in self.entities and not correspondents:
                if table:
                    hits.extend(cell_hits(chunk, columns))
                    hits.extend(self._table_names(chunk, columns, ctx_fn))
                elif _JA_TEXT.search(chunk):
                    hits.extend(self.names.find(chunk, None))
            if base:
                hits = [Hit(h.entity, h.start + base, h.end + base, h.score, h.value, h.source) for h in hits]
            raw.extend(h for h in hits if h.entity in self.entities)
        if table:
            if header_end and not columns and _data_row([h for h in raw if h.start < header_end], threshold):
                header_end = 0  # a CSV without a header row: its first row is data
            raw = [h for h in raw if h.start >= header_end]  # header cells are never values
            budget.check()
            raw.extend(h for h in content_columns(text, header_end, headers, columns, raw, threshold)
                       if h.entity in self.entities)  # fmt: skip
        if correspondents:
            raw = [h for h in raw if h.entity not in _CORRESPONDENT]
        group_of = (lambda off: column_at(text, off)) if table else paragraphs(text)
        raw = batches(text, raw, self._shapes, group_of, threshold)
        found = _resolve([h for h in raw if h.score >= threshold(h.entity)])

        z = _zones(text, seg.kind, found)
        running = seg.kind in _RUNNING_TEXT
        if self.ner is not None and not table and not correspondents:
            found = self._ner_stage(text, found, z, budget)
        place.text, place.found = text, found
        for h in found:
            if z.silences(h):
                continue
            quoted = seg.quoted or z.is_quoted(h.start)
            if own.owns(h, running_text=running, quoted=quoted):
                continue
            place.hits.append((h, quoted))
        return place

    def _table_names(self, chunk: str, columns: dict[int, str], ctx_fn: object) -> list[Hit]:
        """Names in table cells of unclassified columns: Sudachi per distinct cell (values repeat)."""
        out: list[Hit] = []
        cache: dict[str, list[Hit]] = {}
        plain: set[str] = set()  # cells without Japanese text (numbers, codes): nothing to look up
        limit = self.config.max_table_cells_for_names
        ja_text = _JA_TEXT.search
        pos = 0
        for line in chunk.split("\n"):
            start = pos
            for i, cell in enumerate(line.split("\t")):
                if i not in columns and cell and cell not in plain:
                    got = cache.get(cell)  # a cell in the cache has Japanese text
                    if got is None:
                        if not ja_text(cell):
                            plain.add(cell)
                            start += len(cell) + 1
                            continue
                        if len(cache) >= limit:
                            got = []
                        else:
                            got = cache[cell] = self.names.find(cell, None)
                    if got:
                        out.extend(
                            Hit(h.entity, h.start + start, h.end + start, h.score, h.value, h.source) for h in got
                        )
                start += len(cell) + 1
            pos += len(line) + 1
        return out

    def _ner_stage(self, text: str, found: list[Hit], z: Zones, budget: _Budget) -> list[Hit]:
        """GiNZA on lines where personal data sits without a name: the one place NER changes a decision."""
        assert self.ner is not None
        person_lines = {text.rfind("\n", 0, h.start) + 1 for h in found if h.entity == "PERSON"}
        windows: list[tuple[int, int]] = []
        for h in found:
            if h.entity == "PERSON" or z.silences(h):
                continue
            line_start = text.rfind("\n", 0, h.start) + 1
            if line_start in person_lines:
                continue
            line_end = text.find("\n", h.end)
            line_end = len(text) if line_end < 0 else line_end
            if windows and windows[-1][0] == line_start:
                continue
            windows.append((line_start, line_end))
        extra: list[Hit] = []
        pieces = [p for a, b in windows for p in _pieces(text, a, b)]
        for a, b in pieces:
            if budget.ner_used + (b - a) > budget.ner_chars or not budget.ner_affords(b - a):
                break
            budget.check()
            if self.ner_en is None and text[a:b].isascii():
                continue  # GiNZA reads English as Japanese ("Friday.", "Phone:" as names); English runs on patterns
            budget.ner_used += b - a
            stage = self.ner_en if self.ner_en is not None and text[a:b].isascii() else self.ner
            began = time.monotonic()
            persons = stage.persons(text[a:b])
            budget.ner_spent += time.monotonic() - began
            for s, e, score in persons:
                value = text[a + s : a + e]
                if any(c.isdigit() for c in value) or not value.strip():
                    continue
                extra.append(Hit("PERSON", a + s, a + e, score, value, "ginza" if stage is self.ner else "spacy-en"))
        if not extra:
            return found
        return _resolve(found + [h for h in extra if h.score >= self.config.threshold("PERSON")])

    # -- findings ----------------------------------------------------------------------------------

    def _aggregate(self, places: list[_Place], result: ScanResult) -> None:
        cfg = self.config
        total_records = 0
        biggest: tuple[int, str] = (0, "")
        per_entity_records: dict[str, int] = defaultdict(int)
        for place in places:
            if not place.hits:
                continue
            seg = place.segment
            table = seg.kind == "table" and bool(seg.row_offsets)
            by_entity: dict[str, list[tuple[Hit, bool]]] = defaultdict(list)
            for h, q in place.hits:
                by_entity[h.entity].append((h, q))
            rows_any: set[int] = set()
            seg_records = 0
            for entity, items in by_entity.items():
                values = {_value_key(h) for h, _ in items}
                rows = {_row(seg, h.start) for h, _ in items} if table else set()
                rows_any |= rows
                records = len(rows) if table else len(values)
                seg_records = max(seg_records, records)
                per_entity_records[entity] += records
                samples: list[str] = []
                seen: set[str] = set()  # values masked already (a list repeats them)
                for h, _ in items:
                    if h.value in seen:
                        continue
                    seen.add(h.value)
                    m = mask(entity, h.value)
                    if m not in samples:
                        samples.append(m)
                    if len(samples) >= cfg.samples:
                        break
                first_row = min(rows) if rows else 0
                result.findings.append(
                    PersonalData(
                        entity=entity,
                        count=len(items),
                        distinct=len(values),
                        records=records,
                        score=max(h.score for h, _ in items),
                        part=seg.part,
                        attachment=seg.attachment,
                        path=seg.path,
                        sheet=seg.sheet,
                        row=first_row,
                        samples=tuple(samples),
                        location=seg.where,
                        quoted=all(q for _, q in items),
                        sources=tuple(sorted({h.source for h, _ in items})),
                    )
                )
            seg_total = len(rows_any) if table else seg_records
            total_records += seg_total
            if seg_total > biggest[0]:
                biggest = (seg_total, seg.where)
        result.records = total_records
        if total_records >= cfg.bulk_records:
            kinds = ", ".join(f"{e} {n}" for e, n in sorted(per_entity_records.items(), key=lambda x: -x[1]))
            result.findings.append(
                PersonalData(
                    entity=BULK,
                    count=total_records,
                    distinct=total_records,
                    records=total_records,
                    detail=f"{total_records} records with personal data ({kinds}); most in {biggest[1]}",
                    location=biggest[1],
                )
            )
