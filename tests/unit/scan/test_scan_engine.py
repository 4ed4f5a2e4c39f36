"""The Scanner end to end on Segments: tables and bulk, quiet business mail, findings, fail-closed."""

from __future__ import annotations

import dataclasses
import json
import logging
import socket

import pytest

from gateway.content import Segment
from gateway.scan import ScanConfig, ScanContext
from gateway.scan.engine import Scanner
from tests.unit.scan.corpus import QUOTED_REPLY, SIGNATURE, benign, bulk_sheet, corpus
from tests.unit.scan.evaluate import context, evaluate


def table(header: tuple[str, ...], rows: list[str], **kw: object) -> Segment:
    text = "\n".join(rows)
    offsets, pos = [], 0
    for r in rows:
        offsets.append(pos)
        pos += len(r) + 1
    return Segment(text=text, kind="table", header=header, row_offsets=tuple(offsets), first_row=2, **kw)  # type: ignore[arg-type]


def test_ideco_sheet_is_bulk_with_records_and_provenance(scanner: Scanner) -> None:
    sheet = bulk_sheet(5572)
    seg = dataclasses.replace(sheet.segment(), attachment="申込者一覧.xlsx", sheet="明細")
    result = scanner.scan([seg], ScanContext(sender="a@sakura.co.jp", recipients=("b@partner.co.jp",)))
    email = next(f for f in result.personal if f.entity == "EMAIL_ADDRESS")
    assert (email.count, email.distinct, email.records) == (5572, 5572, 5572)
    assert email.where == "attachment 申込者一覧.xlsx › sheet 明細 › rows 2-5573"
    assert email.row == 2
    bulk = result.bulk
    assert bulk is not None and bulk.records == 5572 and "EMAIL_ADDRESS 5572" in bulk.detail
    assert result.records == 5572


def test_header_classifies_names_and_addresses(scanner: Scanner) -> None:
    seg = table(
        ("氏名", "住所", "備考"),
        ["ヤマダ タロウ\t渋谷区神宮前一丁目\t-", "佐藤 花子\t大阪市北区梅田\t", "Mary Jones\t-\t至急"],
    )
    totals = scanner.scan([seg]).totals()
    assert totals["PERSON"]["records"] == 3
    assert totals["JP_ADDRESS"]["records"] == 2


def test_header_is_context_for_numbers(scanner: Scanner) -> None:
    seg = table(("会員ID", "生年月日", "個人番号"), ["M001\t1980/01/02\t123456789018", "M002\t1975/12/31\t"])
    totals = scanner.scan([seg]).totals()
    assert totals["DATE_OF_BIRTH"]["records"] == 2
    assert totals["JP_MY_NUMBER"]["records"] == 1


def test_bulk_threshold_counts_records_not_cells(scanner: Scanner) -> None:
    rows = [f"山田 太郎{i}\t090-1234-{5000 + i:04d}\tuser{i}@gmail.com" for i in range(9)]
    result = scanner.scan([table(("氏名", "電話", "メール"), rows)])
    assert result.records == 9 and result.bulk is None
    result = scanner.scan([table(("氏名", "電話", "メール"), [*rows, "佐藤 花子\t090-9999-0000\thanako@gmail.com"])])
    assert result.records == 10 and result.bulk is not None


def test_list_in_a_body_is_bulk(scanner: Scanner) -> None:
    body = "以下の会員の連絡先です。\n" + "\n".join(f"会員{i}: user{i}@gmail.com 090-2222-{i:04d}" for i in range(12))
    result = scanner.scan([Segment(text=body, kind="body")])
    assert result.bulk is not None and result.records == 12


@pytest.mark.parametrize("sample", benign(), ids=lambda s: s.name)
def test_benign_business_mail_is_quiet(scanner: Scanner, sample: object) -> None:
    result = scanner.scan([sample.segment()], context())  # type: ignore[attr-defined]
    assert result.findings == []


def test_structured_entities_meet_the_goals(scanner: Scanner) -> None:
    report = evaluate(scanner, corpus())
    for entity, score in report.per_entity.items():
        if entity != "PERSON":
            assert score.recall >= 0.98 and score.precision >= 0.95, (entity, score)
    assert report.false_hold_rate == 0.0, report.benign_flagged


def test_quoted_personal_data_is_marked_quoted(scanner: Scanner) -> None:
    body = "承知しました。\n\n2025年6月2日 佐藤 <s@partner.co.jp>:\n> 申込者の携帯は 090-3333-4444 です。\n"
    phone = next(f for f in scanner.scan([Segment(text=body, kind="body")]).personal if f.entity == "JP_PHONE_NUMBER")
    assert phone.quoted and "quoted" in phone.to_json() and phone.to_json()["quoted"] is True


