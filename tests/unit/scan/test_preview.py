"""Masked attachment previews through the real extraction and scanner (gateway.scan.preview)."""

from __future__ import annotations

import io
import zipfile

import pytest
import xlsxwriter

from gateway.content import Segment
from gateway.extract import extract_message
from gateway.scan import ScanConfig, ScanContext
from gateway.scan.engine import Scanner
from gateway.scan.model import Hit
from gateway.scan.preview import attachment_previews, head
from tests.unit.extract.extract_fixtures import attach, mail

MY_NUMBER = "123456789018"  # check digit valid (stdnum.jp.in_)


def sheet(rows: list[list[str]], name: str = "明細") -> bytes:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet(name)
    for i, row in enumerate(rows):
        ws.write_row(i, 0, row)
    wb.close()
    return buf.getvalue()


def previews_of(scanner: Scanner, raw: bytes, lines: int = 5, chars: int = 400) -> list[dict[str, object]]:
    extraction = extract_message(raw)
    result = scanner.scan(extraction.segments, ScanContext(sender="a@sakura.example", recipients=("b@x.example",)))
    found = attachment_previews(extraction, result.heads, lines, chars, 20, result.findings)
    return [p.to_json() for p in found]


def test_my_number_in_an_xlsx_is_masked(scanner: Scanner) -> None:
    m = mail()
    rows = [["氏名", "個人番号", "電話番号"], ["山田 太郎", MY_NUMBER, "090-1234-5678"], ["備考", "", ""]]
    attach(m, sheet(rows), "申込者.xlsx")
    (p,) = previews_of(scanner, m.as_bytes())
    assert p["file"] == "申込者.xlsx"
    text = str(p["text"])
    assert MY_NUMBER not in text and "1234-5678" not in text and "太郎" not in text
    assert "**********18" in text  # the My Number, masked like the findings' samples
    assert "090-****-5678" in text
    assert "氏名 | 個人番号 | 電話番号" in text  # the header row reads as it is
    assert not p["unreadable"]


def test_lines_and_characters_are_bounded(scanner: Scanner) -> None:
    m = mail()
    attach(m, "\n".join(f"行{i} です" for i in range(50)).encode(), "memo.txt", "text/plain")
    (p,) = previews_of(scanner, m.as_bytes(), lines=3)
    assert p["text"] == "行0 です\n行1 です\n行2 です" and p["truncated"]
    (p,) = previews_of(scanner, m.as_bytes(), lines=50, chars=20)
    assert len(str(p["text"])) == 20 and p["truncated"]


def test_zip_members_have_their_path_and_unreadable_ones_say_why(scanner: Scanner) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("中/名簿.csv", "氏名,電話\n佐藤 花子,03-1234-5678\n")
        z.writestr("壊れ.pdf", b"%PDF-1.7 this is not a pdf at all")
    m = mail()
    attach(m, buf.getvalue(), "送付.zip")
    attach(m, b"\x00\x01\x02binary nobody reads\xff" * 20, "data.bin")
    found = {p["file"]: p for p in previews_of(scanner, m.as_bytes())}
    csv = found["送付.zip › 中/名簿.csv"]
    assert "03-1***-5678" in str(csv["text"]) and "花子" not in str(csv["text"])
    assert found["送付.zip › 壊れ.pdf"]["unreadable"] and not found["送付.zip › 壊れ.pdf"]["text"]
    assert found["data.bin"]["unreadable"] == "unknown-format"


def test_digit_runs_no_recognizer_claims_are_masked_too() -> None:
    text = "口座 1234567\n照会番号 9876-5432-1098-7\n日付 2025-06-12 金額 12,000\n"
    out = head(text, [], 5, 400)
    assert "1234567" not in out and "*****67" in out
    assert "9876-5432-1098-7" not in out and out.count("*") >= 5 + 10
    assert "2025-06-12" in out and "12,000" in out


def test_a_hit_across_the_cut_is_masked_whole_and_control_characters_go() -> None:
    text = "a" * 30 + "山田太郎\u202e\x07\ttail"
    hits = [Hit("PERSON", 30, 34, 1.0, "山田太郎")]
    out = head(text, hits, 5, 32)
    assert "山田**" in out and "太郎" not in out
    assert "\u202e" not in out and "\x07" not in out and " | tail" in out


def test_segments_the_scan_did_not_reach_show_nothing() -> None:
    from gateway.content import Extraction

    seg = Segment(text="山田太郎 090-1234-5678", kind="attachment", part="2", attachment="a.txt")
    extraction = Extraction(segments=[seg])
    (p,) = attachment_previews(extraction, {}, 5, 400, 20)
    assert p.text == "" and p.unreadable == "limit-time"
    assert "090" not in repr(p)


@pytest.mark.parametrize("lines, chars", [(0, 400), (5, 0)])
def test_preview_can_be_switched_off(lines: int, chars: int) -> None:
    s = Scanner(ScanConfig(ner_window_chars=0, preview_lines=lines, preview_chars=chars))
    m = mail()
    attach(m, b"hello", "a.txt", "text/plain")
    extraction = extract_message(m.as_bytes())
    result = s.scan(extraction.segments)
    assert result.heads == {} or all(not v for v in result.heads.values())
    assert attachment_previews(extraction, result.heads, lines, chars, 20) == []


def test_the_files_own_text_comes_before_text_about_it(scanner: Scanner) -> None:
    m = mail()
    rows = [["氏名", "電話"], ["山田 太郎", "090-1234-5678"]]
    attach(m, sheet(rows), "a.xlsx")
    (p,) = previews_of(scanner, m.as_bytes(), lines=2)
    assert p["text"] == "氏名 | 電話\n山田** | 090-****-5678"  # not the sheet names or properties first


def test_an_archive_with_readable_members_is_not_listed_empty(scanner: Scanner) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a.txt", "こんにちは")
    m = mail()
    attach(m, buf.getvalue(), "x.zip")
    assert [p["file"] for p in previews_of(scanner, m.as_bytes())] == ["x.zip › a.txt"]
