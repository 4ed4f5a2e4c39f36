"""MIME structure: bodies, HTML tables, quoted replies, calendar, forwarded and attached messages,
ambiguity, malformed structure, encryption, and the MIME limits."""

from __future__ import annotations

import pickle
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

from extract_fixtures import attach, mail, xlsx

from gateway.content import Segment
from gateway.extract import Extraction, ExtractLimits, extract_message
from gateway.extract.normalise import normalise

L = ExtractLimits()


def segs(x: Extraction, kind: str) -> list[Segment]:
    return [s for s in x.segments if s.kind == kind]


def reasons(x: Extraction) -> list[tuple[str, str]]:
    return [(f.entity, f.reason) for f in x.findings]


def test_plain_and_html_bodies_with_table_rows_and_quotes() -> None:
    m = MIMEMultipart("alternative")
    m["Subject"] = "名簿"
    m.attach(MIMEText("新しい本文 山田\n\n> 以前のメール 鈴木 090-1111-2222\n> 続き\n", "plain", "utf-8"))
    html = (
        "<html><body><p>ご確認ください。</p><table><tr><th>氏名</th><th>電話番号</th></tr>"
        "<tr><td>山田 太郎</td><td>090-1234-5678</td></tr><tr><td>鈴木 花子</td><td>080-2345-6789</td></tr>"
        "</table><blockquote>引用 髙橋</blockquote><script>var x='hidden';</script></body></html>"
    )
    m.attach(MIMEText(html, "html", "utf-8"))
    x = extract_message(m.as_bytes(), L)
    plain = [s for s in segs(x, "body") if s.content_type == "text/plain"]
    assert [(s.quoted, s.text.strip()) for s in plain] == [
        (False, "新しい本文 山田"),
        (True, "> 以前のメール 鈴木 090-1111-2222\n> 続き"),
    ]
    html_bodies = [(s.quoted, s.text) for s in segs(x, "body") if s.content_type == "text/html"]
    assert html_bodies == [(False, "ご確認ください。"), (True, "引用 髙橋")]
    (table,) = segs(x, "table")
    assert table.header == ("氏名", "電話番号")
    assert table.text.split("\n") == ["氏名\t電話番号", "山田 太郎\t090-1234-5678", "鈴木 花子\t080-2345-6789"]
    assert table.rows == 2 and table.row_at(table.text.index("鈴木")) == 3
    assert table.where == "table text/html › rows 2-3 › part 2"
    # the script is not shown: it is not in the body, but read as a segment of its own
    assert all("hidden" not in s.text for s in x.segments if s.kind != "hidden")
    (script,) = segs(x, "hidden")
    assert script.field == "HTML script" and "var x='hidden'" in script.text


def test_original_message_separator_marks_the_rest_quoted() -> None:
    body = "了解です。\n\n-----Original Message-----\nFrom: 山田\n会員番号 12345\n"
    m = mail(body)
    x = extract_message(m.as_bytes(), L)
    quoted = [s.text for s in segs(x, "body") if s.quoted]
    assert quoted and "会員番号 12345" in quoted[0]


