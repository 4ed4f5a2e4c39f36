"""Office Open XML packages (docx, xlsx, pptx and their macro and template kinds) read the way
Office finds their parts: `[Content_Types].xml` gives each part its type, `_rels/.rels` leads to the
main part and each part's `_rels/*.rels` to the parts it uses, part names compared without regard
to case, at any depth. File names inside the package decide nothing.

Every part is read, not only the ones Office shows first: headers, footers, footnotes, endnotes,
comments, text boxes (both the DrawingML and the VML fallback when they differ), deleted text of
tracked changes, field codes, alt text; slide masters, layouts, notes, comments; cell comments
(legacy and threaded), header/footer of sheets, sheet names, defined names, drawings and charts;
document properties; parts that nothing refers to. altChunk parts (HTML, RTF, text, MHT) and
embedded objects (a workbook in a document, an OLE object) are read as nested files with their
provenance, and so are pictures (`word/media/image1.png`: OCR by the size rules of any image; EMF/WMF
by their records; SVG as text), each distinct picture once; the package's own thumbnail is not read
when it has the size Office writes (it shows the parts, which are read). Video and audio are left
unread only when their bytes are a real sound or film container (MP4/QuickTime, RIFF WAVE/AVI, MP3,
ASF, Ogg, FLAC, Matroska...); anything else declared as media is read as a file (a list renamed
`media1.mp4` is found; unknown bytes are UNSCANNABLE). Kept unread, by content type: fonts, VBA
projects, printer settings, and the people/author lists of comments (the colleagues who wrote them,
like display names).
"""

from __future__ import annotations

import posixpath
import re
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import unquote
from xml.etree.ElementTree import Element
from xml.parsers import expat

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import fromstring

from gateway.extract.context import Context, LimitExceeded, Unscannable, Where
from gateway.extract.detect import is_text
from gateway.extract.images import small_thumbnail
from gateway.unscannable import Reason

# read_file(ctx, data, name, declared_type, where) -> None, passed in to avoid an import cycle
ReadFile = Callable[[Context, bytes, str, str, Where], None]

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
P_NS = "{http://schemas.openxmlformats.org/presentationml/2006/main}"
R_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
S_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
_CT_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"

