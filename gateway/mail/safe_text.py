"""Text that comes from a message (subject, display names, file names, addresses, reasons that quote
message text) is data. Before a page or a notice shows it, it becomes one safe line:

- every line break (CR, LF, VT, FF, NEL, U+2028/2029) and tab becomes a space, so it can neither add a
  header to a notice nor start a line of its own in a notice's body;
- every other control and format character (C0/C1 controls, bidi overrides and isolates, zero-width
  characters) is dropped, so the text reads as it is stored ("txt.exe" cannot pose as "exe.txt");
- runs of spaces become one, and the line is capped at a length with "…".

In notices it is also visibly quoted (「…」 in Japanese, "…" in English) and defanged, so that the
gateway's own links are the only links in a notice: "http://x" shows as "http[:]//x" and "www.x" as
"www[.]x", which mail programs do not turn into links.
"""

from __future__ import annotations

import re
import unicodedata

BREAKS = frozenset("\r\n\v\f\t\x1c\x1d\x1e\x85\u2028\u2029")
ELLIPSIS = "…"
SCHEME = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]{0,20}):(//|\\\\)")
WWW = re.compile(r"(?i)\bwww\.")
SPACES = re.compile(r" {2,}")
QUOTES = {"ja": ("「", "」"), "en": ('"', '"')}
INNER = {"ja": str.maketrans("「」", "『』"), "en": str.maketrans('"', "'")}


def _keep(ch: str) -> str:
    if ch in BREAKS:
        return " "
    category = unicodedata.category(ch)
    if category in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
        return ""
    if category == "Zs":
        return " "
    return ch


def one_line(value: object, limit: int = 200) -> str:
    """`value` as one line without control characters, at most `limit` characters."""
    text = "" if value is None else str(value)
    text = SPACES.sub(" ", "".join(_keep(ch) for ch in text)).strip()
    if len(text) > limit:
        text = text[: max(0, limit - 1)].rstrip() + ELLIPSIS
    return text


def defang(text: str) -> str:
    """No link a mail program would make clickable: scheme:// → scheme[:]//, www. → www[.]."""
    return WWW.sub(lambda m: m.group(0)[:3] + "[.]", SCHEME.sub(r"\1[:]\2", text))


def quoted(value: object, lang: str = "ja", limit: int = 200) -> str:
    """One safe line, defanged and visibly quoted, for a notice. Empty stays empty."""
    text = one_line(value, limit)
    if not text:
        return ""
    opening, closing = QUOTES.get(lang, QUOTES["en"])
    return f"{opening}{defang(text.translate(INNER.get(lang, INNER['en'])))}{closing}"
