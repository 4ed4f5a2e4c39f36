"""Text written into an image file's metadata travels with it: PNG text chunks, JPEG and GIF
comments, EXIF fields (ASCII, Windows' UTF-16 XP fields, the user comment with its character code)
and XMP values are read as text through the real extraction and scanner, also on a logo that is too
small to be read with OCR; numbers and profiles are not; a broken XMP packet is read as its bytes."""

from __future__ import annotations

import io

import pytest
from PIL import Image, PngImagePlugin

from gateway.extract import extract_message
from gateway.extract.image_metadata import metadata_lines
from gateway.scan import ScanConfig, ScanContext
from gateway.scan.engine import Scanner
from tests.unit.extract.extract_fixtures import with_attachment

PHONE = "090-1234-5678"
XMP = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Label="携帯 {phone}">'
    '<dc:description><rdf:Alt><rdf:li xml:lang="x-default">連絡先 {phone}</rdf:li></rdf:Alt></dc:description>'
    "</rdf:Description></rdf:RDF></x:xmpmeta>"
)


@pytest.fixture(scope="module")
def scanner() -> Scanner:
    return Scanner(ScanConfig(ner_window_chars=0))


def png(size: tuple[int, int] = (32, 32), **chunks: str) -> bytes:
    info = PngImagePlugin.PngInfo()
    for key, value in chunks.items():
        if key.startswith("i_"):
            info.add_itxt(key[2:], value, lang="ja")
        elif key.startswith("z_"):
            info.add_text(key[2:], value, zip=True)
        else:
            info.add_text(key, value)
    out = io.BytesIO()
    Image.new("RGB", size, "white").save(out, "PNG", pnginfo=info)
    return out.getvalue()


def jpeg(exif: Image.Exif | None = None, comment: str = "", xmp: str = "") -> bytes:
    out = io.BytesIO()
    kwargs: dict[str, object] = {}
    if exif is not None:
        kwargs["exif"] = exif
    if comment:
        kwargs["comment"] = comment.encode("utf-8")
    if xmp:
        kwargs["xmp"] = xmp.encode("utf-8")
    Image.new("RGB", (24, 24), "white").save(out, "JPEG", **kwargs)
    return out.getvalue()


def phones(scanner: Scanner, data: bytes, name: str, ctype: str) -> list[str]:
    x = extract_message(with_attachment(data, name, ctype))
    assert not x.unscannable, x.unscannable
    result = scanner.scan(x.segments, ScanContext(sender="taro@example.co.jp", recipients=("a@partner.example",)))
    return sorted({f.where for f in result.findings if f.entity == "JP_PHONE_NUMBER"})


@pytest.mark.parametrize("chunk", ["Comment", "z_Description", "i_Author"])
def test_png_text_chunks_on_a_logo_are_read(scanner: Scanner, chunk: str) -> None:
    data = png(**{chunk: f"担当 佐藤 携帯 {PHONE}"})
    assert phones(scanner, data, "logo.png", "image/png") == ["attachment logo.png › sheet metadata › part 2"]


def test_exif_fields_are_read(scanner: Scanner) -> None:
    for tag, value in [
        (0x010E, f"撮影 {PHONE}"),  # ImageDescription (ASCII by the standard, UTF-8 in practice)
        (0x013B, f"山田 {PHONE}"),  # Artist
        (0x9C9C, f"コメント {PHONE}\0".encode("utf-16-le")),  # XPComment
    ]:
        exif = Image.Exif()
        exif[tag] = value
        assert phones(scanner, jpeg(exif), "photo.jpg", "image/jpeg") == [
            "attachment photo.jpg › sheet metadata › part 2"
        ], tag


def test_the_user_comment_is_decoded_by_its_character_code() -> None:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9286] = b"UNICODE\0" + f"顧客 {PHONE}".encode("utf-16")
    image = Image.open(io.BytesIO(jpeg(exif)))
    assert f"UserComment: 顧客 {PHONE}" in metadata_lines(image)


def test_jpeg_comment_and_xmp_are_read(scanner: Scanner) -> None:
    assert phones(scanner, jpeg(comment=f"送付先 {PHONE}"), "a.jpg", "image/jpeg") == [
        "attachment a.jpg › sheet metadata › part 2"
    ]
    lines = metadata_lines(Image.open(io.BytesIO(jpeg(xmp=XMP.format(phone=PHONE)))))
    assert f"XMP Label: 携帯 {PHONE}" in lines and f"XMP li: 連絡先 {PHONE}" in lines


def test_a_broken_or_hostile_xmp_packet_is_read_as_its_bytes() -> None:
    hostile = f'<!DOCTYPE x [<!ENTITY e "{PHONE}">]><x>&e;</x>'
    lines = metadata_lines(Image.open(io.BytesIO(jpeg(xmp=hostile))))
    assert lines == [f"XMP: {hostile}"]


def test_numbers_and_profiles_are_not_text() -> None:
    out = io.BytesIO()
    Image.new("RGB", (24, 24), "white").save(out, "PNG", dpi=(300, 300))
    assert metadata_lines(Image.open(io.BytesIO(out.getvalue()))) == []
    assert metadata_lines(Image.open(io.BytesIO(jpeg()))) == []