_SKIP_TYPES = re.compile(
    r"font(?!table)|vbaproject|vbadata|printersettings|digital-signature|\.people\+xml|"
    r"commentauthors|\.person\+xml|keymapcustomizations|"
    r"^application/vnd\.openxmlformats-package\.(relationships|core-properties-thumbnail)",
    re.I,
)
_COUNT_OR_FLAG = re.compile(r"[0-9.]*|true|false")  # app.xml's statistics: Pages 1, ScaleCrop false
_MEDIA_TYPES = re.compile(r"(audio|video)/", re.I)
_ASF = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")
_XML_TYPES = re.compile(r"\+xml$|^(application|text)/xml$|vmldrawing$", re.I)
_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)""")
_XML_ENCODINGS = {"utf-8", "utf8", "utf-16", "utf16", "utf-16le", "utf-16be", "us-ascii", "ascii", "iso-8859-1"}
# Text nodes of elements that make up one paragraph-like unit when joined (runs of one line).
_PARAGRAPH = frozenset({"p", "comment", "text", "si", "is", "threadedComment", "definedName"})
# Elements whose text is who wrote something, not what was written.
_AUTHORS = frozenset({"authors", "author", "person", "personList", "creator", "lastModifiedBy"})
_ALT_ATTRS = ("descr", "title")


@dataclass
class Rel:
    type: str
    target: str  # normalised part name, or the external target as written
    external: bool
    id: str = ""


@dataclass
class Package:
    """The parts of one package by normalised name (lower case, no leading slash)."""

    parts: dict[str, bytes]
    names: dict[str, str]  # normalised -> as stored in the zip
    defaults: dict[str, str] = field(default_factory=dict)
    overrides: dict[str, str] = field(default_factory=dict)
    _trees: dict[str, Element] = field(default_factory=dict)
    _rels: dict[str, list[Rel]] = field(default_factory=dict)

    def tree(self, part: str) -> Element:
        """The parsed part (parsed once)."""
        root = self._trees.get(part)
        if root is None:
            root = self._trees[part] = xml(self.parts[part], self.names[part])
        return root

    def content_type(self, part: str) -> str:
        if part in self.overrides:
            return self.overrides[part]
        ext = part.rsplit(".", 1)[-1] if "." in posixpath.basename(part) else ""
        return self.defaults.get(ext, "")

    def rels(self, part: str) -> list[Rel]:
        """The relationships of `part` ("" for the package)."""
        cached = self._rels.get(part)
        if cached is not None:
            return cached
        folder, base = posixpath.split(part)
        name = posixpath.join(folder, "_rels", base + ".rels") if part else "_rels/.rels"
        out: list[Rel] = []
        if name in self.parts:
            for el in self.tree(name).iter(_REL_NS + "Relationship"):
                target = el.get("Target") or ""
                if (el.get("TargetMode") or "").lower() == "external":
                    out.append(Rel(el.get("Type") or "", target, True, el.get("Id") or ""))
                    continue
                out.append(Rel(el.get("Type") or "", resolve(folder, target), False, el.get("Id") or ""))
        self._rels[part] = out
        return out


def norm(name: str) -> str:
    return unquote(name).replace("\\", "/").lstrip("/").lower()


def resolve(folder: str, target: str) -> str:
    target = target.split("#", 1)[0]
    path = target if target.startswith("/") else posixpath.join("/" + folder, target)
    return norm(posixpath.normpath(path))


def xml(blob: bytes, name: str) -> Element:
    """Parse one part with no DTD, no entities and no external references, in any encoding expat
    knows; a DOCTYPE is refused whatever the encoding (UTF-16 included)."""
    refuse_doctype(blob, name)
    try:
        root: Element = fromstring(blob, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden) as e:
        raise Unscannable(Reason.XML_DOCTYPE, f"{name!r} declares a DOCTYPE or entities") from e
    except Exception as e:
        raise Unscannable(Reason.PARSE_ERROR, f"{name}: {type(e).__name__}: {e}"[:300]) from e
    return root


def refuse_doctype(blob: bytes, name: str) -> None:
    head = blob[:4]
    wide = head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in blob[:64]
    text = blob.replace(b"\x00", b"") if wide else blob  # UTF-16/32: ASCII markup with NULs between
    text = text.removeprefix(b"\xef\xbb\xbf").removeprefix(b"\xff\xfe").removeprefix(b"\xfe\xff")
    if b"!" in text:  # both markers have one; most parts have none (memchr, no lowered copy)
        lowered = text.lower()
        if b"<!doctype" in lowered or b"<!entity" in lowered:
            raise Unscannable(Reason.XML_DOCTYPE, f"{name!r} declares a DOCTYPE")
    m = _DECLARED_ENCODING.match(text)
    if m and m.group(1).decode("ascii").lower() not in _XML_ENCODINGS:
        raise Unscannable(
            Reason.PARSE_ERROR, f"{name!r} is XML in {m.group(1).decode('ascii')!r}, which Office never writes"
        )


_WHITESPACE = b" \t\r\n"  # XML's own: any other (U+3000, NBSP) is text
# What the readers below take from markup rather than character data: alt text attributes, document
# variables and properties (name and value), and table elements (a table is kept even when empty).
_TEXT_ATTRS = ((b"descr", re.compile(rb"descr[ \t\r\n]*=")), (b"title", re.compile(rb"title[ \t\r\n]*=")))
_TEXT_ELEMENTS = tuple(
    (word, re.compile(rb"<(?:[^\s<>/:]+:)?" + word + rb"[\s/>]"), re.compile(word + rb"[\s/>]"))
    for word in (b"docVar", b"property", b"tbl")
)
_MARKUP_FIRST = re.compile(rb"[\xef\xbb\xbf \t\r\n]*<")  # what blob.lstrip(BOM bytes, whitespace) starts with


def textless(blob: bytes, name: str) -> bool:
    """True when parsing `blob` could give no text to any reader here: a well-formed UTF-8 part with
    no character data (only XML whitespace between tags; no CDATA, no character or entity references),
    none of the attributes and elements the readers take text from. Styles, themes, font tables and
    numbering are such parts, and the largest of a document (800 KB in a python-docx file): seen this
    way in C at about a tenth of the cost of building their tree. A DOCTYPE is refused first, as for
    every part; in doubt (UTF-16, text found, a pivot cache) the part is parsed and read."""
    refuse_doctype(blob, name)
    if b"\x00" in blob[:64]:
        return False
    if not _MARKUP_FIRST.match(blob) or (b"!" in blob and b"<![CDATA[" in blob):
        return False
    squeezed = blob.translate(None, _WHITESPACE)
    if _CHAR_DATA.search(squeezed) or not squeezed.endswith(b">"):
        return False
    for word, pattern in _TEXT_ATTRS:
        if word in blob and pattern.search(blob):
            return False
    for word, pattern, near in _TEXT_ELEMENTS:  # `near` (the word and what follows) is part of any match
        if word in blob and near.search(blob) and pattern.search(blob):
            return False
    parser = expat.ParserCreate()  # well-formed? (else the part is parsed below and reported as today)
    try:
        parser.Parse(blob, True)
    except expat.ExpatError:
        return False
    return True


_CHAR_DATA = re.compile(rb">[^<]")

# Large parts found to have no XML comment and to be `textless`: both are functions of the bytes alone,
# and the largest side parts (styles, stylesWithEffects, theme, font table: 300-800 KB) come from
# templates, the same bytes in document after document of one author, one company, one Word version.
# Checking them again costs 3-5 ms of CPU each. They are kept whole and a part is compared with the one
# of its length and last bytes byte for byte (memcmp: 0.05 ms for 800 KB, where its SHA-256 took 0.45),
# at most _QUIET_ENTRIES of them and _QUIET_BYTES in all, the least recently seen dropped first.
_QUIET_MIN = 16 * 1024
_QUIET_ENTRIES = 256
_QUIET_BYTES = 32 << 20
_QUIET_TAIL = 64
_QUIET: OrderedDict[tuple[int, bytes], bytes] = OrderedDict()


def _quiet_seen(blob: bytes) -> bool:
    """Whether these very bytes were found without comments and textless before."""
    key = (len(blob), blob[-_QUIET_TAIL:])
    known = _QUIET.get(key)
    if known is None or known != blob:
        return False
    _QUIET.move_to_end(key)
    return True


def _quiet_remember(blob: bytes) -> None:
    _QUIET[(len(blob), blob[-_QUIET_TAIL:])] = blob
    _QUIET.move_to_end((len(blob), blob[-_QUIET_TAIL:]))
    held = sum(k[0] for k in _QUIET)
    while _QUIET and (len(_QUIET) > _QUIET_ENTRIES or held > _QUIET_BYTES):
        (length, _), _ = _QUIET.popitem(last=False)
        held -= length


def open_package(members: dict[str, bytes]) -> Package | None:
    """The package of an OOXML zip, or None when it has no `[Content_Types].xml`."""
    parts = {norm(n): b for n, b in members.items()}
    names = {norm(n): n for n in members}
    pkg = Package(parts, names)
    types = parts.get("[content_types].xml")
    if types is None:
        return None
    root = xml(types, names["[content_types].xml"])
    for el in root:
        if el.tag == _CT_NS + "Default":
            pkg.defaults[(el.get("Extension") or "").lower()] = (el.get("ContentType") or "").lower()
        elif el.tag == _CT_NS + "Override":
            pkg.overrides[norm(el.get("PartName") or "")] = (el.get("ContentType") or "").lower()
    return pkg


def main_part(pkg: Package) -> tuple[str, str]:
    """(main part, kind): by the package's officeDocument relationship, else by content type."""
    for rel in pkg.rels(""):
        if rel.type.lower().endswith("/officedocument") and not rel.external and rel.target in pkg.parts:
            kind = _kind(pkg.content_type(rel.target))
            if kind:
                return rel.target, kind
    for part in pkg.parts:
        kind = _kind(pkg.content_type(part))
        if kind and pkg.content_type(part).endswith((".main+xml", ".main")):
            return part, kind
    return "", ""


