"""Office parts that carry no text (styles, theme, font table, numbering, settings...) are seen to be
textless by a byte-level check instead of being parsed, and every part is still read (issue 14):
personal data planted in any of them is found, a broken one is reported as before, and a DOCTYPE is
refused in any of them in any encoding."""

from __future__ import annotations

import re

import pytest

from gateway.extract import extract_message
from gateway.extract.context import Unscannable
from gateway.extract.ooxml import textless
from gateway.scan import ScanConfig, ScanContext
from gateway.scan.engine import Scanner
from tests.unit.extract import coverage_fixtures as cf
from tests.unit.extract.extract_fixtures import with_attachment, xlsx

PHONE = "090-1234-5678"
CONTEXT = ScanContext(sender="taro@example.co.jp", recipients=("hanako@partner.example",))
# The side parts of a python-docx document, each by its name in the package.
DOCX_SIDE_PARTS = [
    "word/styles.xml",
    "word/stylesWithEffects.xml",
    "word/theme/theme1.xml",
    "word/fontTable.xml",
    "word/numbering.xml",
    "word/settings.xml",
    "word/webSettings.xml",
    "customXml/itemProps1.xml",
    "customXml/item1.xml",
]


@pytest.fixture(scope="module")
def scanner() -> Scanner:
    return Scanner(ScanConfig(ner_window_chars=0))


@pytest.fixture(scope="module")
def docx_members() -> dict[str, bytes]:
    return cf.zip_members(cf.docx_with())


def planted(members: dict[str, bytes], part: str, xml: str) -> bytes:
    """The package with `xml` put just before the closing tag of `part`'s root element."""
    members = dict(members)
    text = members[part].decode("utf-8").rstrip()
    if "</" in text:
        end = text.rindex("</")
        text = text[:end] + xml + text[end:]
    else:  # a root element that closes itself
        root = re.findall(r"<([\w:]+)", text)[-1]
        text = text.removesuffix("/>") + f">{xml}</{root}>"
    members[part] = text.encode("utf-8")
    return cf.rezip(members)


def phones(scanner: Scanner, data: bytes, name: str = "計画.docx") -> list[str]:
    x = extract_message(with_attachment(data, name))
    assert not x.unscannable, x.unscannable
    result = scanner.scan(x.segments, CONTEXT)
    return sorted({f.where for f in result.findings if f.entity == "JP_PHONE_NUMBER"})


def test_the_side_parts_of_a_python_docx_file_are_textless(docx_members: dict[str, bytes]) -> None:
    for part in DOCX_SIDE_PARTS:
        assert textless(docx_members[part], part), part
    assert not textless(docx_members["word/document.xml"], "word/document.xml")


@pytest.mark.parametrize("part", DOCX_SIDE_PARTS)
def test_text_planted_in_a_side_part_is_found(scanner: Scanner, docx_members: dict[str, bytes], part: str) -> None:
    data = planted(docx_members, part, f'<x:note xmlns:x="urn:test">携帯 {PHONE}</x:note>')
    found = phones(scanner, data)
    assert len(found) == 1 and found[0].startswith("attachment 計画.docx › sheet "), found


@pytest.mark.parametrize(
    "xml",
    [
        f'<x:pic xmlns:x="urn:test" descr="携帯 {PHONE}"/>',  # alt text in an attribute
        f'<x:pic xmlns:x="urn:test" title = "携帯 {PHONE}"/>',
        f'<x:note xmlns:x="urn:test"><![CDATA[携帯 {PHONE}]]></x:note>',
        '<x:note xmlns:x="urn:test">携帯 &#x30;90-1234-5678</x:note>',  # a character reference
        f'<x:property xmlns:x="urn:test" name="携帯" val="{PHONE}"/>',
    ],
    ids=["descr", "title", "cdata", "char-ref", "property"],
)
def test_text_in_markup_of_a_styles_part_is_found(scanner: Scanner, docx_members: dict[str, bytes], xml: str) -> None:
    found = phones(scanner, planted(docx_members, "word/styles.xml", xml))
    assert found == ["attachment 計画.docx › sheet styles › part 2"]


def test_a_document_variable_in_settings_is_found(scanner: Scanner, docx_members: dict[str, bytes]) -> None:
    var = f'<w:docVars><w:docVar w:name="携帯" w:val="{PHONE}"/></w:docVars>'
    found = phones(scanner, planted(docx_members, "word/settings.xml", var))
    assert found == ["attachment 計画.docx › sheet settings › part 2"]


def test_text_planted_in_xlsx_styles_and_theme_is_found(scanner: Scanner) -> None:
    members = cf.zip_members(xlsx(3))
    for part in ("xl/styles.xml", "xl/theme/theme1.xml"):
        if part not in members:
            continue
        assert textless(members[part], part), part
        data = planted(members, part, f'<x:note xmlns:x="urn:test">携帯 {PHONE}</x:note>')
        x = extract_message(with_attachment(data, "名簿.xlsx"))
        assert any(PHONE in s.text and s.sheet == part.rsplit("/", 1)[1][:-4] for s in x.segments), part


@pytest.mark.parametrize(
    "blob",
    [
        b'<?xml version="1.0"?><a><b/>text after a tag</a>',
        b'<?xml version="1.0"?><a><b/></a>trailing',
        b'leading<?xml version="1.0"?><a/>',
        '<?xml version="1.0" encoding="UTF-16"?><a><b/></a>'.encode("utf-16"),
        b'<?xml version="1.0"?><a>\xe3\x80\x80</a>',  # U+3000 is not XML whitespace: text
        b'<?xml version="1.0"?><a><b></a>',  # not well-formed: parsed, so reported as today
        b'<?xml version="1.0"?><a x="1 > 0"/>',  # '>' in an attribute: in doubt, parsed
    ],
    ids=["text", "trailing", "leading", "utf-16", "ideographic-space", "broken", "gt-in-attribute"],
)
def test_in_doubt_a_part_is_parsed(blob: bytes) -> None:
    assert not textless(blob, "x.xml")