def test_calendar_part_keeps_attendee_names_and_description() -> None:
    ics = (
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:面談 山田様\r\nDESCRIPTION:連絡先 090-1234-5678\\n住所 東京\r\n"
        " 都千代田区\r\nATTENDEE;CN=鈴木 花子:mailto:hanako@example.jp\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    m = mail()
    m.attach(MIMEText(ics, "calendar", "utf-8"))
    (cal,) = segs(extract_message(m.as_bytes(), L), "calendar")
    assert "SUMMARY: 面談 山田様" in cal.text
    assert "連絡先 090-1234-5678\n住所 東京都千代田区" in cal.text
    assert "ATTENDEE: 鈴木 花子 mailto:hanako@example.jp" in cal.text


def test_forwarded_message_inline_and_as_eml_attachment() -> None:
    inner = mail("転送元の本文 鈴木 花子 080-2345-6789", subject="元の件名")
    attach(inner, xlsx(2), "申込者一覧.xlsx")
    outer = mail("FYI")
    outer.attach(MIMEMessage(inner))
    eml = MIMEMessage(inner)
    eml.add_header("Content-Disposition", "attachment", filename="fwd.eml")
    outer.attach(eml)
    x = extract_message(outer.as_bytes(), L)
    subjects = [(s.part, s.attachment, s.text) for s in segs(x, "subject")]
    assert ("2", "", "元の件名") in subjects
    assert ("3", "fwd.eml", "元の件名") in subjects
    tables = [(s.where, s.rows) for s in segs(x, "table")]
    assert ("attachment 申込者一覧.xlsx › sheet 明細 › rows 2-3 › part 2.2", 2) in tables
    assert ("attachment fwd.eml › 申込者一覧.xlsx › sheet 明細 › rows 2-3 › part 3.2", 2) in tables
    bodies = [s.where for s in segs(x, "body") if "転送元" in s.text]
    assert bodies == ["body text/plain › part 2.1", "attachment fwd.eml › body › part 3.1"]


def test_eml_detected_by_content_with_a_misleading_name() -> None:
    inner = mail("中身 山田", subject="内側")
    m = mail()
    attach(m, inner.as_bytes(), "report.dat")
    x = extract_message(m.as_bytes(), L)
    assert [a.detected_type for a in x.attachments] == ["eml"]
    assert any(s.attachment == "report.dat" and s.text == "内側" for s in segs(x, "subject"))


def test_duplicate_content_type_is_flagged_and_both_readings_scanned() -> None:
    raw = (
        b"Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b'Content-Type: multipart/mixed; boundary="zz"\r\n\r\n'
        b"--zz\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhidden 090-1234-5678\r\n"
        b'--zz\r\nContent-Type: text/csv; name="a.csv"\r\nContent-Disposition: attachment; filename="a.csv"\r\n\r\n'
        b"name,phone\r\nyamada,090-1111-2222\r\nsuzuki,080-1111-2222\r\n--zz--\r\n"
    )
    x = extract_message(raw, L)
    assert ("AMBIGUOUS_MIME", "duplicate-content-type") in reasons(x)
    parts = {s.part for s in x.segments}
    assert "1" in parts  # the first reading: one text/plain body
    assert {"#2.1", "#2.2"} <= parts  # the other reading: the multipart
    assert any(s.kind == "table" and s.attachment == "a.csv" and s.rows == 2 for s in x.segments)


def test_duplicate_boundary_parameters_read_both_ways() -> None:
    raw = (
        b'Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="aa"; boundary="bb"\r\n\r\n'
        b"--aa\r\nContent-Type: text/plain\r\n\r\nfirst reading\r\n--aa--\r\n"
        b"--bb\r\nContent-Type: text/plain\r\n\r\nsecond reading 090-9999-8888\r\n--bb--\r\n"
    )
    x = extract_message(raw, L)
    assert ("AMBIGUOUS_MIME", "duplicate-boundary") in reasons(x)
    texts = " ".join(s.text for s in x.segments)
    assert "first reading" in texts and "second reading 090-9999-8888" in texts


def test_duplicate_transfer_encoding_read_both_ways() -> None:
    raw = (
        b"Subject: x\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n5bGx55SwIDA5MC0xMjM0LTU2Nzg=\r\n"
    )
    x = extract_message(raw, L)
    assert ("AMBIGUOUS_MIME", "duplicate-transfer-encoding") in reasons(x)
    assert any(s.text.strip() == "山田 090-1234-5678" and s.part == "#2" for s in x.segments)


def test_multipart_without_its_boundary_is_malformed_and_read_as_text() -> None:
    raw = 'Subject: x\r\nContent-Type: multipart/mixed; boundary="nope"\r\n\r\n--other\r\n\r\nsecret 山田\r\n'.encode()
    x = extract_message(raw, L)
    assert ("UNSCANNABLE", "malformed-mime") in reasons(x)
    assert any("secret 山田" in s.text for s in x.segments)


def test_deeply_nested_mime_stops_at_the_limit() -> None:
    raw = b"Subject: deep\r\n"
    for i in range(60):
        raw += b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i)
    raw += b"Content-Type: text/plain\r\n\r\nbottom\r\n"
    x = extract_message(raw, L)
    assert ("UNSCANNABLE", "limit-mime-depth") in reasons(x)
    very_deep = b"Subject: deep\r\n" + b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i) for i in range(5000)
    )
    assert ("UNSCANNABLE", "limit-mime-depth") in reasons(extract_message(very_deep, L))


def test_too_many_parts() -> None:
    m = mail()
    for i in range(12):
        m.attach(MIMEText(f"part {i}", "plain"))
    x = extract_message(m.as_bytes(), ExtractLimits(max_mime_parts=5))
    assert ("UNSCANNABLE", "limit-mime-parts") in reasons(x)


def test_smime_encrypted_and_signatures() -> None:
    enc = MIMEMultipart()
    enc["Subject"] = "s"
    from email.mime.application import MIMEApplication

    p7m = MIMEApplication(b"\x30\x80" + b"\x01" * 64, "pkcs7-mime", name="smime.p7m")
    enc.attach(p7m)
    sig = MIMEApplication(b"\x30\x82\x01\x00" + b"\x02" * 64, "pkcs7-signature", name="smime.p7s")
    enc.attach(sig)
    x = extract_message(enc.as_bytes(), L)
    assert reasons(x) == [("UNSCANNABLE", "encrypted-message")]
    pgp = (
        b'Subject: p\r\nContent-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary=q\r\n\r\n'
        b"--q\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n--q--\r\n"
    )
    assert reasons(extract_message(pgp, L)) == [("UNSCANNABLE", "encrypted-message")]


def test_normalised_text_maps_back_to_source_offsets() -> None:
    m = mail("電話：０９０ー１２３４ー５６７８　㈱山田")
    (body,) = segs(extract_message(m.as_bytes(), L), "body")
    assert body.text == "電話:090-1234-5678 (株)山田"
    i = body.text.index("山田")
    assert body.source[body.source_offset(i) :].startswith("山田")
    assert body.source[body.source_offset(body.text.index("090"))] == "０"


def test_extraction_is_picklable_and_never_raises_on_garbage() -> None:
    for raw in (b"", b"\x00\xff" * 100, b"Content-Type: multipart/mixed\r\n\r\n", "鈴木".encode() * 10):
        x = extract_message(raw, L)
        assert isinstance(x, Extraction)
        pickle.loads(pickle.dumps(x))
    x = extract_message("not bytes", L)  # type: ignore[arg-type]
    assert reasons(x) == [("UNSCANNABLE", "internal-error")]


def test_normalise_dashes_only_between_digits() -> None:
    assert normalise("ラーメン 03ー1234−5678 ｺｰﾋｰ")[0] == "ラーメン 03-1234-5678 コーヒー"
