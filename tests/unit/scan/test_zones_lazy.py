"""The quiet zones of a body are worked out only when the body has a hit (gateway/scan/engine.py
`_zones`): the scan with the zones of every body, as before, finds, counts, masks and previews the
same, on the unit corpus, the per-form sets (signatures, quoted replies, greetings, tables, benign
mail) and bodies with nothing to find."""

from __future__ import annotations

import pytest

from gateway.content import Segment
from gateway.scan import engine
from gateway.scan.engine import Scanner
from gateway.scan.model import Hit, ScanContext
from gateway.scan.quiet import Zones, zones
from tests.unit.scan.corpus import Gen, corpus
from tests.unit.scan.forms import form_sets


def _every_body(text: str, kind: str, found: list[Hit]) -> Zones:
    """The form before: the zones of every body and calendar, hit or not."""
    return zones(text) if kind in ("body", "calendar") else Zones([], [], [])


def _segments() -> list[list[Segment]]:
    samples = corpus(seed=7) + [s for fs in form_sets(seed=3, n=10) for s in fs.samples]
    messages = [[s.segment()] for s in samples]
    plain = "いつもお世話になっております。\n納品は来週です。\n\n--\n株式会社サンプル 営業部\nTEL 03-1234-5678\n"
    messages.append([Segment(text=plain, kind="body", part="1"), Segment(text="見積の件", kind="subject")])
    messages.append([Segment(text=plain, kind="calendar", part="1")])
    g = Gen(5)
    messages.append([Segment(text="\n".join(g.name() + "様" for _ in range(30)), kind="body", part="1")])
    return messages


@pytest.mark.parametrize("ner", [False, True])
def test_lazy_zones_change_nothing(
    scanner: Scanner, ner_scanner: Scanner, monkeypatch: pytest.MonkeyPatch, ner: bool
) -> None:
    scan = ner_scanner if ner else scanner
    messages = _segments()
    context = ScanContext(sender="taro@example.co.jp", recipients=("hanako@partner.example",))

    def run() -> list[object]:
        out: list[object] = []
        for segments in messages:
            result = scan.scan(segments, context)
            out.append((result.findings, result.records, result.heads, scan.find(segments, context)))
        return out

    lazy = run()
    monkeypatch.setattr(engine, "_zones", _every_body)
    assert run() == lazy
    assert sum(1 for r in lazy if r[0]) > 50  # most messages have findings: zones are exercised