def test_whitespace_only_part_is_textless() -> None:
    assert textless(b'<?xml version="1.0"?>\r\n<a>\n\t<b x="y"/> <c/>\r\n</a>\n', "x.xml")


@pytest.mark.parametrize("utf16", [False, True], ids=["utf-8", "utf-16"])
@pytest.mark.parametrize("part", ["word/styles.xml", "word/theme/theme1.xml", "word/stylesWithEffects.xml"])
def test_doctype_in_a_textless_part_is_refused(part: str, utf16: bool) -> None:
    x = extract_message(with_attachment(cf.with_doctype(cf.docx_with(), part, utf16), "a.docx"))
    assert [f.reason for f in x.unscannable] == ["xml-doctype"]
    with pytest.raises(Unscannable):
        textless(cf.zip_members(cf.with_doctype(cf.docx_with(), part, utf16))[part], part)


def test_a_broken_styles_part_is_a_parse_error(docx_members: dict[str, bytes]) -> None:
    data = planted(docx_members, "word/styles.xml", "<w:style>")
    x = extract_message(with_attachment(data, "a.docx"))
    assert [f.reason for f in x.unscannable] == ["parse-error"]


@pytest.mark.parametrize("element", ["Manager", "Company", "HyperlinkBase"])
def test_the_extended_properties_are_read(scanner: Scanner, docx_members: dict[str, bytes], element: str) -> None:
    """docProps/app.xml travels with the file and Office shows Manager and Company in its properties."""
    data = planted(docx_members, "docProps/app.xml", f"<{element}>携帯 {PHONE}</{element}>")
    found = phones(scanner, data)
    assert len(found) == 1 and found[0].startswith("attachment 計画.docx › sheet document properties"), found


def test_the_statistics_of_the_extended_properties_are_not_text(docx_members: dict[str, bytes]) -> None:
    x = extract_message(with_attachment(cf.rezip(docx_members), "計画.docx"))
    props = [s.text for s in x.segments if "document properties" in s.where and "Word" in s.text]
    assert props and not [line for line in props[0].splitlines() if line.strip() in ("0", "1", "false")], props


def test_media_parts_are_left_unread_only_when_they_are_real_media(
    scanner: Scanner, docx_members: dict[str, bytes]
) -> None:
    """A film or a recording in a document is not text (left unread, as fonts are); a list renamed
    media1.mp4 and declared video/mp4 is read, and bytes that are no known container are UNSCANNABLE."""
    members = dict(docx_members)
    types = members["[Content_Types].xml"].decode("utf-8")
    members["[Content_Types].xml"] = types.replace(
        "</Types>",
        '<Default Extension="mp4" ContentType="video/mp4"/><Default Extension="m4a" ContentType="audio/mp4"/>'
        '<Default Extension="wav" ContentType="audio/wav"/><Default Extension="mp3" ContentType="audio/mpeg"/></Types>',
    ).encode("utf-8")
    members["word/media/media1.mp4"] = b"\x00\x00\x00\x18ftypmp42" + bytes(64)
    members["word/media/sound.wav"] = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(64)
    x = extract_message(with_attachment(cf.rezip(members), "計画.docx"))
    assert not x.unscannable
    members["word/media/list.mp4"] = f"氏名,携帯\n高橋 一郎,{PHONE}\n".encode()
    members["word/media/odd.m4a"] = bytes(range(256)) * 4
    members["word/media/borrowed.mp3"] = b"ID3" + f"高橋 二郎 携帯 {PHONE}\n".encode() * 20
    x = extract_message(with_attachment(cf.rezip(members), "計画.docx"))
    assert [(u.reason, u.path) for u in x.unscannable] == [("unsupported-format", ("word/media/odd.m4a",))]
    result = scanner.scan(x.segments, CONTEXT)
    found = {f.where.split(" › ")[1] for f in result.findings if f.entity == "JP_PHONE_NUMBER"}
    assert {"word/media/list.mp4", "word/media/borrowed.mp3"} <= found, found  # a signature is not enough


@pytest.mark.parametrize("part", ["word/document.xml", "word/styles.xml", "docProps/core.xml"])
def test_xml_comments_and_processing_instructions_are_read(
    scanner: Scanner, docx_members: dict[str, bytes], part: str
) -> None:
    """No reader shows an XML comment, but it travels inside the file: read like HTML comments."""
    for planted_xml in (f"<!-- 携帯 {PHONE} -->", f"<?memo 携帯 {PHONE}?>", f"<?memo\n携帯 {PHONE}?>"):
        data = planted(docx_members, part, planted_xml)
        found = phones(scanner, data)
        assert len(found) == 1 and "XML comment" in found[0], (planted_xml, found)


def test_an_xml_comment_in_a_utf16_part_is_read(scanner: Scanner, docx_members: dict[str, bytes]) -> None:
    members = dict(docx_members)
    text = members["word/styles.xml"].decode("utf-8").replace("encoding='UTF-8'", "encoding='UTF-16'")
    text = text.replace('encoding="UTF-8"', 'encoding="UTF-16"')
    end = text.rindex("</")
    members["word/styles.xml"] = (text[:end] + f"<!-- 携帯 {PHONE} -->" + text[end:]).encode("utf-16")
    found = phones(scanner, cf.rezip(members))
    assert len(found) == 1 and "XML comment" in found[0], found
