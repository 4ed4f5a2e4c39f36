"""Property (issue 14): for any generated message, every piece of text a mail client could show,
or that travels in a text part, is in a segment, or the message has an UNSCANNABLE finding.

Messages are built from random places (header fields, display names, plain and HTML bodies in
several charsets, hidden HTML, MIME preamble and epilogue, file names in RFC 2231 or encoded words,
text and CSV attachments, uuencoded blocks, forwarded messages, Word headers and bodies, PDF form
fields and annotations, xlsx cell comments and formula literals, EMF/WMF/SVG pictures in a docx, an
SVG image in an HTML srcset), each holding a unique marker ("zq" and eight digits)
whose digits may be split by characters that hide them (zero-width, joiners, soft hyphen, BOM,
combining marks)."""

from __future__ import annotations

import base64
from email import encoders
from email.header import Header
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.extract import extract_message
from tests.unit.extract import coverage_fixtures as cf
from tests.unit.extract import picture_fixtures as pf
from tests.unit.extract.extract_fixtures import pdf

BLANK = pdf(["ご確認ください。"])

HIDERS = ["", "", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u0301", "\ufe0f", "\u200e"]
HEADER_PLACES = ["Subject", "X-Note", "Comments", "Keywords", "To-name"]
HTML_PLACES = ["text", "comment", "script", "style", "alt", "title", "data-x", "value", "noscript", "template"]
BODY_CHARSETS = ["utf-8", "iso-2022-jp", "shift_jis", "euc-jp"]
PLACES = [
    *(f"header:{h}" for h in HEADER_PLACES),
    "plain",
    *(f"html:{p}" for p in HTML_PLACES),
    "preamble",
    "epilogue",
    "filename-2231",
    "filename-encoded-word",
    "text-attachment",
    "csv-attachment",
    "uuencoded",
    "forwarded",
    "docx-header",
    "docx-body",
    "xlsx-comment",
    "pdf-field",
    "pdf-annotation",
    "docx-emf",
    "docx-wmf",
    "docx-svg",
    "xlsx-formula",
    "html-srcset-svg",
]


@st.composite
def marker(draw: st.DrawFn) -> tuple[str, str]:
    """(marker, the marker as written: hiding characters between its digits)."""
    digits = draw(st.text("0123456789", min_size=8, max_size=8))
    hider = draw(st.sampled_from(HIDERS))
    written = "zq" + hider.join(digits)
    return "zq" + digits, written


def _html(place: str, text: str) -> str:
    return {
        "text": f"<p>{text}</p>",
        "comment": f"<!-- {text} -->",
        "script": f"<script>var a = '{text}';</script>",
        "style": f"<style>/* {text} */</style>",
        "alt": f'<img src="cid:x" alt="{text}">',
        "title": f'<span title="{text}">x</span>',
        "data-x": f'<div data-x="{text}"></div>',
        "value": f'<input type="hidden" value="{text}">',
        "noscript": f"<noscript>{text}</noscript>",
        "template": f"<template><p>{text}</p></template>",
    }[place]


def _attachment(data: bytes, name: str, ctype: str = "application/octet-stream") -> MIMEBase:
    main, sub = ctype.split("/")
    part = MIMEBase(main, sub)
    part.set_payload(data)
    encoders.encode_base64(part)
    part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", name))
    return part


def build(placed: list[tuple[str, str]], charset: str) -> bytes:
    m = MIMEMultipart()
    m["From"] = "taro@example.co.jp"
    to_name = "鈴木"
    body = "お世話になっております。\n"
    html: list[str] = []
    preamble = epilogue = ""
    parts: list[Message] = []
    for place, text in placed:
        kind, _, sub = place.partition(":")
        if kind == "header":
            if sub == "To-name":
                to_name += f" {text}"
            else:
                m[sub] = Header(f"件名 {text}", "utf-8").encode()
        elif kind == "plain":
            body += f"本文 {text}\n"
        elif kind == "html":
            html.append(_html(sub, text))
        elif kind == "preamble":
            preamble += f"{text}\n"
        elif kind == "epilogue":
            epilogue += f"{text}\n"
        elif kind == "filename-2231":
            parts.append(_attachment(b"x", f"資料_{text}.txt", "text/plain"))
        elif kind == "filename-encoded-word":
            part = MIMEBase("application", "octet-stream")
            part.set_payload(base64.b64encode(b"x").decode())
            part["Content-Transfer-Encoding"] = "base64"
            part["Content-Disposition"] = f'attachment; filename="{Header(f"資料_{text}.txt", "utf-8").encode()}"'
            parts.append(part)
        elif kind == "text-attachment":
            memo = f"メモ {text}\n"
            data = memo.encode("cp932") if _fits(memo) else memo.encode()  # Shift_JIS when it can carry it
            parts.append(_attachment(data, "memo.txt", "text/plain"))
        elif kind == "csv-attachment":
            parts.append(_attachment(f"氏名,番号\n山田,{text}\n".encode(), "list.csv", "text/csv"))
        elif kind == "uuencoded":
            body += cf.uuencode(f"内容 {text}\n".encode(), "inner.txt")
        elif kind == "forwarded":
            inner = MIMEText(f"転送 {text}", "plain", "utf-8")
            inner["Subject"] = "転送"
            parts.append(MIMEMessage(inner))
        elif kind == "docx-header":
            parts.append(_attachment(cf.docx_with(header=text), "a.docx"))
        elif kind == "docx-body":
            parts.append(_attachment(cf.docx_with(body_extra=cf.w_p(text)), "b.docx"))
        elif kind == "xlsx-comment":
            parts.append(_attachment(cf.xlsx_with(comment=text), "c.xlsx"))
        elif kind == "pdf-field":
            parts.append(_attachment(cf.pdf_with(BLANK, field_value=text), "d.pdf", "application/pdf"))
        elif kind == "pdf-annotation":
            parts.append(_attachment(cf.pdf_with(BLANK, annotation=text), "e.pdf", "application/pdf"))
        elif kind == "docx-emf":
            drawing = pf.emf(pf.exttextoutw(f"図 {text}"))
            parts.append(_attachment(pf.docx_with_picture(drawing, "image1.emf", "image/x-emf"), "f.docx"))
        elif kind == "docx-wmf":  # 8-bit text: what Shift_JIS cannot carry is dropped as a writer would
            drawing = pf.wmf_text(f"図 {text}".encode("cp932", "ignore").decode("cp932"))
            parts.append(_attachment(pf.docx_with_picture(drawing, "image2.wmf", "image/x-wmf"), "g.docx"))
        elif kind == "docx-svg":
            parts.append(_attachment(pf.docx_with_picture(pf.svg(text), "image3.svg", "image/svg+xml"), "h.docx"))
        elif kind == "xlsx-formula":
            parts.append(_attachment(_xlsx_formula(text), "i.xlsx"))
        elif kind == "html-srcset-svg":
            svg = quote(pf.svg(text).decode().split("?>", 1)[1])
            html.append(f'<img srcset="data:image/svg+xml;charset=utf-8,{svg} 1x" src="x.png">')
    m["To"] = Header(to_name, "utf-8").encode() + " <hanako@partner.example>"
    try:
        body.encode(charset)
        m.attach(MIMEText(body, "plain", charset))
    except UnicodeEncodeError:  # hiding characters that the charset cannot carry
        m.attach(MIMEText(body, "plain", "utf-8"))
    if html:
        m.attach(MIMEText("<html><body><p>x</p>" + "".join(html) + "</body></html>", "html", "utf-8"))
    for part in parts:
        m.attach(part)
    raw = m.as_bytes()
    if preamble or epilogue:  # written as raw UTF-8 around the parts
        head, sep, rest = raw.partition(b"\n\n")
        boundary = ("--" + m.get_boundary()).encode()
        first = rest.index(boundary)
        raw = head + sep + preamble.encode() + rest[first:].rstrip(b"\n") + b"\n" + epilogue.encode()
    return raw


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    st.lists(st.tuples(st.sampled_from(PLACES), marker()), min_size=1, max_size=6),
    st.sampled_from(BODY_CHARSETS),
)
def test_every_travelling_text_is_in_a_segment_or_unscannable(
    placed: list[tuple[str, tuple[str, str]]], charset: str
) -> None:
    raw = build([(place, written) for place, (_, written) in placed], charset)
    x = extract_message(raw)
    if x.unscannable:
        return  # covered: the message is held for what could not be read
    texts = [s.text for s in x.segments]
    missing = [(place, plain) for place, (plain, _) in placed if not any(plain in t for t in texts)]
    assert not missing, (missing, [(s.where, s.text[:80]) for s in x.segments])


def _xlsx_formula(text: str) -> bytes:
    import io

    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    book.add_worksheet("s").write_formula("A1", f'="{text}"')
    book.close()
    return out.getvalue()


def _fits(text: str) -> bool:
    try:
        text.encode("cp932")
    except UnicodeEncodeError:
        return False
    return True
