"""Fuzzing the MIME and attachment paths: no exception escapes extract_message, whatever the input."""

from __future__ import annotations

import pickle

from extract_fixtures import docx, mail, pdf, rtf, with_attachment, xlsx, zip_of
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.extract import Extraction, ExtractLimits, extract_message

L = ExtractLimits(max_decompressed_bytes=8 * 1024 * 1024)

_SEEDS = [
    mail("本文 山田 090-1234-5678").as_bytes(),
    with_attachment(xlsx(3), "a.xlsx"),
    with_attachment(zip_of({"a.csv": "氏名,電話\n山田,090\n".encode("cp932")}), "z.zip"),
    with_attachment(docx(), "d.docx"),
    with_attachment(pdf(["山田"]), "p.pdf"),
    with_attachment(rtf(), "r.rtf"),
]
_TOKENS = [
    b"\r\n",
    b"\r\n\r\n",
    b'Content-Type: multipart/mixed; boundary="b"\r\n',
    b"Content-Type: message/rfc822\r\n",
    b"Content-Transfer-Encoding: base64\r\n",
    b"Content-Transfer-Encoding: quoted-printable\r\n",
    b"--b\r\n",
    b"--b--\r\n",
    b"=?ISO-2022-JP?B?GyRCOzNFRBsoQg==?=",
    b"\x1b$B",
    b"charset=shift_jis",
    b"filename*=utf-8''%E5%B1%B1",
    b"PK\x03\x04",
    b"%PDF-1.7",
    b"{\\rtf1",
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
]


def _check(raw: bytes) -> None:
    x = extract_message(raw, L)
    assert isinstance(x, Extraction)
    assert all(f.entity in ("UNSCANNABLE", "AMBIGUOUS_MIME") for f in x.findings)
    assert all(f.reason != "internal-error" for f in x.findings), x.findings
    pickle.loads(pickle.dumps(x))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_random_bytes(raw: bytes) -> None:
    _check(raw)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(_SEEDS),
    st.lists(
        st.tuples(st.floats(0, 1), st.integers(0, 64), st.one_of(st.sampled_from(_TOKENS), st.binary(max_size=32))),
        max_size=6,
    ),
)
def test_mutated_messages(seed: bytes, edits: list[tuple[float, int, bytes]]) -> None:
    raw = bytearray(seed)
    for where, cut, insert in edits:
        i = int(where * len(raw))
        raw[i : i + cut] = insert
    _check(bytes(raw))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.sampled_from(["utf-8", "iso-2022-jp", "shift_jis", "euc-jp", "utf-16", "utf-7"]))
def test_any_text_in_any_charset(text: str, charset: str) -> None:
    try:
        body = text.encode(charset)
    except UnicodeEncodeError:
        body = text.encode("utf-8", "surrogatepass")
    raw = b"Subject: t\r\nContent-Type: text/plain; charset=" + charset.encode() + b"\r\n\r\n" + body
    _check(raw)
