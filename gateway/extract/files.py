"""One attached file (or archive member) to text: detect by content, hand to the format's reader,
and turn every failure into an UNSCANNABLE finding with the file's name."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from urllib.parse import unquote

from gateway.content import AttachmentInfo
from gateway.extract import archive, office, ole, ooxml
from gateway.extract.context import Context, LimitExceeded, Unscannable, Where
from gateway.extract.detect import IMAGES, METAFILES, SVG, UNSUPPORTED, classify_zip, sniff
from gateway.extract.images import read_image, read_metafile, small_thumbnail
from gateway.extract.pdf import read_pdf
from gateway.extract.rtf import rtf_to_text
from gateway.extract.svg import read_svg
from gateway.extract.text import decode, read_calendar, read_html, read_table_text
from gateway.extract.tnef import read_tnef
from gateway.extract.uu import read_uuencoded
from gateway.unscannable import Reason

_SPREADSHEETS = {"xlsx", "xlsm", "ods", "xls"}
_ODF_NOT_FILES = ("configurations2/", "meta-inf/", "fonts/", "layout-cache")
_ODF_PICTURES = ("pictures/", "media/", "thumbnails/", "objectreplacements/")
_GENERATED = re.compile(r"^part [0-9.#]+$")  # the name given to a part that has none
_ENCRYPTED = {Reason.ENCRYPTED_ZIP, Reason.ENCRYPTED_PDF, Reason.ENCRYPTED_OFFICE}


def read_file(ctx: Context, data: bytes, name: str, declared: str, where: Where) -> None:
    _read(ctx, data, name, declared, where, attached=True)


def read_picture(ctx: Context, data: bytes, name: str, declared: str, where: Where) -> None:
    """A picture that is a part of a document (`word/media/image1.png`), not a file someone attached:
    read like one, but neither its part name read as a file name nor the picture counted among the
    message's attachments (the attachment facts of the rules; the identical-file comparison of
    misaddressed mail, which a letterhead logo in every document would mislead)."""
    _read(ctx, data, name, declared, where, attached=False)


def _read(ctx: Context, data: bytes, name: str, declared: str, where: Where, attached: bool) -> None:
    state: dict[str, object] = {"type": "unknown", "encrypted": False}
    before = len(ctx.out.segments)
    try:
        ctx.count_file(where)
        if attached and name and not _GENERATED.match(name):
            ctx.text(name, "filename", where, field="file name")
            before = len(ctx.out.segments)
        if len(data) > ctx.limits.max_attachment_bytes:
            raise LimitExceeded(
                Reason.LIMIT_ATTACHMENT_SIZE, f"{len(data)} bytes, over {ctx.limits.max_attachment_bytes}"
            )
        if where.depth > ctx.limits.max_archive_depth:
            raise LimitExceeded(Reason.LIMIT_ARCHIVE_DEPTH, f"nested deeper than {ctx.limits.max_archive_depth} levels")
        state["type"] = sniff(data, name, declared)
        state["type"] = _dispatch(ctx, data, name, declared, where, str(state["type"]), state)
    except (LimitExceeded, Unscannable) as e:
        state["encrypted"] = e.reason in _ENCRYPTED
        ctx.unscannable(e.reason, e.detail, where)
        if e.reason == Reason.LIMIT_DECOMPRESSED:
            raise
    except MemoryError:
        ctx.unscannable(Reason.LIMIT_MEMORY, f"out of memory reading {state['type']}", where)
    except RecursionError:
        ctx.unscannable(Reason.PARSE_ERROR, f"{state['type']}: structure nested too deeply", where)
    except Exception as e:
        ctx.unscannable(Reason.PARSE_ERROR, f"{state['type']}: {type(e).__name__}: {e}"[:300], where)
    if not attached:
        return
    ctx.attachment(
        AttachmentInfo(
            name=name,
            detected_type=str(state["type"]),
            size=len(data),
            declared_type=declared,
            part=where.part,
            path=where.path,
            encrypted=bool(state["encrypted"]),
            text_extracted=len(ctx.out.segments) > before,
            sha256=hashlib.sha256(data).hexdigest(),
        )
    )


def _dispatch(
    ctx: Context, data: bytes, name: str, declared: str, where: Where, kind: str, state: dict[str, object]
) -> str:
    if kind in ("text", "csv", "tsv", "html", "calendar"):
        dec = decode(ctx, data, None, where)
        if kind == "html":
            read_html(ctx, dec.text, "attachment", where, charset=dec.charset)
            read_data_images(ctx, dec.text, where)
        elif kind == "calendar":
            read_calendar(ctx, dec.text, "attachment", where)
        elif kind in ("csv", "tsv"):
            read_table_text(ctx, dec.text, "\t" if kind == "tsv" else ",", where, f"text/{kind}", dec.charset)
        else:
            text = dec.text
            if "begin" in text:
                text = read_uuencoded(ctx, text, where, read_file)
            ctx.text(text, "attachment", where, "text/plain", charset=dec.charset)
        return kind
    if kind == "eml":
        ctx.read_message(ctx, data, where)
        return kind
    if kind == "zip":
        return _read_zip(ctx, data, where, state)
    if kind == "ole":
        return _read_ole(ctx, data, where, state)
    if kind == "pdf":
        read_pdf(ctx, data, where, read_file)
        return kind
    if kind == "rtf":
        ctx.text(rtf_to_text(data), "attachment", where, "text/rtf")
        return kind
    if kind == "tnef":
        read_tnef(ctx, data, where, read_file)
        return kind
    if kind in IMAGES:
        read_image(ctx, data, where)
        return kind
    if kind in METAFILES:
        read_metafile(ctx, data, where, kind)
        return kind
    if kind == SVG:
        read_svg(ctx, data, where, read_data_images)
        return kind
    if kind in UNSUPPORTED:
        reason = Reason.IMAGE_UNDECODABLE if kind == "svm" else Reason.UNSUPPORTED_FORMAT
        raise Unscannable(reason, f"{UNSUPPORTED[kind]} cannot be read")
    if declared.lower().startswith(("audio/", "video/")):
        raise Unscannable(Reason.UNSUPPORTED_FORMAT, f"sound and video cannot be read ({declared})")
    if declared.lower().startswith("image"):
        raise Unscannable(Reason.IMAGE_UNDECODABLE, f"picture of a format that cannot be decoded ({declared})")
    raise Unscannable(Reason.UNKNOWN_FORMAT, f"unknown binary format (declared {declared or 'nothing'})")


def _read_zip(ctx: Context, data: bytes, where: Where, state: dict[str, object]) -> str:
    zf, infos = archive.open_zip(data, ctx, where)
    kind = classify_zip([i.filename for i in infos])
    state["type"] = kind
    if kind in ("xlsx", "xlsm", "docx", "pptx", "ooxml"):
        members = archive.scan_members(zf, infos, ctx, where, None, data)

        def cells() -> bool:
            office.read_spreadsheet(ctx, data, where, kind, strict=True)
            return True

        found = ooxml.read_ooxml(ctx, members, where, read_file, read_picture, cells)
        if found is not None:
            found = "xlsm" if found == "xlsx" and kind == "xlsm" else found
            state["type"] = found
            return found
        # [Content_Types].xml without a main part Office would open: every member as a file.
        state["type"] = kind = "zip"
        for name, blob in members.items():
            read_file(ctx, blob, name, "", where.inside(name))
        return kind
    if kind == "zip":
        for info in infos:
            if info.is_dir():
                continue
            member = where.inside(archive.member_name(info))
            try:
                blob = archive.read_member(zf, info, ctx, member, data)
            except (LimitExceeded, Unscannable) as e:
                ctx.unscannable(e.reason, e.detail, member)
                ctx.attachment(
                    AttachmentInfo(
                        name=member.path[-1] if member.path else member.attachment,
                        detected_type="unknown",
                        size=info.file_size,
                        part=member.part,
                        path=member.path,
                        encrypted=e.reason == Reason.ENCRYPTED_ZIP,
                    )
                )
                if e.reason == Reason.LIMIT_DECOMPRESSED:
                    raise
                continue
            read_file(ctx, blob, member.path[-1] if member.path else member.attachment, "", member)
        return kind
    parts = archive.scan_members(zf, infos, ctx, where, None, data)
    if kind == "odf":
        mimetype = parts.get("mimetype", b"").decode("ascii", "replace").strip()
        kind = {"spreadsheet": "ods", "text": "odt", "presentation": "odp"}.get(mimetype.rsplit(".", 1)[-1], "odf")
        if kind == "ods":
            office.read_spreadsheet(ctx, data, where, kind)
        office.read_odf_text(ctx, parts, where, kind, cells_read=kind == "ods")
        for name, blob in parts.items():  # embedded files and pictures (not settings, fonts)
            lower = name.lower()
            if lower.endswith((".xml", "/")) or lower == "mimetype" or lower.startswith(_ODF_NOT_FILES):
                continue
            if lower.startswith(_ODF_PICTURES):
                if _odf_rendering(lower, blob, parts):
                    continue
                read_picture(ctx, blob, name.rsplit("/", 1)[-1], "image", where.inside(name))
                continue
            read_file(ctx, blob, name.rsplit("/", 1)[-1], "", where.inside(name))
    else:
        raise Unscannable(Reason.UNSUPPORTED_FORMAT, "Office package of an unknown kind")
    return kind


def _odf_rendering(lower: str, blob: bytes, parts: dict[str, bytes]) -> bool:
    """Pictures an ODF package keeps of itself, not read: its thumbnail (at the size LibreOffice
    writes) and the replacement picture of an embedded object whose own content is read."""
    if lower.startswith("thumbnails/"):
        return small_thumbnail(blob)
    if lower.startswith("objectreplacements/"):
        obj = lower.removeprefix("objectreplacements/")
        return any(n.lower() in (f"{obj}/content.xml", f"./{obj}/content.xml") for n in parts)
    return False


def _read_ole(ctx: Context, data: bytes, where: Where, state: dict[str, object]) -> str:
    f = ole.open_ole(data)
    kind = ole.classify(f)
    state["type"] = kind
    if kind == "encrypted-ooxml":
        raise Unscannable(Reason.ENCRYPTED_OFFICE, "password-protected Office document (encrypted package)")
    if kind in ("ole-native", "ole-package"):
        name, payload = ole.embedded(f, kind, ctx.limits.max_attachment_bytes)
        ctx.take_bytes(len(payload), where)
        read_file(ctx, payload, name, "", where.inside(name))
        return kind
    if kind == "xls":
        if ole.xls_encrypted(f):
            raise Unscannable(Reason.ENCRYPTED_OFFICE, "password-protected Excel 97-2003 workbook")
        office.read_spreadsheet(ctx, data, where, kind)
    elif kind == "msg":
        ole.read_msg(ctx, f, where, read_file)
    elif kind == "doc":
        if ole.word_encrypted(f):
            raise Unscannable(Reason.ENCRYPTED_OFFICE, "password-protected Word 97-2003 document")
        raise Unscannable(Reason.UNSUPPORTED_FORMAT, "Word 97-2003 (.doc) documents cannot be read")
    elif kind == "ppt":
        if ole.ppt_encrypted(f):
            raise Unscannable(Reason.ENCRYPTED_OFFICE, "password-protected PowerPoint 97-2003 file")
        raise Unscannable(Reason.UNSUPPORTED_FORMAT, "PowerPoint 97-2003 (.ppt) files cannot be read")
    else:
        raise Unscannable(Reason.UNKNOWN_FORMAT, "OLE compound file of an unknown kind")
    return kind


# An image inside HTML itself (<img src="data:...">, <img srcset="data:... 1x, data:... 2x">, <source
# srcset>, CSS url(data:...)): it travels and is shown. Base64 may be wrapped over lines, but a blank
# followed by a srcset descriptor ("2x", "300w") ends it. SVG also comes percent-encoded or as is.
_DATA_IMAGE = re.compile(
    r"data:(image/[a-z0-9.+-]+)(?:;[a-z0-9=._-]+)*?;base64,((?:[a-z0-9+/=]|\s(?!\s*\d+(?:\.\d+)?[xwh]\b))+)"
    r"|data:image/svg\+xml(?:;[a-z0-9=._-]+)*,(%3csvg[^\"'\s)]*|<svg\b.*?</svg>)",
    re.I | re.S,
)
MAX_DATA_IMAGES = 100


def read_data_images(ctx: Context, html: str, where: Where) -> None:
    """Read every base64 data: URI image in an HTML text as an inline image of its own."""
    if "data:" not in html:
        return
    for number, m in enumerate(_DATA_IMAGE.finditer(html), 1):
        name = f"inline image {number}"
        inner = where.inside(name)
        if number > MAX_DATA_IMAGES:
            ctx.unscannable(Reason.LIMIT_ATTACHMENTS, f"more than {MAX_DATA_IMAGES} data: images", where)
            return
        if m.group(3):  # SVG as text
            data = unquote(m.group(3)).encode("utf-8", "surrogatepass")
            ctx.take_bytes(len(data), inner)
            read_file(ctx, data, name, "image/svg+xml", inner)
            continue
        ctx.take_bytes(len(m.group(2)) * 3 // 4, inner)
        try:
            data = base64.b64decode(re.sub(r"\s+", "", m.group(2)))
        except (binascii.Error, ValueError):
            ctx.unscannable(Reason.PARSE_ERROR, "data: image that is not valid base64", inner)
            continue
        read_file(ctx, data, name, m.group(1).lower(), inner)