def _kind(content_type: str) -> str:
    ct = content_type.lower()
    if not ct.endswith((".main+xml", ".main")):
        return ""
    if "wordprocessingml" in ct or "ms-word" in ct:
        return "docx"
    if "spreadsheetml" in ct or "ms-excel" in ct:
        return "xlsm" if "macroenabled" in ct else "xlsx"
    if "presentationml" in ct or "ms-powerpoint" in ct:
        return "pptx"
    return ""


# -- reading the parts ------------------------------------------------------------------------------


@dataclass
class _Walk:
    order: list[str] = field(default_factory=list)
    label: dict[str, str] = field(default_factory=dict)
    links: list[str] = field(default_factory=list)


def _walk(pkg: Package, main: str, kind: str) -> _Walk:
    """Every part reachable from the package, breadth first, with a human label for each."""
    w = _Walk()
    seen = {main}
    queue = [main]
    slide_no = _slide_numbers(pkg, main) if kind == "pptx" else {}
    sheet_names = _sheet_names(pkg, main) if kind in ("xlsx", "xlsm") else {}
    w.label[main] = ""
    for rel in pkg.rels(""):  # document properties, thumbnails, custom XML at the package level
        if rel.external:
            w.links.append(rel.target)
        elif rel.target not in seen and rel.target in pkg.parts:
            seen.add(rel.target)
            queue.append(rel.target)
            w.label[rel.target] = _label(rel.target, rel.type, "", {}, {})
    while queue:
        part = queue.pop(0)
        w.order.append(part)
        for rel in pkg.rels(part):
            if rel.external:
                if rel.target:
                    w.links.append(rel.target)
                continue
            target = rel.target
            if target in seen or target not in pkg.parts:
                continue
            seen.add(target)
            queue.append(target)
            w.label[target] = _label(target, rel.type, w.label.get(part, ""), slide_no, sheet_names)
    return w


