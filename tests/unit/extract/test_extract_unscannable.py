"""Unscannable is a result: encrypted files, unknown formats, parser errors, bombs, and every limit
give an UNSCANNABLE finding with the exact reason and the attachment's name."""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import tempfile
import zipfile
from pathlib import Path

import pytest
from extract_fixtures import (
    aes_zip,
    cfb,
    docx,
    encrypted_ooxml_container,
    encrypted_pdf,
    entity_bomb_docx,
    mail,
    overlap_bomb,
    pdf,
    with_attachment,
    xls,
    xlsx,
    zip_bomb_deep,
    zip_of,
    zipcrypto,
)

from gateway.extract import Extraction, ExtractLimits, extract_message

L = ExtractLimits()


def unscannable(x: Extraction) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(f.reason, f.attachment, f.path) for f in x.findings if f.entity == "UNSCANNABLE"]


def run(data: bytes, name: str, limits: ExtractLimits = L) -> Extraction:
    return extract_message(with_attachment(data, name), limits)


# -- encrypted --------------------------------------------------------------------------------


def test_zipcrypto_member_is_unscannable_and_named() -> None:
    x = run(zipcrypto({"会員一覧.csv": b"a,b\n", "b.txt": b"x"}), "pw.zip")
    assert unscannable(x) == [
        ("encrypted-zip", "pw.zip", ("会員一覧.csv",)),
        ("encrypted-zip", "pw.zip", ("b.txt",)),
    ]
    assert x.findings[0].detail == "'会員一覧.csv' is encrypted (ZipCrypto)"
    assert all(a.encrypted for a in x.attachments if a.path)


@pytest.mark.skipif(shutil.which("zip") is None, reason="the zip command is not installed")
def test_zipcrypto_made_by_the_zip_command() -> None:
    with tempfile.TemporaryDirectory() as d:
        Path(d, "meibo.csv").write_text("氏名,電話\n山田,090-1234-5678\n")
        subprocess.run(["zip", "-q", "-P", "secret", "pw.zip", "meibo.csv"], cwd=d, check=True)
        data = Path(d, "pw.zip").read_bytes()
    x = run(data, "pw.zip")
    assert unscannable(x) == [("encrypted-zip", "pw.zip", ("meibo.csv",))]


def test_aes_zip_member_is_unscannable() -> None:
    x = run(aes_zip({"a.xlsx": b"x" * 100}), "aes.zip")
    assert unscannable(x) == [("encrypted-zip", "aes.zip", ("a.xlsx",))]
    assert "(AES)" in x.findings[0].detail


def test_aes_zip_made_by_pyzipper() -> None:
    pyzipper = pytest.importorskip("pyzipper")
    buf = io.BytesIO()
    with pyzipper.AESZipFile(buf, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES) as z:
        z.setpassword(b"secret")
        z.writestr("名簿.csv", "氏名\n山田\n")
    x = run(buf.getvalue(), "aes.zip")
    assert unscannable(x) == [("encrypted-zip", "aes.zip", ("名簿.csv",))]


@pytest.mark.parametrize("font", ["identity", "type3"])  # type3: the page text is PDFium's
def test_encrypted_pdf(font: str) -> None:
    x = run(encrypted_pdf(font=font), "申込書.pdf")
    assert unscannable(x) == [("encrypted-pdf", "申込書.pdf", ())]
    assert x.attachments[0].encrypted


@pytest.mark.parametrize("font", ["identity", "type3"])
def test_pdf_with_only_an_owner_password_is_read(font: str) -> None:
    x = run(encrypted_pdf(user_password="", font=font), "a.pdf")
    assert not x.findings
    assert any("090-1234-5678" in s.text for s in x.segments)


def test_password_protected_office_container() -> None:
    x = run(encrypted_ooxml_container(), "secret.xlsx")
    assert unscannable(x) == [("encrypted-office", "secret.xlsx", ())]


def test_password_protected_docx_made_by_msoffcrypto() -> None:
    ooxml = pytest.importorskip("msoffcrypto.format.ooxml")
    out = io.BytesIO()
    ooxml.OOXMLFile(io.BytesIO(docx())).encrypt("secret", out)
    x = run(out.getvalue(), "契約書.docx")
    assert unscannable(x) == [("encrypted-office", "契約書.docx", ())]


def test_password_protected_xls() -> None:
    x = run(xls("名簿", [["氏名"], ["山田"]], encrypted=True), "old.xls")
    assert unscannable(x) == [("encrypted-office", "old.xls", ())]


def test_encrypted_and_legacy_word_documents() -> None:
    fib = bytearray(64)
    struct.pack_into("<HH", fib, 0, 0xA5EC, 0xC1)
    plain = cfb({"WordDocument": bytes(fib), "1Table": b"\0" * 16})
    struct.pack_into("<H", fib, 10, 0x0100)
    locked = cfb({"WordDocument": bytes(fib), "1Table": b"\0" * 16})
    assert unscannable(run(locked, "old.doc")) == [("encrypted-office", "old.doc", ())]
    assert unscannable(run(plain, "old.doc")) == [("unsupported-format", "old.doc", ())]


