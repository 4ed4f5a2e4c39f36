"""Large deflated ZIP members inflated before are taken from memory by their compressed bytes
(archive._INFLATED): the extraction is the same as reading them again, budgets and limits included,
and a member is taken from memory only where its compressed bytes, method, size and CRC all agree."""

from __future__ import annotations

import io
import random
import zipfile

import pytest

from gateway.config.extract import ExtractLimits
from gateway.extract import archive, extract_message
from gateway.extract.context import Context, LimitExceeded, Unscannable, Where
from tests.unit.extract import coverage_fixtures as cf
from tests.unit.extract.extract_fixtures import with_attachment


def _styles(seed: int, size: int = 60_000) -> bytes:
    g = random.Random(seed)
    body = b"".join(
        b'<w:style w:styleId="s%d"><w:name w:val="n%d"/></w:style>' % (g.randrange(10**6), k) for k in range(size // 50)
    )
    return (
        b'<?xml version="1.0"?><w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        + body
        + b"</w:styles>"
    )


def _docx(styles: bytes, body: str = "") -> bytes:
    members = cf.zip_members(cf.docx_with(body_extra=body))
    members["word/styles.xml"] = styles
    return cf.rezip(members)


def _view(raw: bytes, limits: ExtractLimits | None = None):  # type: ignore[no-untyped-def]
    x = extract_message(raw, limits) if limits is not None else extract_message(raw)
    return [(s.text, s.source, s.sheet, s.path) for s in x.segments], [(f.reason, f.detail) for f in x.findings]


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive, "_INFLATED", type(archive._INFLATED)())


def _without_memory(monkeypatch: pytest.MonkeyPatch, raw: bytes, limits: ExtractLimits | None = None):  # type: ignore[no-untyped-def]
    with monkeypatch.context() as m:
        m.setattr(archive, "_inflated", lambda info, compressed: None)
        m.setattr(archive, "_remember_inflated", lambda info, compressed, out: None)
        return _view(raw, limits)


def test_a_member_inflated_before_gives_the_same_extraction(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = with_attachment(_docx(_styles(1), "本文 090-1234-5678"), "計画.docx")
    plain = _without_memory(monkeypatch, raw)
    assert _view(raw) == plain
    assert archive._INFLATED  # the styles were remembered
    reads: list[str] = []
    opened = zipfile.ZipExtFile.read

    def spy(self, n=-1):  # type: ignore[no-untyped-def]
        reads.append(self.name)
        return opened(self, n)

    monkeypatch.setattr(zipfile.ZipExtFile, "read", spy)
    assert _view(raw) == plain
    assert "word/styles.xml" not in reads  # taken from memory
    assert "word/document.xml" in reads


def test_budgets_and_limits_as_when_read(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = with_attachment(_docx(_styles(2, 200_000)), "計画.docx")
    _view(raw)  # remembered
    assert archive._INFLATED
    for limits in (
        ExtractLimits(max_decompressed_bytes=150_000),
        ExtractLimits(max_decompressed_bytes=250_000),
        ExtractLimits(max_attachment_bytes=130_000),
        ExtractLimits(max_attachment_bytes=196_000),
    ):
        assert _view(raw, limits) == _without_memory(monkeypatch, raw, limits)


def test_read_member_counts_chunks_as_a_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _docx(_styles(3, 300_000))
    zf = zipfile.ZipFile(io.BytesIO(data))
    info = zf.getinfo("word/styles.xml")
    where = Where("2", "a.docx")

    def run(limits: ExtractLimits) -> tuple[object, int]:
        ctx = Context(limits, lambda *a: None)
        try:
            got: object = archive.read_member(zf, info, ctx, where, data)
        except (LimitExceeded, Unscannable) as e:
            got = (type(e).__name__, e.reason, e.detail)
        return got, ctx.decompressed

    for limits in (
        ExtractLimits(),
        ExtractLimits(max_decompressed_bytes=100_000),
        ExtractLimits(max_attachment_bytes=70_000),
    ):
        first = run(limits)  # read (and, where it succeeds, remembered)
        archive.read_member(zf, info, Context(ExtractLimits(), lambda *a: None), where, data)
        assert archive._INFLATED
        assert run(limits) == first


def test_only_the_same_compressed_bytes_are_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    """Members of the same compressed length, size and CRC but other bytes are not taken for each
    other: the memory is keyed by those and compares the compressed bytes whole."""
    data = _docx(_styles(4))
    zf = zipfile.ZipFile(io.BytesIO(data))
    info = zf.getinfo("word/styles.xml")
    real = archive._compressed(data, info)
    assert real is not None
    forged = bytes([real[0] ^ 1]) + real[1:]
    archive._remember_inflated(info, forged, b"<other/>")
    ctx = Context(ExtractLimits(), lambda *a: None)
    assert archive.read_member(zf, info, ctx, Where("2", "a.docx"), data) == zf.read(info)


def test_a_local_header_that_differs_is_refused_as_when_read(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _docx(_styles(5))
    zf = zipfile.ZipFile(io.BytesIO(data))
    info = zf.getinfo("word/styles.xml")
    archive.read_member(zf, info, Context(ExtractLimits(), lambda *a: None), Where(), data)
    assert archive._INFLATED
    start = info.header_offset
    broken = bytearray(data)
    broken[start + 30 : start + 34] = b"xord"  # the name in the local header no longer the directory's
    broken = bytes(broken)
    raw = with_attachment(broken, "計画.docx")
    assert _view(raw) == _without_memory(monkeypatch, raw)
    assert any("differ" in detail for _, detail in _view(raw)[1])


def test_the_memory_keeps_its_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive, "_INFLATED_ENTRIES", 3)
    monkeypatch.setattr(archive, "_INFLATED_BYTES", 200_000)
    for seed in range(6):
        data = _docx(_styles(10 + seed))
        zf = zipfile.ZipFile(io.BytesIO(data))
        archive.read_member(zf, zf.getinfo("word/styles.xml"), Context(ExtractLimits(), lambda *a: None), Where(), data)
        assert len(archive._INFLATED) <= 3
        assert sum(len(v[1]) for v in archive._INFLATED.values()) <= 200_000