def _label(part: str, rel_type: str, parent: str, slide_no: dict[str, int], sheets: dict[str, str]) -> str:
    base = posixpath.basename(part).rsplit(".", 1)[0]
    short = rel_type.rsplit("/", 1)[-1].lower()
    if part in slide_no:
        return f"slide {slide_no[part]}"
    if part in sheets:
        return sheets[part]
    if short == "notesslide":
        return f"notes {parent.removeprefix('slide ')}" if parent.startswith("slide ") else f"notes {_num(part)}"
    if short in ("core-properties", "metadata/core-properties", "extended-properties", "custom-properties"):
        return "document properties" if short != "custom-properties" else "custom properties"
    if short in ("slidelayout", "slidemaster", "notesmaster", "handoutmaster"):
        words = {
            "slidelayout": "slide layout",
            "slidemaster": "slide master",
            "notesmaster": "notes master",
            "handoutmaster": "handout master",
        }
        return f"{words.get(short, short)} {_num(part)}".strip()
    if parent and (parent.startswith(("slide ", "notes ")) or parent in sheets.values()):
        return f"{parent} {base}"
    return base


def _num(name: str) -> int:
    m = re.search(r"(\d+)(?:\.[^./]*)?$", name)
    return int(m.group(1)) if m else 0


def _slide_numbers(pkg: Package, main: str) -> dict[str, int]:
    """Slides numbered in the order the presentation shows them."""
    out: dict[str, int] = {}
    root = pkg.tree(main)
    rid_target = _rid_targets(pkg, main)
    for n, el in enumerate(root.iter(P_NS + "sldId"), 1):
        target = rid_target.get(el.get(R_NS + "id") or "")
        if target:
            out[target] = n
    return out


def _sheet_names(pkg: Package, main: str) -> dict[str, str]:
    root = pkg.tree(main)
    rid_target = _rid_targets(pkg, main)
    out: dict[str, str] = {}
    for el in root.iter(S_NS + "sheet"):
        target = rid_target.get(el.get(R_NS + "id") or "")
        if target:
            out[target] = el.get("name") or ""
    return out


def _rid_targets(pkg: Package, part: str) -> dict[str, str]:
    return {rel.id: rel.target for rel in pkg.rels(part) if not rel.external}