# -- unknown and broken -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (bytes(range(256)) * 8, "unknown-format"),
        (b"Rar!\x1a\x07\x01\x00" + b"\x00" * 64, "unsupported-format"),
        (b"PK\x03\x04 truncated zip", "parse-error"),
        (b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R >> endobj\ntrailer << /Root 1 0 R >>\n", "parse-error"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "parse-error"),
        (cfb({"Something": b"x"}), "unknown-format"),
    ],
)
def test_unknown_and_broken_files(data: bytes, reason: str) -> None:
    assert unscannable(run(data, "file.bin")) == [(reason, "file.bin", ())]


def test_truncated_xlsx_is_a_parse_error() -> None:
    data = xlsx(50)
    x = run(data[: len(data) // 2], "cut.xlsx")
    assert [r for r, _, _ in unscannable(x)] == ["parse-error"]


# -- bombs ------------------------------------------------------------------------------------


def test_nested_zip_bomb_stops_at_the_decompressed_limit() -> None:
    limits = ExtractLimits(max_decompressed_bytes=64 * 1024 * 1024)
    x = run(zip_bomb_deep(3, 30 * 1024 * 1024), "42.zip", limits)
    reasons = {r for r, _, _ in unscannable(x)}
    assert "limit-decompressed-bytes" in reasons
    assert all(f.attachment == "42.zip" for f in x.findings)


def test_overlapping_entry_bomb() -> None:
    x = run(overlap_bomb(), "overlap.zip")
    assert unscannable(x) == [("zip-bomb", "overlap.zip", ())]
    assert "overlap" in x.findings[0].detail


def test_entity_bomb_in_docx() -> None:
    x = run(entity_bomb_docx(), "bomb.docx")
    assert unscannable(x) == [("xml-doctype", "bomb.docx", ())]


def test_single_member_over_the_attachment_size() -> None:
    limits = ExtractLimits(max_attachment_bytes=1024 * 1024)
    x = run(zip_of({"zeros.bin": b"\0" * (3 * 1024 * 1024)}), "z.zip", limits)
    assert unscannable(x) == [("limit-attachment-bytes", "z.zip", ("zeros.bin",))]


# -- limits -----------------------------------------------------------------------------------


def test_archive_depth_limit() -> None:
    data = b"deep"
    for i in range(4):
        data = zip_of({f"l{i}.zip" if i else "a.txt": data})
    x = run(data, "d.zip", ExtractLimits(max_archive_depth=2))
    assert [r for r, _, _ in unscannable(x)] == ["limit-archive-depth"]


def test_archive_entries_limit_read_from_the_end_record() -> None:
    x = run(zip_of({f"{i}.txt": b"x" for i in range(30)}), "many.zip", ExtractLimits(max_archive_entries=10))
    assert unscannable(x) == [("limit-archive-entries", "many.zip", ())]


def test_attachment_count_limit() -> None:
    m = mail()
    from extract_fixtures import attach

    for i in range(6):
        attach(m, b"hello", f"{i}.txt")
    x = extract_message(m.as_bytes(), ExtractLimits(max_attachments=3))
    # every file that was not read is named
    assert unscannable(x) == [("limit-attachments", f"{i}.txt", ()) for i in (3, 4, 5)]


def test_attachment_text_limit_cuts_and_reports() -> None:
    x = run(xlsx(1000), "big.xlsx", ExtractLimits(max_attachment_text_chars=5000))
    (seg,) = [s for s in x.segments if s.attachment and s.kind != "filename"]
    assert len(seg.text) == 5000 - len("big.xlsx") and 0 < seg.rows < 1000  # the file name is its text too
    assert unscannable(x) == [("limit-attachment-text", "big.xlsx", ())]


def test_message_text_limit() -> None:
    x = extract_message(mail("あ" * 5000).as_bytes(), ExtractLimits(max_message_text_chars=1000))
    assert [r for r, _, _ in unscannable(x)] == ["limit-message-text"]
    assert x.text_chars == 1000


@pytest.mark.parametrize("font", ["identity", "type3"])
def test_pdf_page_limit(font: str) -> None:
    x = run(pdf([f"page {i}" for i in range(5)], font=font), "p.pdf", ExtractLimits(max_pdf_pages=2))
    assert unscannable(x) == [("limit-pdf-pages", "p.pdf", ())]
    assert [s.sheet for s in x.segments if s.attachment and s.kind != "filename"] == ["page 1", "page 2"]


def test_docx_inside_zip_inside_mail_counts_every_byte() -> None:
    big = zipfile.ZipFile(io.BytesIO(docx()))
    total = sum(i.file_size for i in big.infolist())
    limits = ExtractLimits(max_decompressed_bytes=total // 2)
    x = run(zip_of({"a.docx": docx()}), "a.zip", limits)
    assert "limit-decompressed-bytes" in {r for r, _, _ in unscannable(x)}
