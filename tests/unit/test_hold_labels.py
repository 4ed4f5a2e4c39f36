"""The one table of labels (gateway/hold/labels.py) keeps up with every code the gateway produces,
and message text becomes one safe line (gateway/mail/safe_text.py) whatever it holds."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from gateway.content import SEP
from gateway.hold.labels import ENTITIES, EVENTS, OUTCOMES, SIGNALS, STATES, Labels, when
from gateway.hold.model import HoldState, Outcome
from gateway.mail.safe_text import defang, one_line, quoted
from gateway.recipients.reasons import CODES
from gateway.scan.model import BULK
from gateway.scan.recognizers import ENTITIES as SCANNED
from gateway.unscannable import Reason as ExtractReason

ROOT = Path(__file__).resolve().parents[2]
BREAKS = "\r\n\v\f\x85\u2028\u2029"


def test_every_code_has_a_japanese_and_an_english_label() -> None:
    assert set(SCANNED) | {BULK, "UNSCANNABLE", "AMBIGUOUS_MIME"} <= set(ENTITIES)
    assert set(CODES) <= set(SIGNALS)
    assert {s.value for s in HoldState} <= set(STATES)
    logged = set(re.findall(r'change\.log\(\s*"([a-z_]+)"', (ROOT / "gateway/hold/transitions.py").read_text()))
    logged |= {"delay_over", "expired_released", "held", "delivery_failed", "cancelled"}
    assert logged <= set(EVENTS), logged - set(EVENTS)
    ja = Labels("ja")
    assert {o.value for o in Outcome} <= set(OUTCOMES)
    for r in ExtractReason:
        assert ja.reason(r.value) != r.value and re.search(r"[ぁ-んァ-ン一-龥]", ja.reason(r.value))
    for table in (ENTITIES, SIGNALS, STATES, EVENTS):
        for code, (j, e) in table.items():
            assert j and e, code


def test_labels_in_words() -> None:
    ja, en = Labels("ja"), Labels("en")
    assert ja.entity("PERSON") == "氏名" and ja.entity("JP_ADDRESS") == "住所"
    assert ja.signal("first_time_org") == "初めての送信先組織" and ja.signal("external") == "社外"
    assert ja.signals(["external", "first_time_sender"]) == "初めての送信先"
    where = f"attachment 名簿.xlsx{SEP}sheet 明細{SEP}rows 2-21{SEP}part 2"
    assert ja.where(where) == "添付ファイル「名簿.xlsx」 › シート「明細」 › 2〜21行目 › パート 2"
    assert en.where(where) == 'attachment "名簿.xlsx" › sheet "明細" › rows 2–21 › part 2'
    assert ja.where(f"attachment a.zip{SEP}inner/b.csv{SEP}row 5") == "添付ファイル「a.zip」 › 「inner/b.csv」 › 5行目"
    assert ja.where("header Subject") == "件名" and ja.where("header X-Mailer") == "ヘッダー X-Mailer"
    assert ja.count(5572) == "5,572件" and en.count(5572) == "5,572"
    # the places the extraction names itself are words too; a real sheet of that name stays quoted
    assert (
        ja.where(f"attachment a.docx{SEP}sheet document properties{SEP}part 2")
        == "添付ファイル「a.docx」 › 文書のプロパティ › パート 2"
    )
    assert ja.where(f"attachment logo.png{SEP}sheet metadata") == "添付ファイル「logo.png」 › 画像のメタデータ"
    assert ja.where(f"attachment scan.png{SEP}OCR") == "添付ファイル「scan.png」 › 画像の文字 (OCR)"
    assert en.where(f"attachment scan.png{SEP}OCR") == 'attachment "scan.png" › text in the image (OCR)'
    assert ja.entity("NEW_ENTITY\nX") == "NEW_ENTITY X"  # unknown codes show, as one line


def test_times_carry_their_zone() -> None:
    t = 1_764_900_000.0  # 2025-12-05 02:00 UTC
    assert when(t, "ja", "Asia/Tokyo") == "2025年12月5日(金) 11:00 JST"
    assert when(t, "en", "UTC") == "Fri 5 Dec 2025 02:00 UTC"


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=400), st.integers(min_value=1, max_value=300))
def test_one_line_is_one_short_line_without_controls(text: str, limit: int) -> None:
    line = one_line(text, limit)
    assert len(line) <= limit
    assert not any(c in line for c in BREAKS)
    assert not re.search(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]", line)


@given(st.text(max_size=200))
def test_quoted_text_has_no_link_a_mail_program_would_make(text: str) -> None:
    q = quoted("x " + text + " http://evil.example/a www.evil.example HTTPS://x", "ja")
    assert q.startswith("「") and q.endswith("」") and "」" not in q[1:-1]
    assert not re.search(r"(?i)\b[a-z][a-z0-9+.\-]*://", q) and not re.search(r"(?i)\bwww\.", q)


def test_defang_examples() -> None:
    assert defang("see http://x.example/a and www.y.example") == "see http[:]//x.example/a and www[.]y.example"
    assert quoted('a "b" c', "en") == "\"a 'b' c\""
    assert quoted("", "ja") == ""