def read_package(
    ctx: Context,
    pkg: Package,
    main: str,
    kind: str,
    where: Where,
    read_file: ReadFile,
    cells_read: bool,
    read_picture: ReadFile,
) -> None:
    """Read every part of the package. `cells_read`: the sheets' cells were read already (calamine),
    so worksheet cells and shared strings are not read twice. Embedded files go to `read_file`,
    pictures to `read_picture` (parts of the document, not attachments)."""
    walk = _walk(pkg, main, kind)
    orphans = sorted(p for p in pkg.parts if p not in walk.label and not _structural(p))
    for part in orphans:
        walk.order.append(part)
        walk.label[part] = f"unreferenced part {pkg.names[part]}"
    ct_label = kind
    shared: list[str] = []  # shared-string parts, read after the sheets for the strings no cell uses
    used: set[bytes] = set()
    thumbnails = {rel.target for rel in pkg.rels("") if rel.type.lower().endswith("/thumbnail")}
    pictures: dict[int, list[bytes]] = {}  # the pictures read, by length
    for part in walk.order:
        if _structural(part):
            continue
        ct = pkg.content_type(part)
        if _SKIP_TYPES.search(ct) or posixpath.basename(part) == "vbaproject.bin":
            continue
        if _MEDIA_TYPES.match(ct) and _real_media(pkg.parts[part]):
            continue
        label = walk.label.get(part, "")
        blob = pkg.parts[part]
        name = pkg.names[part]
        if ct.startswith("image/"):
            # the same picture at two names: compared byte for byte with those of its length (a
            # memcmp that stops at the first difference, where a hash reads every byte of each)
            same_length = pictures.setdefault(len(blob), [])
            if any(blob == other for other in same_length) or (part in thumbnails and small_thumbnail(blob)):
                continue  # the same picture at two names; a thumbnail of the document itself
            same_length.append(blob)
            read_picture(ctx, blob, posixpath.basename(name), ct, where.inside(name))
            continue
        if _is_xml(ct, part, blob):
            if cells_read and _is_workbook(ct):
                _workbook(ctx, pkg.tree(part), where)
                continue
            if cells_read and ("worksheet+xml" in ct or "sharedstrings+xml" in ct):
                refuse_doctype(blob, name)
                if "sharedstrings" in ct:
                    shared.append(part)
                else:
                    used |= _sheet_extras(ctx, blob, where, label)
                continue
            _read_xml_part(ctx, blob, name, ct, ct_label, where, label)
        elif cells_read and _is_workbook(ct):
            continue  # xlsb: calamine read it
        else:
            read_file(ctx, blob, posixpath.basename(name), ct, where.inside(name))
    for part in shared:
        _unused_strings(ctx, pkg, part, used, where)
    if walk.links:
        ctx.text("\n".join(walk.links), "attachment", where, kind, sheet="links")


def _real_media(blob: bytes) -> bool:
    """The bytes start as a sound or film container does (their signatures), not just the name, and
    what follows is not text (a list behind a borrowed signature is read)."""
    head, after = blob[:16], blob[16:4112]
    return (
        not (after and is_text(after))
        and (
            head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free")  # ISO media, QuickTime
            or (head[:4] == b"RIFF" and head[8:12] in (b"WAVE", b"AVI "))
            or (head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"))
            or head.startswith((b"ID3", b"OggS", b"fLaC", b"MThd", b"\x1aE\xdf\xa3", b"#!AMR", b".snd"))
            or head == _ASF
            or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)  # an MPEG audio frame
        )
    )


def _is_workbook(ct: str) -> bool:
    return ".main" in ct and ("spreadsheetml" in ct or "ms-excel" in ct)


def _structural(part: str) -> bool:
    return part == "[content_types].xml" or part.endswith(".rels") or part.endswith("/")


def _is_xml(ct: str, part: str, blob: bytes) -> bool:
    if "html" in ct:  # altChunk XHTML/HTML is a web page (often with a DOCTYPE): read as HTML
        return False
    if ct:
        return bool(_XML_TYPES.search(ct))
    if part.endswith((".xml", ".vml")):
        return True
    head = blob[:64].replace(b"\x00", b"").lstrip(b"\xef\xbb\xbf\xff\xfe \t\r\n")
    return head.startswith(b"<?xml")


