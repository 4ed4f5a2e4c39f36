"""HTML to text: block elements become line breaks, tables become rows of cells, quoted replies
(<blockquote>, Gmail's gmail_quote) are marked. The stdlib parser never fetches or expands anything.

What travels in the HTML but is not shown as text is kept apart, by place: comments (conditional
comments too), the content of <script>, <style>, <template>, <noscript> (and of <textarea>, <title>
elsewhere in the text), and the attribute values a client shows or sends on (alt, title, value,
placeholder, aria-label, label, content, summary, data-*, mailto: links), so that findings there are
still findings and a rule can tell where they were."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

_BLOCK = frozenset(
    [
        "address",
        "article",
        "aside",
        "br",
        "dd",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "ul",
        "title",
    ]
)
_SKIP = frozenset({"script", "style", "template", "noscript"})
_VOID = frozenset(
    ["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"]
)


@dataclass
class Table:
    rows: list[list[str]] = field(default_factory=list)
    quoted: bool = False


_SHOWN_ATTRS = frozenset(["alt", "title", "value", "placeholder", "aria-label", "label", "content", "summary"])
_MAILTO_ATTRS = frozenset(["href", "action", "src", "cite", "formaction"])


@dataclass
class HtmlText:
    """Text outside tables, split into (quoted, text) runs; the tables; and the hidden places
    ("HTML comment", "HTML script", "attribute alt", ...) with their text, in document order."""

    runs: list[tuple[bool, str]] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    hidden: dict[str, list[str]] = field(default_factory=dict)


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out = HtmlText()
        self._buf: list[str] = []
        self._buf_quoted = False
        self._skip = 0
        self._blockquote = 0
        self._div = 0
        self._quote_divs: list[int] = []
        self._tables: list[Table] = []  # open tables, innermost last
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._pre = 0
        self._skipped: list[str] = []  # names of the open skipped elements, innermost last
        self.hidden = self.out.hidden

    def _hide(self, place: str, text: str) -> None:
        if text and not text.isspace():
            self.hidden.setdefault(place, []).append(text)

    def _attrs(self, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if not value:
                continue
            shown = name in _SHOWN_ATTRS or name.startswith("data-")
            if shown or (name in _MAILTO_ATTRS and value.lstrip()[:7].lower().startswith(("mailto:", "tel:", "sms:"))):
                self._hide(f"attribute {name}", value)

    def handle_comment(self, data: str) -> None:
        self._hide("HTML comment", data)

    def unknown_decl(self, data: str) -> None:  # <![CDATA[...]]> and other marked sections
        self._hide("HTML comment", data)

    def handle_pi(self, data: str) -> None:
        self._hide("HTML comment", data)

    @property
    def quoted(self) -> bool:
        return self._blockquote > 0 or bool(self._quote_divs)

    def _text(self, s: str) -> None:
        if self._tables and len(self._tables) == 1 and self._cell is not None:
            self._cell.append(s)
            return
        if self._tables and self._cell is not None:  # nested table: flatten into the outer cell
            self._cell.append(s)
            return
        if self.quoted != self._buf_quoted:
            self._flush()
            self._buf_quoted = self.quoted
        self._buf.append(s)

    def _flush(self) -> None:
        text = "".join(self._buf)
        if text.strip():
            self.out.runs.append((self._buf_quoted, text))
        self._buf = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if attrs:
            self._attrs(attrs)
        if tag in _SKIP:
            self._skip += 1
            self._skipped.append(tag)
            return
        if tag == "pre":
            self._pre += 1
        if tag == "blockquote":
            self._blockquote += 1
        elif tag == "div":
            self._div += 1
            cls = " ".join(v or "" for k, v in attrs if k in ("class", "id"))
            if "gmail_quote" in cls or "divRplyFwdMsg" in cls or "moz-cite-prefix" in cls:
                self._quote_divs.append(self._div)
        if tag == "table":
            if self._tables and self._cell is not None:
                self._cell.append(" ")
            self._tables.append(Table(quoted=self.quoted))
            return
        if self._tables:
            if len(self._tables) == 1:
                if tag == "tr":
                    self._end_row()
                    self._row = []
                elif tag in ("td", "th"):
                    self._end_cell()
                    if self._row is None:
                        self._row = []
                    self._cell = []
                elif tag in _BLOCK and self._cell is not None:
                    self._cell.append(" ")
            elif self._cell is not None:
                self._cell.append(" ")
            return
        if tag in _BLOCK or tag == "tr":
            self._text("\n")
        elif tag in ("td", "th"):
            self._text("\t")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if attrs:
            self._attrs(attrs)
        if tag in _BLOCK:
            self._text("\n" if not (self._tables and self._cell is not None) else " ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skip = max(0, self._skip - 1)
            if tag in self._skipped:
                del self._skipped[len(self._skipped) - 1 - self._skipped[::-1].index(tag) :]
            return
        if tag == "pre":
            self._pre = max(0, self._pre - 1)
        if tag == "blockquote":
            self._blockquote = max(0, self._blockquote - 1)
        elif tag == "div":
            while self._quote_divs and self._quote_divs[-1] >= self._div:
                self._quote_divs.pop()
            self._div = max(0, self._div - 1)
        if tag == "table" and self._tables:
            table = self._tables.pop()
            if self._tables:
                if self._cell is not None:
                    self._cell.append(" ")
            else:
                self._end_row()
                self._flush()
                if table.rows:
                    self.out.tables.append(table)
            return
        if self._tables and len(self._tables) == 1:
            if tag in ("td", "th"):
                self._end_cell()
            elif tag == "tr":
                self._end_row()
            return
        if tag in _BLOCK and tag not in _VOID and not self._tables:
            self._text("\n")

    def _end_cell(self) -> None:
        if self._cell is not None:
            if self._row is None:
                self._row = []
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None

    def _end_row(self) -> None:
        self._end_cell()
        if self._row is not None and self._tables:
            if any(c for c in self._row):
                self._tables[-1].rows.append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            self._hide(f"HTML {self._skipped[-1] if self._skipped else 'script'}", data)
            return
        if self._pre:
            self._text(data)
            return
        # Source line breaks are spaces in HTML; keep a space at the edges so words stay apart.
        collapsed = " ".join(data.split())
        if collapsed:
            lead = " " if data[:1].isspace() else ""
            trail = " " if data[-1:].isspace() else ""
            self._text(lead + collapsed + trail)
        elif data:
            self._text(" ")

    def close(self) -> None:
        super().close()
        while self._tables:
            self.handle_endtag("table")
        self._flush()


def html_to_text(html: str) -> HtmlText:
    p = _Parser()
    p.feed(html)
    p.close()
    out = HtmlText()
    for quoted, text in p.out.runs:
        lines = [" ".join(line.split()) for line in text.split("\n")]
        cleaned = "\n".join(line for line in lines if line)
        if cleaned:
            out.runs.append((quoted, cleaned))
    out.tables = p.out.tables
    out.hidden = p.out.hidden
    return out
