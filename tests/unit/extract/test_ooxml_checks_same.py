"""The byte-level checks of Office parts (`refuse_doctype`, `textless`, `_xml_comments`) give what
their plain forms below gave, on the parts of real packages and on those parts changed at random
(comments, processing instructions, DOCTYPEs in any case, CDATA, text, NULs, BOMs, UTF-16, question
marks and exclamation marks by the hundred, truncation), and the memory of parts seen before changes
nothing a message gives."""

from __future__ import annotations

import random
import re
from xml.parsers import expat

import pytest

from gateway.extract import extract_message, ooxml
from gateway.extract.context import Unscannable
from gateway.extract.ooxml import _xml_comments, refuse_doctype, textless
from gateway.unscannable import Reason
from tests.unit.extract import coverage_fixtures as cf
from tests.unit.extract.extract_fixtures import with_attachment, xlsx

# -- the plain forms (as they were before the byte-level shortcuts) --------------------------------

_WS = b" \t\r\n"
_ENC = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)""")
_ENCODINGS = {"utf-8", "utf8", "utf-16", "utf16", "utf-16le", "utf-16be", "us-ascii", "ascii", "iso-8859-1"}
_ATTRS = ((b"descr", re.compile(rb"descr[ \t\r\n]*=")), (b"title", re.compile(rb"title[ \t\r\n]*=")))
_ELEMENTS = tuple((w, re.compile(rb"<(?:[^\s<>/:]+:)?" + w + rb"[\s/>]")) for w in (b"docVar", b"property", b"tbl"))


def plain_refuse(blob: bytes, name: str) -> None:
    wide = blob[:4].startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in blob[:64]
    text = blob.replace(b"\x00", b"") if wide else blob
    text = text.removeprefix(b"\xef\xbb\xbf").removeprefix(b"\xff\xfe").removeprefix(b"\xfe\xff")
    lowered = text.lower()
    if b"<!doctype" in lowered or b"<!entity" in lowered:
        raise Unscannable(Reason.XML_DOCTYPE, f"{name!r} declares a DOCTYPE")
    m = _ENC.match(text)
    if m and m.group(1).decode("ascii").lower() not in _ENCODINGS:
        raise Unscannable(Reason.PARSE_ERROR, f"{name!r} is XML in {m.group(1).decode('ascii')!r}")


def plain_textless(blob: bytes, name: str) -> bool:
    plain_refuse(blob, name)
    if b"\x00" in blob[:64]:
        return False
    if blob.lstrip(b"\xef\xbb\xbf" + _WS)[:1] != b"<" or b"<![CDATA[" in blob:
        return False
    squeezed = blob.translate(None, _WS)
    if re.search(rb">[^<]", squeezed) or not squeezed.endswith(b">"):
        return False
    for word, pattern in (*_ATTRS, *_ELEMENTS):
        if word in blob and pattern.search(blob):
            return False
    parser = expat.ParserCreate()
    try:
        parser.Parse(blob, True)
    except expat.ExpatError:
        return False
    return True


def plain_comments(blob: bytes) -> list[str]:
    if b"<!--" in blob or b"<?" in blob[5:]:
        text = blob.decode("utf-8", "replace")
    elif b"<\x00!\x00-\x00-" in blob or b"\x00<\x00!\x00-\x00-" in blob or b"<\x00?\x00" in blob[10:]:
        text = blob.decode("utf-16", "replace")
    else:
        return []
    found: list[str] = []
    for opener, closer in (("<!--", "-->"), ("<?", "?>")):
        at = text.find(opener)
        while at != -1:
            end = text.find(closer, at + len(opener))
            body = text[at + len(opener) : end if end != -1 else len(text)]
            if opener == "<?":
                target, *rest = body.split(None, 1) or [""]
                body = "" if target.lower() == "xml" else "".join(rest)
            if body.strip():
                found.append(body.strip())
            at = text.find(opener, end + len(closer)) if end != -1 else -1
    return found


def outcome(fn, blob: bytes) -> object:  # type: ignore[no-untyped-def]
    try:
        return ("ok", fn(blob, "p.xml"))
    except Unscannable as e:
        return ("unscannable", e.reason, e.detail.split(" is XML")[0])


def same(blob: bytes) -> None:
    assert outcome(textless, blob) == outcome(plain_textless, blob), blob[:200]
    assert outcome(refuse_doctype, blob) == outcome(plain_refuse, blob), blob[:200]
    assert _xml_comments(blob) == plain_comments(blob), blob[:200]


# -- the parts ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def parts() -> list[bytes]:
    out = [
        b
        for n, b in cf.zip_members(cf.docx_with(header="h", footer="f", comment="c")).items()
        if n.endswith(("xml", "rels"))
    ]
    out += [b for n, b in cf.zip_members(xlsx(5)).items() if n.endswith(("xml", "rels"))]
    return out


SNIPPETS = [
    b"<!-- a comment -->",
    b"<!--",
    b"-->",
    b"<?pi target?>",
    b"<?xml again?>",
    b"<?",
    b"?>",
    b"?",
    b"!",
    b"<!DOCTYPE x>",
    b"<!doctype x>",
    b"<!DocType",
    b"<!ENTITY a 'b'>",
    b"<!eNtItY",
    b"<![CDATA[x]]>",
    b"<![CDATA[",
    b"text",
    b"\xe3\x80\x80",
    b"\x00",
    b"\xef\xbb\xbf",
    b" ",
    b"\r\n",
    b"\t",
    b"<",
    b">",
    b"</a>",
    b"<w:tbl>",
    b"<tbl/>",
    b"<w:tbl ",
    b"tblPr",
    b'descr="x"',
    b"title =",
    b"Subtitle",
    b"<w:docVar w:name='a'/>",
    b"<property>",
    b"<w:xtbl/>",
    b'<a x="tbl/"/>',
    b"docVar>",
    b"a:property ",
    b"&amp;",
    b"&#x41;",
    b"?" * 40,
    b"<?" * 3,
    b"!" * 30,
    b'encoding="shift_jis"',
    b"<\x00!\x00-\x00-\x00",
    b"<\x00?\x00",
    b"\x00<\x00!\x00-\x00-\x00",
]


def mutations(blob: bytes, rng: random.Random) -> list[bytes]:
    out = []
    for _ in range(6):
        b = bytearray(blob)
        for _ in range(rng.randint(1, 3)):
            at = rng.randint(0, len(b))
            r = rng.random()
            if r < 0.6:
                b[at:at] = rng.choice(SNIPPETS)
            elif r < 0.8 and len(b) > 10:
                del b[at : at + rng.randint(1, 8)]
            else:
                b = b[:at]
        out.append(bytes(b))
    return out


def encodings(blob: bytes) -> list[bytes]:
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError:
        return []
    return [
        b"\xef\xbb\xbf" + blob,
        b"\r\n \t" + blob,
        text.encode("utf-16"),
        text.encode("utf-16-le"),
        text.encode("utf-16-be"),
        text.replace("UTF-8", "UTF-16").encode("utf-16"),
    ]


def test_the_parts_of_real_packages(parts: list[bytes]) -> None:
    for blob in parts:
        same(blob)
        for variant in encodings(blob):
            same(variant)


def test_parts_changed_at_random(parts: list[bytes]) -> None:
    rng = random.Random(16)
    for blob in parts:
        for variant in mutations(blob, rng):
            same(variant)
            for other in encodings(variant)[:3]:
                same(other)


def test_crafted_parts() -> None:
    rng = random.Random(7)
    heads = [b"", b'<?xml version="1.0" encoding="UTF-8"?>', b"<?xml version='1.0'?>\r\n", b"<?XML x?>"]
    for _ in range(3000):
        body = b"".join(
            rng.choice([*SNIPPETS, b"<a>", b"</a>", b"<b/>", b'<c x="1"/>']) for _ in range(rng.randint(0, 12))
        )
        blob = rng.choice(heads) + body
        same(blob)
        same(blob + b"\n")


# -- the memory of quiet parts --------------------------------------------------------------------


def test_a_part_seen_before_gives_the_same_segments(monkeypatch: pytest.MonkeyPatch) -> None:
    """A package read twice (the second time with its large side parts remembered) gives the same
    segments and findings as with nothing remembered; a changed part is read again."""
    monkeypatch.setattr(ooxml, "_QUIET", type(ooxml._QUIET)())
    monkeypatch.setattr(ooxml, "_QUIET_MIN", 1024)
    data = cf.docx_with(header="見出し", comment="コメント")
    raw = with_attachment(data, "計画.docx")

    def view(x):  # type: ignore[no-untyped-def]
        return [(s.text, s.source, s.sheet) for s in x.segments], [(f.reason, f.detail) for f in x.findings]

    first = view(extract_message(raw))
    assert ooxml._QUIET  # the side parts were remembered
    assert view(extract_message(raw)) == first
    members = cf.zip_members(data)
    members["word/styles.xml"] = members["word/styles.xml"].replace(
        b"</w:styles>", b"<!-- 090-1234-5678 --></w:styles>"
    )
    changed = view(extract_message(with_attachment(cf.rezip(members), "計画.docx")))
    assert any("090-1234-5678" in text for text, _, _ in changed[0])


def test_a_remembered_part_as_a_pivot_cache_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only parts read as `textless` are remembered, and a pivot cache is never skipped by it."""
    monkeypatch.setattr(ooxml, "_QUIET", type(ooxml._QUIET)())
    monkeypatch.setattr(ooxml, "_QUIET_MIN", 16)
    blob = b'<?xml version="1.0"?><pivotCacheRecords><r><s v="090-1234-5678"/></r></pivotCacheRecords>'
    assert textless(blob, "x.xml")
    ooxml._quiet_remember(blob)
    seen: list[str] = []

    class Ctx:
        def text(self, text: str, *args: object, **kw: object) -> None:
            seen.append(text)

        def table(self, *args: object, **kw: object) -> None:
            pass

    ct = "application/vnd.openxmlformats-officedocument.spreadsheetml.pivotcacherecords+xml"
    ooxml._read_xml_part(Ctx(), blob, "xl/pivotCache/pivotCacheRecords1.xml", ct, "xlsx", None, "pivot")  # type: ignore[arg-type]
    assert any("090-1234-5678" in t for t in seen)