def _read_xml_part(ctx: Context, blob: bytes, name: str, ct: str, kind: str, where: Where, label: str) -> None:
    remember = len(blob) >= _QUIET_MIN and "pivotcache" not in ct
    if remember and _quiet_seen(blob):
        return  # these very bytes were found without comments and textless before (a template's styles)
    comments = _xml_comments(blob)
    if comments:  # no reader shows them, but they travel with the file
        ctx.text("\n".join(comments), "attachment", where, kind, sheet=f"{label} XML comment".strip())
    if "pivotcache" not in ct and textless(blob, name):
        if remember and not comments:
            _quiet_remember(blob)
        return  # styles, theme, font table, numbering...: no text to read, and well-formed
    root = xml(blob, name)
    lines: list[str] = []
    tables: list[list[list[str]]] = []
    ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    if next(root.iter(W + "p"), None) is not None:
        _blocks(root, W, lines, tables)
    elif next(root.iter(A + "p"), None) is not None and (ns == P_NS or "presentationml" in ct):
        _blocks(root, A, lines, tables)
    elif "pivotcache" in ct:
        _pivot_cache(root, lines)
    elif "extended-properties+xml" in ct:  # app.xml: Manager, Company, titles; not its counts and flags
        _generic(root, lines)
        lines[:] = [line for line in lines if not _COUNT_OR_FLAG.fullmatch(line.strip())]
    elif "settings+xml" in ct:  # Word's settings: document variables carry text (hidden data); any other too
        lines.extend(f"{el.get(W + 'name') or ''}: {el.get(W + 'val') or ''}" for el in root.iter(W + "docVar"))
        _generic(root, lines)
    else:
        _generic(root, lines)
    alt = [v for el in root.iter() for a in _ALT_ATTRS if (v := el.get(a))]
    if alt:
        lines.append("\n".join(alt))
    ctx.text("\n".join(line for line in lines if line.strip()), "attachment", where, kind, sheet=label)
    for i, rows in enumerate(tables, 1):
        ctx.table(rows, where, kind, sheet=f"{label} table {i}".strip())


def _xml_comments(blob: bytes) -> list[str]:
    """The text of the part's XML comments and processing instructions (other than the declaration)."""
    if (b"!" in blob and b"<!--" in blob) or _pi_from(blob, 5):
        text = blob.decode("utf-8", "replace")
    elif b"\x00" in blob and (b"<\x00!\x00-\x00-" in blob or blob.find(b"<\x00?\x00", 10) != -1):
        text = blob.decode("utf-16", "replace")  # the BOM (or its absence: little-endian) decides
    else:
        return []
    found: list[str] = []
    for opener, closer in (("<!--", "-->"), ("<?", "?>")):  # str.find: linear, even with no closer
        at = text.find(opener)
        while at != -1:
            end = text.find(closer, at + len(opener))
            body = text[at + len(opener) : end if end != -1 else len(text)]
            if opener == "<?":
                target, *rest = body.split(None, 1) or [""]
                body = "" if target.lower() == "xml" else "".join(rest)  # the declaration
            if body.strip():
                found.append(body.strip())
            at = text.find(opener, end + len(closer)) if end != -1 else -1
    return found


def _pi_from(blob: bytes, start: int) -> bool:
    """`b"<?" in blob[start:]` without the copy: '?' is rare in markup (the declaration has two), so
    each one found by memchr is looked at; past a few, one substring search."""
    q = blob.find(b"?", start + 1)
    for _ in range(16):
        if q == -1:
            return False
        if blob[q - 1] == 0x3C:  # "<"
            return True
        q = blob.find(b"?", q + 1)
    return blob.find(b"<?", start) != -1


def _runs(el: Element, ns: str) -> Iterator[str]:
    t, tab = ns + "t", ns + "tab"
    for child in el:
        tag = child.tag
        if tag == t or tag == W + "delText" or tag == W + "instrText":
            yield child.text or ""
        elif tag == tab:
            yield "\t"
        elif tag in (ns + "br", W + "cr"):
            yield "\n"
        elif tag == MC + "AlternateContent":
            yield from _alternate(child, ns)
        else:
            yield from _runs(child, ns)


def _alternate(el: Element, ns: str) -> Iterator[str]:
    """mc:Choice is what current Office shows, mc:Fallback what older readers show: the same text
    as a rule, read once; when they differ, both."""
    choice = next((c for c in el if c.tag == MC + "Choice"), None)
    fallback = next((c for c in el if c.tag == MC + "Fallback"), None)
    first = "".join(_runs(choice, ns)) if choice is not None else ""
    yield first
    if fallback is not None:
        other = "".join(_runs(fallback, ns))
        if "".join(other.split()) != "".join(first.split()):
            yield "\n" + other


