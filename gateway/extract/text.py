"""Text formats: plain text (with quoted-reply runs), CSV/TSV tables, HTML, iCalendar."""

from __future__ import annotations

import csv
import io
import re

from gateway.extract.charset import Decoded, decode_text
from gateway.extract.context import Context, Where
from gateway.extract.detect import utf16_guess
from gateway.extract.html import html_to_text
from gateway.unscannable import Reason

_QUOTE_START = re.compile(
    r"^\s*(-{2,}\s*(original message|forwarded message|元のメッセージ|転送されたメッセージ|転送メッセージ)"
    r"\s*-{2,}|from:\s.*|差出人[:：].*|on .{4,200} wrote:|.{4,200}(が|は)書きました[:：]?"
    r"|.{4,200}のメッセージ[:：]|_{10,})\s*$",
    re.I,
)
# Every line _QUOTE_START matches holds one of these, and so does every line quoted with '>' or '＞'
# (':' for "from:" and "wrote:", 'message' as re.I reads it): a text without any has no quoted run.
# Written to start with a class, so that the search skips in C to the next place one can start.
_QUOTE_HINT = re.compile(
    r"[:>＞差書メ_mM](?:(?<=[:>＞])|(?<=差)出人|(?<=書)きました|(?<=メ)ッセージ|(?<=_)_{9}|(?<=[mM])(?i:essage))"
)


def decode(ctx: Context, data: bytes, declared: str | None, where: Where) -> Decoded:
    """Decode and report text that is mostly undecodable."""
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        guess = utf16_guess(data[:65536])
        if guess:
            text = data.decode(guess, errors="replace")
            return Decoded(text, guess, text.count("\ufffd"))
    dec = decode_text(data, declared)
    if dec.replaced and dec.replaced > ctx.limits.max_undecodable_ratio * max(1, len(dec.text)):
        ctx.unscannable(
            Reason.UNDECODABLE_TEXT,
            f"{dec.replaced} of {len(dec.text)} characters could not be decoded (as {dec.charset})",
            where,
        )
    return dec


def quoted_runs(text: str) -> list[tuple[bool, str]]:
    """Split a plain-text body into runs of new and quoted text ('>' lines, and everything after an
    'Original Message' / 'On ... wrote:' separator)."""
    if _QUOTE_HINT.search(text) is None:  # no line is quoted: one run of new text (most mail)
        return [(False, text)] if text else []
    runs: list[tuple[bool, list[str]]] = []
    after_separator = False
    for line in text.splitlines(keepends=True):
        if not after_separator and _QUOTE_START.match(line):
            after_separator = True
        quoted = after_separator or line.lstrip().startswith((">", "＞"))
        if runs and runs[-1][0] == quoted:
            runs[-1][1].append(line)
        elif line.strip() or not runs:
            runs.append((quoted, [line]))
        else:
            runs[-1][1].append(line)
    return [(q, "".join(lines)) for q, lines in runs]


def read_plain_body(ctx: Context, text: str, where: Where, content_type: str, charset: str) -> None:
    for quoted, run in quoted_runs(text):
        ctx.text(run, "body", where, content_type, quoted=quoted, charset=charset)


def read_html(
    ctx: Context, html: str, kind: str, where: Where, content_type: str = "text/html", charset: str = ""
) -> None:
    parsed = html_to_text(html)
    for quoted, run in parsed.runs:
        if kind == "body" and not quoted:
            read_plain_body(ctx, run, where, content_type, charset)
        else:
            ctx.text(run, kind, where, content_type, quoted=quoted, charset=charset)
    for table in parsed.tables:
        ctx.table(table.rows, where, content_type, quoted=table.quoted, charset=charset)
    for place, texts in parsed.hidden.items():
        ctx.text("\n".join(texts), "hidden", where, content_type, field=place, charset=charset)


def read_table_text(ctx: Context, text: str, delimiter: str, where: Where, content_type: str, charset: str) -> None:
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False))
    except csv.Error:
        ctx.text(text, "attachment", where, content_type, charset=charset)
        return
    ctx.table(rows, where, content_type, charset=charset)


def read_calendar(ctx: Context, text: str, kind: str, where: Where, content_type: str = "text/calendar") -> None:
    """iCalendar: unfold, unescape, keep every property with its CN parameter (attendee names)."""
    unfolded = re.sub(r"\r?\n[ \t]", "", text)
    lines: list[str] = []
    for line in unfolded.splitlines():
        name, sep, value = line.partition(":")
        if not sep or name.upper().startswith(("BEGIN", "END", "DTSTAMP", "UID", "SEQUENCE")):
            continue
        prop, *params = name.split(";")
        cn = [p.split("=", 1)[1].strip('"') for p in params if p.upper().startswith("CN=")]
        value = value.replace("\\n", "\n").replace("\\N", "\n").replace("\\,", ",").replace("\\;", ";")
        value = value.replace("\\\\", "\\")
        if prop.upper() == "X-ALT-DESC" or value.lstrip().startswith("<"):
            parsed = html_to_text(value)  # what is not shown of it travels too
            value = "\n".join(
                [
                    *(run for _, run in parsed.runs),
                    *("\t".join(row) for table in parsed.tables for row in table.rows),
                    *(t for ts in parsed.hidden.values() for t in ts),
                ]
            )
        lines.append(f"{prop}: {' '.join(cn) + ' ' if cn else ''}{value}")
    ctx.text("\n".join(lines), kind, where, content_type)
