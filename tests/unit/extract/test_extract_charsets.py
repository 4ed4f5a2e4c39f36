"""Charsets of Japanese business mail, in bodies, headers, file names and attachments."""

from __future__ import annotations

import base64
import pickle

import pytest
from extract_fixtures import mail, raw_text_mail, with_attachment

from gateway.content import Segment
from gateway.extract import ExtractLimits, extract_message
from gateway.extract.charset import decode_iso2022jp, decode_text
from gateway.extract.normalise import normalise

TEXT = "山田様 ①㈱髙島屋 電話０９０－１２３４－５６７８"


def bodies(raw: bytes) -> list[Segment]:
    return [s for s in extract_message(raw, ExtractLimits()).segments if s.kind == "body"]


SHORT = "山田様 電話０９０−１２３４"


@pytest.mark.parametrize(
    ("label", "data", "expected"),
    [
        ("Shift_JIS", TEXT.encode("cp932"), TEXT),  # labelled Shift_JIS, really CP932 (①, ㈱, 髙)
        ("cp932", TEXT.encode("cp932"), TEXT),
        ("EUC-JP", SHORT.encode("euc_jp"), SHORT),
        ("UTF-8", TEXT.encode("utf-8"), TEXT),
        ("UTF-16", TEXT.encode("utf-16"), TEXT),  # with BOM
        ("UTF-7", TEXT.encode("utf-7"), TEXT),
        ("iso-8859-1", TEXT.encode("cp932"), TEXT),  # lying label
        ("us-ascii", TEXT.encode("utf-8"), TEXT),  # lying label
        ("x-no-such-charset", TEXT.encode("cp932"), TEXT),  # unknown label
        ("Shift_JIS", TEXT.encode("utf-8"), TEXT),  # lying the other way
        ("iso-8859-1", SHORT.encode("euc_jp"), SHORT),
    ],
)
def test_body_charsets(label: str, data: bytes, expected: str) -> None:
    raw = raw_text_mail(base64.encodebytes(data), label, "base64")
    (seg,) = bodies(raw)
    assert seg.text.strip() == normalise(expected)[0]
    assert seg.source.strip() == expected


def test_iso2022jp_with_nec_specials_and_halfwidth_katakana() -> None:
    # CP50221-style: JIS X 0208 with NEC row 13 (①, ㈱) and ESC ( I half-width katakana.
    jis = "①㈱山田".encode("cp50220") if _has_cp50220() else None
    data = b"\x1b$B" + _jis("山田") + b"\x1b(B 090 \x1b(I" + bytes([0x36, 0x5E]) + b"\x1b(B"
    text, bad = decode_iso2022jp(data)
    assert bad == 0
    assert text == "山田 090 ｶﾞ"
    assert normalise(text)[0] == "山田 090 ガ"
    nec = b"\x1b$B\x2d\x21\x2d\x6a\x1b(B"  # row 13: ① and ㈱
    assert decode_iso2022jp(nec) == ("①㈱", 0)
    raw = raw_text_mail(b"\x1b$B" + _jis("髙橋") + b"\x1b(B " + nec + b"\r\n", "ISO-2022-JP", "7bit")
    (seg,) = bodies(raw)
    assert seg.text.strip() == "髙橋 1(株)"
    assert seg.source.strip() == "髙橋 ①㈱"
    assert jis is None or isinstance(jis, bytes)


def _jis(s: str) -> bytes:
    enc = s.encode("cp932")
    out = bytearray()
    for i in range(0, len(enc), 2):
        s1, s2 = enc[i], enc[i + 1]
        row = (s1 - (0x70 if s1 < 0xA0 else 0xB0)) * 2 - (1 if s2 < 0x9F else 0)
        col = s2 - (0x1F if s2 < 0x7F else 0x20 if s2 < 0x9F else 0x7E)
        out += bytes((row, col))
    return bytes(out)


def _has_cp50220() -> bool:
    try:
        "a".encode("cp50220")
        return True
    except LookupError:
        return False


def test_eucjp_from_windows_with_nec_row13() -> None:
    data = "山田".encode("euc_jp") + b"\xad\xa1"  # ① in CP51932
    assert decode_text(data, "EUC-JP").text == "山田①"