def _blocks(root: Element, ns: str, lines: list[str], tables: list[list[list[str]]]) -> None:
    p, tbl, tr, tc = ns + "p", ns + "tbl", ns + "tr", ns + "tc"
    for child in root:
        if child.tag == p:
            lines.append("".join(_runs(child, ns)))
        elif child.tag == tbl:
            tables.append(
                [[" ".join("".join(_runs(c, ns)).split()) for c in row if c.tag == tc] for row in child.iter(tr)]
            )
        elif child.tag == MC + "AlternateContent":
            lines.append("".join(_alternate(child, ns)))
        else:
            _blocks(child, ns, lines, tables)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _generic(root: Element, lines: list[str]) -> None:
    """Any other XML part: paragraph-like elements as one line each, every other text node on its
    own line; the names of defined names and document variables with their values."""
    local = _local(root.tag)
    if local in _AUTHORS:
        return
    if local in _PARAGRAPH:
        text = "".join(_itertext(root))
        named = root.get("name")
        lines.append(f"{named}: {text}" if named else text)
        return
    if local in ("docVar", "property") and (root.get("name") or root.get("val")):
        lines.append(" ".join(v for v in (root.get("name"), root.get("val")) if v))
    if root.text and root.text.strip():
        lines.append(root.text)
    for child in root:
        _generic(child, lines)
        if child.tail and child.tail.strip():
            lines.append(child.tail)


def _pivot_cache(root: Element, lines: list[str]) -> None:
    """A pivot table's cache keeps a copy of its source data, in attributes (`<s v="山田"/>`): one
    line per record or field, even when the source sheet is gone."""
    for el in root.iter():
        values = [v for child in el if (v := child.get("v")) is not None and _local(child.tag) in ("s", "n", "d", "e")]
        if values:
            lines.append("\t".join(values))
        name = el.get("name") if _local(el.tag) == "cacheField" else None
        if name:
            lines.append(name)


def _itertext(el: Element) -> Iterator[str]:
    if _local(el.tag) in _AUTHORS:
        return
    if el.text:
        yield el.text
    for child in el:
        yield from _itertext(child)
        if child.tail:
            yield child.tail


_HEADER_FOOTER = re.compile(
    rb"<(?:\w+:)?(odd|even|first)(Header|Footer)\b[^>]*>(.*?)</(?:\w+:)?(?:odd|even|first)(?:Header|Footer)>", re.S
)


_SHARED_CELL = re.compile(rb"""<(?:\w+:)?c\b[^>]*?\bt\s*=\s*["']s["'][^>]*>\s*<(?:\w+:)?v>\s*(\d+)\s*<""")
_SHARED_CELL_FAST = re.compile(rb't="s"><v>(\d+)</v>')  # as Excel, xlsxwriter and openpyxl write it
_FORMULA = re.compile(rb"<(?:\w+:)?f\b[^>/]*>([^<]*)</(?:\w+:)?f>")
_LITERAL = re.compile(r'"((?:[^"]|"")*)"')


def _sheet_extras(ctx: Context, blob: bytes, where: Where, label: str) -> set[bytes]:
    """A worksheet whose cells were read already: its headers and footers and the text literals of
    its formulas (="山田 " & A1: the cell shows a value, the formula keeps the text), found without
    parsing the (large) sheet. Returns the shared strings its cells use (their indices as written)."""
    if b"\x00" in blob[:64]:  # UTF-16 (the DOCTYPE check came first): the same searches in UTF-8
        try:
            blob = blob.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError as e:
            raise Unscannable(Reason.PARSE_ERROR, f"worksheet in broken UTF-16: {e}") from e
    # a match holds "Header" or "Footer" as written (the regex is case-sensitive): two memmem searches
    # where the regex tries every "<" of the sheet
    headed = b"Header" in blob or b"Footer" in blob
    texts = [
        f"{kind.decode()} {part.decode().lower()}: {_unescape(body)}"
        for kind, part, body in (_HEADER_FOOTER.findall(blob) if headed else ())
        if body.strip()
    ]
    if texts:
        ctx.text("\n".join(texts), "attachment", where, "xlsx", sheet=f"{label} header/footer".strip())
    if b"<f" in blob or b":f" in blob:
        literals = [lit.replace('""', '"') for f in _FORMULA.findall(blob) for lit in _LITERAL.findall(_unescape(f))]
        if any(lit.strip() for lit in literals):
            ctx.text("\n".join(literals), "attachment", where, "xlsx", sheet=f"{label} formulas".strip())
    ids = _SHARED_CELL_FAST.findall(blob)
    if len(ids) < blob.count(b't="s"') or b"t='s'" in blob or b":c " in blob:  # written another way
        ids = _SHARED_CELL.findall(blob)
    return set(ids)


