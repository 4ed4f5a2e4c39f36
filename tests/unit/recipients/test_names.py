"""Organisation and person names reduced to keys that compare (table-driven)."""

from __future__ import annotations

import pytest

from gateway.recipients.names import has_legal_form, is_org_like, org_key, person_key, short_forms, surname_key

SAME_ORG = [
    ("株式会社エグザンプル", "エグザンプル"),
    ("(株)エグザンプル", "エグザンプル"),
    ("（株）エグザンプル", "エグザンプル"),
    ("㈱エグザンプル", "エグザンプル"),
    ("エグザンプル株式会社", "エグザンプル"),
    ("株式会社　エグザンプル 御中", "エグザンプル"),
    ("ｴｸﾞｻﾞﾝﾌﾟﾙ様", "エグザンプル"),
    ("エグザンプル社", "エグザンプル"),
    ("エグザンプル殿", "エグザンプル"),
    ("有限会社北斗物産", "北斗物産"),
    ("合同会社 北斗物産", "北斗物産"),
    ("一般社団法人みなと協会", "みなと協会"),
    ("みなと銀行", "みなと銀"),
    ("Example Co., Ltd.", "example"),
    ("Example Inc.", "example"),
    ("EXAMPLE Corporation", "example"),
    ("ＥＸＡＭＰＬＥ株式会社", "example"),
    ("北斗ホールディングス株式会社", "北斗hd"),
    ("北斗HD", "北斗hd"),
]


@pytest.mark.parametrize(("written", "key"), SAME_ORG)
def test_org_key_removes_legal_forms_honorifics_and_width(written: str, key: str) -> None:
    assert org_key(written) == key


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("北斗物産", "北斗商事"),
        ("株式会社北斗物産", "北斗商事株式会社"),
        ("みなと銀行", "みなと証券"),
        ("木村印刷", "木村食品"),
    ],
)
def test_similar_company_names_stay_different(a: str, b: str) -> None:
    assert org_key(a) != org_key(b)


@pytest.mark.parametrize(
    ("key", "short"),
    [("北斗物産", ("北斗",)), ("北斗商事", ("北斗",)), ("みなと銀", ("みなと",)), ("エグザンプル", ()), ("北斗", ())],
)
def test_short_forms(key: str, short: tuple[str, ...]) -> None:
    assert short_forms(key) == short


@pytest.mark.parametrize(
    ("written", "key"),
    [
        ("山田 太郎", "山田太郎"),
        ("山田　太郎様", "山田太郎"),
        ("山田 部長", "山田"),
        ("営業部長 山田", "山田"),
        ("Mr. John Smith", "johnsmith"),
        ("Dr Smith", "smith"),
        ("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダタロウ"),
    ],
)
def test_person_key(written: str, key: str) -> None:
    assert person_key(written) == key


@pytest.mark.parametrize(
    ("display", "surname"),
    [
        ("山田 太郎", "山田"),
        ("John Smith", "smith"),
        ("Smith, John", "smith"),
        ("山田太郎", ""),
        ("山田 太郎 (営業部)", "山田"),
    ],
)
def test_surname_key(display: str, surname: str) -> None:
    assert surname_key(display) == surname


@pytest.mark.parametrize(
    ("text", "org"),
    [
        ("株式会社エグザンプル", True),
        ("(株)エグザンプル", True),
        ("北斗物産", True),
        ("Example Inc.", True),
        ("山田", False),
    ],
)
def test_org_like(text: str, org: bool) -> None:
    assert is_org_like(text) is org
    if "株" in text or "Inc" in text:
        assert has_legal_form(text)