def test_utf16_bom_and_lone_surrogate_is_counted() -> None:
    dec = decode_text("\ufeff山田".encode("utf-16-le") + b"\x00\xd8")
    assert dec.text.startswith("山田")
    assert dec.replaced == 1


def test_mostly_undecodable_text_is_unscannable() -> None:
    broken = b"\xff\xfe" + b"\x00\xd8" * 50 + "山田".encode("utf-16-le")
    raw = with_attachment(broken, "broken.txt", "text/plain")
    found = extract_message(raw, ExtractLimits()).findings
    assert [(f.reason, f.attachment) for f in found] == [("undecodable-text", "broken.txt")]
    assert "could not be decoded" in found[0].detail


def test_encoded_word_subject_display_names_and_filenames() -> None:
    m = mail(subject="【至急】会員一覧", charset="iso-2022-jp")
    m.replace_header("To", '=?ISO-2022-JP?B?GyRCTmtMWhsoQiAbJEIyVjtSGyhC?= <hanako@example.com>, "A, B" <ab@x.jp>')
    m.attach(_sjis_named_part())
    x = extract_message(m.as_bytes(), ExtractLimits())
    by_kind = {(s.kind, s.field): s.text for s in x.segments if s.kind in ("subject", "display-name")}
    assert by_kind[("subject", "Subject")] == "【至急】会員一覧"
    assert by_kind[("display-name", "From")] == "山田 太郎"
    assert by_kind[("display-name", "To")] == "鈴木 花子\nA, B"
    names = [a.name for a in x.attachments]
    assert names == ["顧客リスト①.csv"]
    csv_seg = next(s for s in x.segments if s.attachment == "顧客リスト①.csv" and s.kind == "table")
    assert any(s.kind == "filename" and (s.source or s.text) == "顧客リスト①.csv" for s in x.segments)
    assert csv_seg.header == ("氏名", "電話番号")
    assert csv_seg.charset == "cp932"


def _sjis_named_part():  # type: ignore[no-untyped-def]
    from email.mime.base import MIMEBase

    part = MIMEBase("text", "csv")
    part.set_payload(base64.encodebytes("氏名,電話番号\r\n髙橋,03-1234-5678\r\n".encode("cp932")).decode())
    part["Content-Transfer-Encoding"] = "base64"
    from urllib.parse import quote_from_bytes

    # RFC 2231 with a Shift_JIS label over CP932 bytes (①), as Japanese mailers write it.
    part["Content-Disposition"] = "attachment; filename*=shift_jis'ja'" + quote_from_bytes(
        "顧客リスト①.csv".encode("cp932")
    )
    return part


def test_raw_8bit_shift_jis_header_and_filename() -> None:
    raw = (
        "Subject: 見積書の送付\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        '--b\r\nContent-Type: text/plain\r\n\r\nbody\r\n--b\r\nContent-Type: text/plain; name="名簿.txt"\r\n'
        'Content-Disposition: attachment; filename="名簿.txt"\r\n\r\n山田 太郎\r\n--b--\r\n'
    ).encode("cp932")
    x = extract_message(raw, ExtractLimits())
    assert x.segments[0].text == "見積書の送付"
    assert [a.name for a in x.attachments] == ["名簿.txt"]
    assert any(s.attachment == "名簿.txt" and "山田 太郎" in s.text for s in x.segments)


@pytest.mark.parametrize("codec", ["cp932", "euc_jp", "utf-8", "utf-16", "iso2022_jp"])
def test_csv_attachment_in_every_charset(codec: str) -> None:
    data = (
        "氏名,電話番号,メールアドレス\r\n山田 太郎,090-1234-5678,taro@example.jp\r\n鈴木 花子,080-1111-2222,h@x.jp\r\n"
    )
    raw = with_attachment(data.encode(codec), "会員一覧.csv")
    x = extract_message(raw, ExtractLimits())
    (seg,) = [s for s in x.segments if s.attachment and s.kind != "filename"]
    assert seg.kind == "table"
    assert seg.header == ("氏名", "電話番号", "メールアドレス")
    assert seg.rows == 2
    assert seg.where == "attachment 会員一覧.csv › rows 2-3 › part 2"
    assert "鈴木 花子\t080-1111-2222" in seg.text
    assert not x.findings
    pickle.loads(pickle.dumps(x))
