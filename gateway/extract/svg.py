"""SVG drawings (attachments, Office's `image/svg+xml` parts, `data:image/svg+xml` images): text is
text in SVG, so it is read, not OCR'd. Parsed with defusedxml; a DOCTYPE or entity is refused
(`xml-doctype`) as in Office parts. What is read: the text of <text>/<tspan>/<textPath> as lines,
<title> and <desc>, <foreignObject> HTML, every other text node (style, script, metadata travel too),
and the attribute values a viewer shows (aria-label, alt, title). Raster images inside
(`<image href="data:image/png;base64,...">`) are read as inline images."""

from __future__ import annotations

import re
from collections.abc import Callable
from xml.etree.ElementTree import Element

from gateway.extract.context import Context, Where
from gateway.extract.ooxml import xml

_SHOWN = ("aria-label", "alt", "title", "label")
_LINES = frozenset({"text", "title", "desc", "p", "div", "li", "td", "th", "tr", "h1", "h2", "h3"})

# read_data_images(ctx, text, where), passed in to avoid an import cycle with files.py
ReadImages = Callable[[Context, str, Where], None]


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def svg_lines(root: Element) -> list[str]:
    """One line per text element (its tspans joined), then every other text node on its own."""
    lines: list[str] = []

    def walk(el: Element) -> None:
        local = _local(el.tag)
        if local in _LINES:
            text = " ".join("".join(el.itertext()).split())
            if text:
                lines.append(text)
            for child in el.iter():
                _attributes(child, lines)
            return
        _attributes(el, lines)
        if el.text and el.text.strip():
            lines.append(el.text.strip())
        for child in el:
            walk(child)
            if child.tail and child.tail.strip():
                lines.append(child.tail.strip())

    walk(root)
    return lines


def _attributes(el: Element, lines: list[str]) -> None:
    for name, value in el.attrib.items():
        if _local(name) in _SHOWN and value.strip():
            lines.append(value.strip())


_DECLARATION = re.compile(rb"""^(\s*<\?xml[^>]*encoding\s*=\s*["'])([A-Za-z0-9._-]+)(["'])""")
# Japanese drawing tools still write SVG in these; expat reads none of them, so it is read as UTF-8.
_JAPANESE = {b"shift_jis": "cp932", b"sjis": "cp932", b"cp932": "cp932", b"windows-31j": "cp932", b"euc-jp": "euc-jp"}


def read_svg(ctx: Context, data: bytes, where: Where, read_images: ReadImages) -> None:
    m = _DECLARATION.match(data[:200])
    codec = _JAPANESE.get(m.group(2).lower()) if m else None
    if m and codec:
        text = data[m.end() :].decode(codec, "replace")
        data = m.group(1) + b"UTF-8" + m.group(3) + text.encode("utf-8")
    root = xml(data, where.path[-1] if where.path else where.attachment or "SVG")
    lines = svg_lines(root)
    ctx.text("\n".join(lines), "attachment", where, "image/svg+xml")
    hrefs = [v for el in root.iter() for k, v in el.attrib.items() if _local(k) == "href" and v.startswith("data:")]
    if hrefs:
        read_images(ctx, "\n".join(hrefs), where)
