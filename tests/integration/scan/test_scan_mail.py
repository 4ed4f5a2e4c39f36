"""Real mail through extraction and the scanner (in-process; the worker pool: tests/integration/workers)."""

from __future__ import annotations

from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import pytest

from gateway.extract import extract_message
from gateway.scan import ScanConfig, ScanContext
from gateway.scan.engine import Scanner

BODY = (
    "山田様\n\nお世話になっております。\n申込者の情報です。\n氏名：高橋　一郎\n"
    "携帯：０９０−１２３４−５６７８\nマイナンバー：１２３４５６７８９０１８\n"
)


def mail(charset: str, body: str = BODY, csv: str | None = None) -> bytes:
    msg = MIMEMultipart()
    msg["From"] = "taro@sakura.co.jp"
    msg["To"] = "hanako@partner.co.jp"
    msg["Subject"] = Header("申込者情報", charset)
    msg.attach(MIMEText(body, "plain", charset))
    if csv is not None:
        part = MIMEText(csv, "csv", "utf-8")
        part.add_header("Content-Disposition", "attachment", filename="list.csv")
        msg.attach(part)
    return msg.as_bytes()


@pytest.fixture(scope="module")
def scanner() -> Scanner:
    return Scanner(ScanConfig(ner_window_chars=0))


@pytest.mark.parametrize("charset", ["iso-2022-jp", "shift_jis", "utf-8"])
def test_japanese_mail_in_each_charset(scanner: Scanner, charset: str) -> None:
    extraction = extract_message(mail(charset))
    result = scanner.scan(extraction.segments, ScanContext(sender="taro@sakura.co.jp"))
    assert {"PERSON", "JP_PHONE_NUMBER", "JP_MY_NUMBER"} <= result.entities()
    assert all(f.part for f in result.personal)


def test_csv_attachment_rows_are_records(scanner: Scanner) -> None:
    rows = "\n".join(f"会員{i},user{i}@gmail.com,090-1111-{i:04d}" for i in range(30))
    extraction = extract_message(mail("utf-8", "添付をご確認ください。", "会員,メール,電話\n" + rows))
    result = scanner.scan(extraction.segments)
    assert result.bulk is not None and result.records >= 30
    assert any("list.csv" in f.where for f in result.personal)


def test_csv_without_header_row_counts_its_first_row(scanner: Scanner) -> None:
    """Issue 15: a CSV without a header row is read by its columns' content, first row included."""
    people = [
        ("佐々木 零", "ササキ レイ", "1961/05/03"),
        ("長谷川 幹", "ハセガワ ミキ", "1988/11/30"),
        ("石井 あすか", "イシイ アスカ", "1975/02/14"),
        ("渡辺 真綾", "ワタナベ マアヤ", "2001/07/09"),
    ]
    csv = "\n".join(f"{n},{k},{d},user{i}@gmail.com" for i, (n, k, d) in enumerate(people))
    extraction = extract_message(mail("utf-8", "添付をご確認ください。", csv))
    totals = scanner.scan(extraction.segments).totals()
    assert totals["EMAIL_ADDRESS"]["records"] == 4
    assert totals["DATE_OF_BIRTH"]["records"] == 4
    assert totals["PERSON"]["records"] == 4


def test_header_cells_are_not_samples(scanner: Scanner) -> None:
    csv = "氏名,住所\n山田 太郎,東京都港区芝公園1-2-3\n佐藤 花子,大阪府大阪市北区梅田2-4-9\n"
    result = scanner.scan(extract_message(mail("utf-8", "添付をご確認ください。", csv)).segments)
    person = next(f for f in result.personal if f.entity == "PERSON" and "list.csv" in f.where)
    assert person.records == 2 and person.count == 2
    assert "氏名" not in "".join(person.samples)
