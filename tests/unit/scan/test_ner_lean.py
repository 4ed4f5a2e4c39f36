"""The lean load of the Japanese model (gateway.scan.ner, issue 16) finds exactly what the plain load
finds: no string table, no components after `ner`, the fast stage's Sudachi tokenizer, the vectors'
key → row table as sorted arrays. Compared with `spacy.load(model)` as it was, on generated text."""

from __future__ import annotations

import random

import pytest

from gateway.scan.engine import Scanner, _pieces
from gateway.scan.ner import AFTER_NER_UNUSED, CompactRows, NerStage
from tests.unit.scan.corpus import corpus
from tests.unit.scan.forms import form_sets

SURNAMES = ("山田", "佐藤", "鈴木", "高橋", "田中", "渡辺", "伊藤", "中村", "小林", "加藤", "東", "林", "上高野")
GIVEN = ("太郎", "花子", "一郎", "美咲", "健", "陽菜", "翔太", "さくら", "ゆうき", "誠")
PIECES = (
    "様", "さん", "氏", "部長", "から", "に", "へ", "の件で", "、", "。", "\n", " ", "　", "明日の会議は",
    "東京都港区芝公園1-2-3", "090-1234-5678", "taro@example.co.jp", "株式会社サクラ商事", "営業部",
    "John Smith", "Tanaka Taro", "ヤマダ タロウ", "氏名：", "担当：", "お世話になっております。",
    "よろしくお願いいたします。", "令和5年4月1日", "〒105-0011", "12", "ｶﾀｶﾅ", "①", "！", "?",
)  # fmt: skip


def texts() -> list[str]:
    g = random.Random(16)
    out: list[str] = []
    for _ in range(160):
        parts = []
        for _ in range(g.randint(2, 30)):
            r = g.random()
            if r < 0.3:
                parts.append(g.choice(SURNAMES) + g.choice(("", "", " ", "\u3000")) + g.choice(GIVEN))
            elif r < 0.4:
                parts.append(g.choice(SURNAMES))
            else:
                parts.append(g.choice(PIECES))
        out.append("".join(parts))
    bodies = [s.segment().text for s in corpus(7, 4)]
    bodies += [s.segment().text for fs in form_sets(7, 3) for s in fs.samples]
    for body in bodies:
        out.extend(body[a:b] for a, b in _pieces(body, 0, len(body)))
    return out[:400]


@pytest.fixture(scope="module")
def plain() -> NerStage:
    return NerStage("ja_ginza", "ja", ("Person",))  # spacy.load("ja_ginza") as before: ~500 MB


def test_lean_ner_finds_what_the_plain_load_finds(ner_scanner: Scanner, scanner: Scanner, plain: NerStage) -> None:
    lean = ner_scanner.ner
    assert lean is not None
    nlp = lean.analyzer.nlp_engine.nlp["ja"]  # type: ignore[attr-defined]
    assert "ner" in nlp.pipe_names and not set(AFTER_NER_UNUSED) & set(nlp.pipe_names)
    assert nlp.tokenizer.tokenizer is ner_scanner.names.tokenizer  # one Sudachi dictionary
    assert isinstance(nlp.vocab.vectors.key2row, CompactRows)
    found = 0
    for text in texts():
        want = plain.persons(text)
        assert lean.persons(text) == want, text
        found += bool(want)
        # the fast stage's tokenizer, shared with GiNZA, still reads as an unshared one does
        assert ner_scanner.names.find(text) == scanner.names.find(text), text
    assert found > 50  # the comparison saw names


def test_lean_scan_equals_plain_scan(ner_scanner: Scanner, plain: NerStage) -> None:
    """The whole scan with the NER window, with the lean stage and with the plain one."""
    from gateway.content import Segment

    body = "\n".join(texts()[:60])
    segments = [Segment(text=body, kind="body")]
    lean_stage = ner_scanner.ner
    lean = ner_scanner.scan(segments)
    try:
        ner_scanner.ner = plain
        before = ner_scanner.scan(segments)
    finally:
        ner_scanner.ner = lean_stage
    assert before.stats["ner_chars"] > 0
    key = [(f.entity, f.count, f.distinct, f.records, f.samples, f.sources) for f in lean.findings]
    assert key == [(f.entity, f.count, f.distinct, f.records, f.samples, f.sources) for f in before.findings]


def test_compact_rows_answer_as_the_dict() -> None:
    g = random.Random(7)
    keys = {g.getrandbits(64) for _ in range(5000)} | {0, 1, 2**64 - 1, 2**63}
    plain = {k: g.randrange(-1, 20000) for k in keys}
    compact = CompactRows(plain)
    assert len(compact) == len(plain) and compact == plain and set(compact) == set(plain)
    absent = [g.getrandbits(64) for _ in range(2000)] + [3, 2**64 - 2, -1, 2**64, 2**70, "x", 1.5, None]
    for k in [*keys, *absent]:
        present = k in plain  # type: ignore[operator]
        assert (k in compact) is present
        assert compact.get(k, -1) == plain.get(k, -1)  # type: ignore[arg-type]
        assert compact.get(k) == plain.get(k)  # type: ignore[arg-type]
        if present:
            assert compact[k] == plain[k]  # type: ignore[index]
        else:
            with pytest.raises(KeyError):
                compact[k]  # type: ignore[index]
    assert CompactRows({}).get(5, -1) == -1 and len(CompactRows({})) == 0
