"""Names in addressee positions, and only there (table-driven)."""

from __future__ import annotations

import pytest

from gateway.content import AttachmentInfo, Extraction, Segment
from gateway.recipients.addressees import (
    ATTACHMENT,
    BODY,
    FILE_NAME,
    SUBJECT,
    addressees_of,
    from_file_name,
    from_greeting,
    from_subject,
)

GREETINGS = [
    # text, kind, org key, person key
    ("株式会社エグザンプル 営業部 山田様\n\nいつもお世話になっております。", "org", "エグザンプル", "山田"),
    ("㈱エグザンプル\n営業部\n山田 太郎様\n\nいつもお世話になっております。", "org", "エグザンプル", "山田太郎"),
    ("エグザンプル様\nお世話になっております。", "name", "エグザンプル", "エグザンプル"),
    ("(株)エグザンプル 御中\n\n平素より", "org", "エグザンプル", ""),
    ("エグザンプル 山田様\n\nお世話になります。", "org", "エグザンプル", "山田"),
    ("北斗物産株式会社\n総務部 佐藤 花子 様\n", "org", "北斗物産", "佐藤花子"),
    ("山田 太郎様\n\nお世話になります。", "person", "", "山田太郎"),
    ("山田様\n\nお世話になります。", "name", "山田", "山田"),
    ("Dear Mr. Smith,\n\nThank you for your mail.", "person", "", "smith"),
    ("Dear John Smith,\n\nThank you.", "person", "", "johnsmith"),
    ("To: 株式会社エグザンプル 御中\n\n", "org", "エグザンプル", ""),
    ("株式会社エグザンプル\n関係者各位\n\nお世話になります。", "org", "エグザンプル", ""),
]


@pytest.mark.parametrize(("text", "kind", "org", "person"), GREETINGS)
def test_greeting_block(text: str, kind: str, org: str, person: str) -> None:
    (a,) = from_greeting(text)
    assert (a.kind, a.org_key, a.person_key) == (kind, org, person)
    assert a.where == BODY


@pytest.mark.parametrize(
    "text",
    [
        "みなと銀行様との打ち合わせの件でご連絡します。\n",  # a mention in a sentence
        "いつもお世話になっております。\n株式会社エグザンプル 山田様からのご紹介です。\n",
        "関係者各位\n\nお知らせです。",  # a group, no name
        "Dear all,\n\nhello",
        "Dear Sir or Madam,\n",
        "お世話になっております。\n\n株式会社エグザンプル 山田様\n",  # not at the top
        "> 株式会社エグザンプル 山田様\n> お世話になっております。\n",  # quoted
        "",
    ],
)
def test_not_an_addressee(text: str) -> None:
    assert from_greeting(text) == []


@pytest.mark.parametrize(
    ("name", "keys"),
    [
        ("エグザンプル様_御見積書.xlsx", ["エグザンプル"]),
        ("北斗物産御中_請求書.pdf", ["北斗物産"]),
        ("【みなと銀行様】ご提案書.pptx", ["みなと銀"]),
        ("エグザンプル向け_提案書.docx", ["エグザンプル"]),
        ("御見積書_2024.xlsx", []),
        ("株式会社エグザンプル_会社案内.pdf", []),  # no honorific: could be anyone's own name
    ],
)
def test_file_names(name: str, keys: list[str]) -> None:
    found = from_file_name(name)
    assert [a.org_key for a in found] == keys
    assert all(a.where == FILE_NAME and a.attachment == name for a in found)


def test_subject_brackets_only() -> None:
    assert [a.org_key for a in from_subject("【エグザンプル様】お見積りの件")] == ["エグザンプル"]
    assert from_subject("エグザンプル様との打ち合わせ") == []


def test_attachment_first_lines_each_honorific_line() -> None:
    found = from_greeting("請求書\nみなと銀行 御中\n\n株式会社サンプル\n東京都...", ATTACHMENT, "請求書.pdf")
    assert [(a.org_key, a.where, a.attachment) for a in found] == [("みなと銀", ATTACHMENT, "請求書.pdf")]


def test_addressees_of_a_whole_extraction() -> None:
    ex = Extraction(
        segments=[
            Segment("【北斗物産様】ご請求", "subject", field="Subject"),
            Segment("株式会社エグザンプル 山田様\n\nみなと銀行様の件です。", "body", part="1"),
            Segment("> 株式会社ほかの会社 田中様", "body", part="1", quoted=True),
            Segment("御見積書\t\nさくら商事 御中\t\n品目\t金額", "table", attachment="q.xlsx"),
        ],
        attachments=[AttachmentInfo("q.xlsx", "xlsx", 1000), AttachmentInfo("青空様_資料.pdf", "pdf", 1000)],
    )
    found = [(a.where, a.org_key) for a in addressees_of(ex)]
    assert found == [
        (SUBJECT, "北斗物産"),
        (BODY, "エグザンプル"),
        (FILE_NAME, "青空"),
        (ATTACHMENT, "さくら商事"),
    ]


def test_several_addressees_in_one_greeting_block() -> None:
    found = from_greeting("株式会社エグザンプル\n営業部 山田様\nCC: 北斗物産株式会社 佐藤様\n\nお世話になります。")
    assert [(a.org_key, a.person_key) for a in found] == [("エグザンプル", "山田"), ("北斗物産", "佐藤")]


@pytest.mark.parametrize(
    ("text", "org", "person"),
    [
        ("株式会社エグザンプル\n営業部 部長 山田 太郎 様\n\nお世話に", "エグザンプル", "山田太郎"),
        ("エグザンプル株式会社　御中\n", "エグザンプル", ""),
        ("株式会社エグザンプル 山田様、\nお世話になっております。", "エグザンプル", "山田"),
    ],
)
def test_greeting_variants(text: str, org: str, person: str) -> None:
    (a,) = from_greeting(text)
    assert (a.org_key, a.person_key) == (org, person)