def _unused_strings(ctx: Context, pkg: Package, part: str, written: set[bytes], where: Where) -> None:
    """Shared strings that no cell shows still travel in the file (a deleted column's names)."""
    blob = pkg.parts[part]
    if blob.count(b"<si") + blob.count(b":si") <= len(written):  # at least the strings there are
        return  # every string is used (the common case): nothing more to parse
    used = {int(i) for i in written}
    strings = [
        s for i, si in enumerate(pkg.tree(part).iter(S_NS + "si")) if i not in used and (s := "".join(_itertext(si)))
    ]
    ctx.text("\n".join(strings), "attachment", where, "xlsx", sheet="shared strings no cell uses")


def _workbook(ctx: Context, root: Element, where: Where) -> None:
    """The workbook part: its sheet names and defined names (a name can hold a constant)."""
    lines = [f"sheet names: {', '.join(el.get('name') or '' for el in root.iter(S_NS + 'sheet'))}"]
    for el in root.iter(S_NS + "definedName"):
        lines.append(f"{el.get('name') or ''}: {el.text or ''}")
    ctx.text("\n".join(lines), "attachment", where, "xlsx", sheet="workbook")


def _unescape(body: bytes) -> str:
    import html

    text = body.decode("utf-8", "replace")
    text = re.sub(r"<!\[CDATA\[(.*?)\]\]>", r"\1", text, flags=re.S)
    return html.unescape(text)


def read_ooxml(
    ctx: Context,
    members: dict[str, bytes],
    where: Where,
    read_file: ReadFile,
    read_picture: ReadFile,
    read_cells: Callable[[], bool],
) -> str | None:
    """Read an OOXML package; return its kind, or None when it is not one (read it as a zip)."""
    pkg = open_package(members)
    if pkg is None:
        return None
    main, kind = main_part(pkg)
    if not main:
        return None
    cells = False
    if kind in ("xlsx", "xlsm"):
        try:
            cells = read_cells()
        except (LimitExceeded, Unscannable):
            cells = False
        if not cells:
            _read_sheets(ctx, pkg, main, where)
            cells = True
    read_package(ctx, pkg, main, kind, where, read_file, cells, read_picture)
    return kind


def _read_sheets(ctx: Context, pkg: Package, main: str, where: Where) -> None:
    """The cells of every sheet, read from the package when calamine could not open it (parts at
    names of their own): shared strings, inline strings and values, row by row."""
    shared: list[str] = []
    for rel in pkg.rels(main):
        if rel.type.lower().endswith("/sharedstrings") and rel.target in pkg.parts:
            root = pkg.tree(rel.target)
            shared = ["".join(_itertext(si)) for si in root.iter(S_NS + "si")]
    sheets = {t: label for t, label in _sheet_names(pkg, main).items() if t in pkg.parts}
    if not sheets:
        raise Unscannable(Reason.PARSE_ERROR, "workbook whose sheets cannot be found")
    for target, label in sheets.items():
        root = pkg.tree(target)
        rows: list[list[str]] = []
        for row in root.iter(S_NS + "row"):
            cells: list[str] = []
            for c in row.iter(S_NS + "c"):
                col = _column(c.get("r") or "", len(cells))
                while len(cells) < col:
                    cells.append("")
                value = c.find(S_NS + "v")
                kind = c.get("t") or ""
                if kind == "s" and value is not None and (value.text or "").strip().isdigit():
                    i = int((value.text or "").strip())
                    text = shared[i] if i < len(shared) else ""
                elif kind == "inlineStr":
                    text = "".join(_itertext(c))
                else:
                    text = value.text or "" if value is not None else ""
                cells.append(text)
            rows.append(cells)
        ctx.table(rows, where, "xlsx", sheet=label)


def _column(ref: str, default: int) -> int:
    letters = "".join(ch for ch in ref if ch.isalpha()).upper()
    if not letters:
        return default
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1