def test_quiet_memory_is_by_the_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    """A part is remembered by its bytes: one of the same length and the same last bytes but another
    byte elsewhere is not taken for it; the memory holds at most _QUIET_BYTES and _QUIET_ENTRIES,
    dropping the least recently seen."""
    monkeypatch.setattr(ooxml, "_QUIET", type(ooxml._QUIET)())
    monkeypatch.setattr(ooxml, "_QUIET_BYTES", 3000)
    monkeypatch.setattr(ooxml, "_QUIET_ENTRIES", 4)
    a = b"<a>" + b" " * 990 + b"</a>"
    twin = b"<b>" + b" " * 990 + b"</a>"  # same length, same tail
    assert not ooxml._quiet_seen(a)
    ooxml._quiet_remember(a)
    assert ooxml._quiet_seen(a) and ooxml._quiet_seen(bytes(a))
    assert not ooxml._quiet_seen(twin)
    others = [b"<c>" + b" " * (900 + k) + b"</c>" for k in range(3)]
    for blob in others:
        ooxml._quiet_remember(blob)
    assert sum(k[0] for k in ooxml._QUIET) <= 3000
    assert not ooxml._quiet_seen(a)  # the oldest went first
    assert ooxml._quiet_seen(others[-1])
    small = [b"<d%d/>" % k for k in range(6)]
    for blob in small:
        ooxml._quiet_remember(blob)
    assert len(ooxml._QUIET) == 4
    assert all(ooxml._quiet_seen(blob) for blob in small[-4:])
