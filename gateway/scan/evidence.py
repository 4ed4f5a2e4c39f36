"""Evidence in numbers: a list or a column of check-digit-valid numbers is personal data without a
context word, where one such number alone is not.

A random 12-digit number passes the My Number check digit with probability 1/10 (the check digit
is one of ten values, 0 taking the two residues 0 and 1 of eleven); a random number in a card
brand's IIN range passes Luhn with probability 1/10. One valid number without context is therefore
weak (score below the threshold). But k valid numbers in one group (one table column, or one
paragraph of running text) where at least BATCH_SHARE of the numbers of that shape are valid have a
chance of (1/10)^k · C(n, k) of being random: for 3 of 3, 1/1,000; for 8 of 10, 45 · 10^-8.
A list of order or tracking numbers is mostly invalid and stays quiet (docs/scan.md).
"""

from __future__ import annotations

import bisect
import dataclasses
import re
from collections import defaultdict
from collections.abc import Callable, Hashable

from gateway.scan.model import Hit

BATCH_ENTITIES = ("JP_MY_NUMBER", "CREDIT_CARD", "JP_PHONE_NUMBER")
BATCH_MIN = 3  # distinct valid values in one group
BATCH_SHARE = 0.8  # of the numbers of that shape in the group
BATCH_SCORE = 0.6

_PARAGRAPH = re.compile(r"\n[ \t\u3000>]*\n")


def paragraphs(text: str) -> Callable[[int], Hashable]:
    """Group of an offset in running text: its paragraph (blank lines separate lists). The breaks
    are found on first use: most texts hold no batch to look at."""
    breaks: list[int] = []
    found = False

    def group(offset: int) -> Hashable:
        nonlocal found
        if not found:
            breaks.extend(m.start() for m in _PARAGRAPH.finditer(text))
            found = True
        return bisect.bisect_right(breaks, offset)

    return group


def batches(
    text: str,
    hits: list[Hit],
    shapes: dict[str, Callable[[str], list[int]]],
    group_of: Callable[[int], Hashable],
    threshold: Callable[[str], float],
) -> list[Hit]:
    """`hits` with the scores of batched values raised to BATCH_SCORE (source 'batch').

    `shapes[entity](text)` gives the start offsets of every number of the entity's shape, valid or
    not; `group_of(offset)` the group (column or paragraph) of an offset.
    """
    weak: dict[str, list[int]] = defaultdict(list)
    for i, h in enumerate(hits):
        if h.entity in shapes and h.score < threshold(h.entity):
            weak[h.entity].append(i)
    raised: dict[int, Hit] = {}
    for entity in weak:
        valid: dict[Hashable, list[int]] = defaultdict(list)
        for i, h in enumerate(hits):
            if h.entity == entity:
                valid[group_of(hits[i].start)].append(i)
        if max(len(v) for v in valid.values()) < BATCH_MIN:
            continue
        shaped: dict[Hashable, int] = defaultdict(int)
        for start in shapes[entity](text):
            shaped[group_of(start)] += 1
        for group, members in valid.items():
            values = {re.sub(r"\D", "", hits[i].value) for i in members}
            if len(values) >= BATCH_MIN and len(members) >= BATCH_SHARE * max(shaped[group], len(members)):
                for i in members:
                    if hits[i].score < BATCH_SCORE:
                        raised[i] = dataclasses.replace(hits[i], score=BATCH_SCORE, source="batch")
    if not raised:
        return hits
    return [raised.get(i, h) for i, h in enumerate(hits)]