def test_quiet_is_not_a_hiding_place(scanner: Scanner) -> None:
    """A customer list after a separator line is not a 'signature'."""
    rows = "\n".join(f"顧客{i} TEL 090-4444-{i:04d} c{i}@gmail.com" for i in range(8))
    body = f"リストです。\n\n----------------\n{rows}\n----------------\n"
    totals = scanner.scan([Segment(text=body, kind="body")]).totals()
    assert totals["JP_PHONE_NUMBER"]["count"] == 8 and totals["EMAIL_ADDRESS"]["count"] == 8


def test_own_numbers_addresses_and_correspondents(scanner: Scanner) -> None:
    text = "本社 TEL 03-5555-1234、担当携帯 090-7777-8888、自宅 東京都港区芝公園1-2-3\nCc: hanako@partner.co.jp"
    seg = Segment(text=text, kind="attachment")
    cfg = ScanConfig(
        ner_window_chars=0, own_phone_numbers=["+81-3-5555-1234"], own_addresses=["東京都港区芝公園1丁目2番3号"]
    )
    quiet = Scanner(cfg).scan(
        [seg], ScanContext(recipients=("hanako@partner.co.jp",), own_phone_numbers=("09077778888",))
    )
    assert quiet.findings == []
    assert {"JP_PHONE_NUMBER", "JP_ADDRESS", "EMAIL_ADDRESS"} <= scanner.scan([seg]).entities()


def test_display_names_and_signature_of_sender_do_not_count(scanner: Scanner) -> None:
    segs = [
        Segment(text="山田 太郎", kind="display-name", field="From"),
        Segment(text="お疲れさまです。山田です。\n資料を送ります。\n\n" + SIGNATURE, kind="body"),
    ]
    assert scanner.scan(segs, ScanContext(sender="taro.yamada@sakura-shoji.co.jp")).findings == []


def test_json_has_findings_with_entity_count_records_where_and_no_raw_values(scanner: Scanner) -> None:
    text = "氏名: 高橋一郎\n携帯 090-1234-5678\nメール ichiro.t@gmail.com\nマイナンバー 123456789018"
    result = scanner.scan([Segment(text=text, kind="body", part="1")])
    out = result.to_json()
    assert {"entity", "count", "records", "where"} <= set(out["findings"][0])
    dumped = json.dumps(out, ensure_ascii=False)
    for raw in ("高橋一郎", "090-1234-5678", "ichiro.t@gmail.com", "123456789018", "1234-5678"):
        assert raw not in dumped
    samples = {f["entity"]: f["samples"] for f in out["findings"]}
    assert samples["PERSON"] == ["高橋**"] and samples["JP_PHONE_NUMBER"] == ["090-****-5678"]


def test_logs_never_hold_raw_values(scanner: Scanner, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="gateway")
    scanner.scan([Segment(text="氏名: 高橋一郎 携帯 090-1234-5678", kind="body")])
    assert "高橋一郎" not in caplog.text and "090-1234-5678" not in caplog.text


def test_over_the_time_budget_is_unscannable(scanner: Scanner) -> None:
    tight = Scanner(ScanConfig(ner_window_chars=0, time_budget_seconds=1e-9))
    result = tight.scan([Segment(text="携帯 090-1234-5678", kind="body")])
    assert [(f.entity, f.reason) for f in result.unscannable] == [("UNSCANNABLE", "limit-time")]


def test_long_text_is_chunked_for_sudachi(scanner: Scanner) -> None:
    line = "お客様の氏名は佐藤花子様、住所は東京都渋谷区神宮前1-2-3です。\n"
    text = line * 2000  # ~70,000 characters, ~200 KB of UTF-8: Sudachi alone refuses this
    totals = scanner.scan([Segment(text=text, kind="attachment")]).totals()
    assert totals["PERSON"]["count"] == 2000 and totals["JP_ADDRESS"]["count"] == 2000


def test_ner_window_finds_a_name_the_fast_stage_cannot(ner_scanner: Scanner) -> None:
    seg = Segment(text="ご担当: ジョン・スミス 090-1234-5678", kind="attachment")
    result = ner_scanner.scan([seg])
    person = next(f for f in result.personal if f.entity == "PERSON")
    assert person.sources == ("ginza",)
    assert 0 < result.stats["ner_chars"] <= ner_scanner.config.ner_window_chars


def test_ner_is_bounded_in_characters(ner_scanner: Scanner) -> None:
    text = "\n".join(f"連絡先 {i}: 090-5555-{i:04d}" for i in range(500))
    result = ner_scanner.scan([Segment(text=text, kind="attachment")])
    assert result.stats["ner_chars"] <= ner_scanner.config.ner_window_chars


def test_no_network_during_a_scan(ner_scanner: Scanner, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network call during a scan: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    segs = [
        Segment(text=QUOTED_REPLY.format(sig=SIGNATURE), kind="body"),
        Segment(text="ご担当: ジョン・スミス 090-1234-5678 a@b.example.com", kind="body"),
    ]
    assert ner_scanner.scan(segs).personal
    # a fresh scanner, models loaded with the network refused
    assert Scanner(ScanConfig(ner_window_chars=0)).scan(segs).personal
