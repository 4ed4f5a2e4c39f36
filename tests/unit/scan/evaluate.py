"""Precision / recall per entity and the false-hold rate of a scanner over a labelled corpus.

A label counts as found when a counted hit of the same entity overlaps its value in the text; a
counted hit that overlaps no label of its entity is a false positive.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.content import Segment
from gateway.scan.engine import Scanner
from gateway.scan.model import Hit, ScanContext
from tests.unit.scan.corpus import CONTEXT_RECIPIENTS, CONTEXT_SENDER, OWN_NUMBERS, Sample


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


@dataclass
class Report:
    per_entity: dict[str, Score] = field(default_factory=lambda: defaultdict(Score))
    benign_total: int = 0
    benign_flagged: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)
    false_positives: list[str] = field(default_factory=list)

    @property
    def false_hold_rate(self) -> float:
        return len(self.benign_flagged) / self.benign_total if self.benign_total else 0.0


def context() -> ScanContext:
    return ScanContext(sender=CONTEXT_SENDER, recipients=CONTEXT_RECIPIENTS, own_phone_numbers=OWN_NUMBERS)


def evaluate(scanner: Scanner, samples: list[Sample]) -> Report:
    return evaluate_with(lambda seg: [h for _, h, _ in scanner.find([seg], context())], samples)


def evaluate_with(find: Callable[[Segment], list[Hit]], samples: list[Sample]) -> Report:
    """`find` returns the counted hits of one segment (offsets in its NFKC text)."""
    report = Report()
    for s in samples:
        seg = s.segment()
        norm = unicodedata.normalize("NFKC", seg.text)
        hits = find(seg)
        if s.benign:
            report.benign_total += 1
            if hits:
                report.benign_flagged.append(f"{s.name}: {sorted({h.entity for h in hits})}")
        spans = []
        for entity, value in s.labels:
            start = norm.find(unicodedata.normalize("NFKC", value))
            assert start >= 0, (s.name, value)
            spans.append((entity, start, start + len(unicodedata.normalize("NFKC", value))))
        for entity, a, b in spans:
            if any(h.entity == entity and h.start < b and h.end > a for h in hits):
                report.per_entity[entity].tp += 1
            else:
                report.per_entity[entity].fn += 1
                report.misses.append(f"{s.name}: {entity}")
        for h in hits:
            if not any(e == h.entity and h.start < b and h.end > a for e, a, b in spans):
                report.per_entity[h.entity].fp += 1
                report.false_positives.append(f"{s.name}: {h.entity} ({h.source})")
    return report


# Entities that name the same thing in the two pipelines (presidio says PHONE_NUMBER for Japanese numbers).
SAME = {"JP_PHONE_NUMBER": {"JP_PHONE_NUMBER", "PHONE_NUMBER"}, "PHONE_NUMBER": {"JP_PHONE_NUMBER", "PHONE_NUMBER"}}


@dataclass
class SetScore:
    """One form set: labels found (recall), hits that match no label (false positives), and for
    benign sets the samples that would be held."""

    labels: int = 0
    found: int = 0
    false_positives: int = 0
    samples: int = 0
    flagged: int = 0
    misses: list[str] = field(default_factory=list)
    extras: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.found / self.labels if self.labels else 1.0


def score_set(find: Callable[[Segment], list[Hit]], samples: list[Sample]) -> SetScore:
    out = SetScore()
    for s in samples:
        seg = s.segment()
        norm = unicodedata.normalize("NFKC", seg.text)
        hits = find(seg)
        out.samples += 1
        out.flagged += bool(hits)
        spans: list[tuple[str, int, int]] = []
        pos: dict[str, int] = {}
        for entity, value in s.labels:
            v = unicodedata.normalize("NFKC", value)
            start = norm.find(v, pos.get(v, 0))
            assert start >= 0, (s.name, value)
            pos[v] = start + len(v)
            spans.append((entity, start, start + len(v)))
        for entity, a, b in spans:
            out.labels += 1
            if any(h.entity in SAME.get(entity, {entity}) and h.start < b and h.end > a for h in hits):
                out.found += 1
            else:
                out.misses.append(f"{s.name}: {entity} {norm[a:b]!r}")
        for h in hits:
            if not any(h.entity in SAME.get(e, {e}) and h.start < b and h.end > a for e, a, b in spans):
                out.false_positives += 1
                out.extras.append(f"{s.name}: {h.entity} {h.value!r} ({h.source})")
    return out
