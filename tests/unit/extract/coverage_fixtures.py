"""Builders of the places where data travels outside the plain body (issue 14): TNEF, uuencode,
Office side parts, PDF side channels. Real formats written from their specifications or with the
real libraries; nothing binary is committed."""

from __future__ import annotations

import io
import struct
import zipfile

# -- TNEF ([MS-OXTNEF]) -------------------------------------------------------------------------------


def _tnef_attr(level: int, attr_id: int, attr_type: int, data: bytes) -> bytes:
    return struct.pack("<BHHI", level, attr_id, attr_type, len(data)) + data + struct.pack("<H", sum(data) & 0xFFFF)


def _mapi_unicode(prop_id: int, text: str) -> bytes:
    raw = text.encode("utf-16-le") + b"\x00\x00"
    pad = (-len(raw)) % 4
    return struct.pack("<HHII", 0x001F, prop_id, 1, len(raw)) + raw + b"\x00" * pad


def tnef(subject: str, body: str, attachments: dict[str, bytes]) -> bytes:
    """A winmail.dat: subject (attSubject), a Unicode PR_BODY in attMsgProps, and attachments
    (attAttachRendData, attAttachTitle, attAttachData)."""
    out = struct.pack("<IH", 0x223E9F78, 0x0001)
    out += _tnef_attr(1, 0x9006, 0x0008, struct.pack("<I", 0x00010000))
    out += _tnef_attr(1, 0x9007, 0x0006, struct.pack("<II", 65001, 0))
    out += _tnef_attr(1, 0x8004, 0x0001, subject.encode("utf-8") + b"\x00")
    props = struct.pack("<I", 1) + _mapi_unicode(0x1000, body)
    out += _tnef_attr(1, 0x9003, 0x0006, props)
    for name, data in attachments.items():
        out += _tnef_attr(2, 0x9002, 0x0006, b"\x01\x00\x00\x00" + b"\xff" * 10)
        out += _tnef_attr(2, 0x8010, 0x0001, name.encode("utf-8") + b"\x00")
        out += _tnef_attr(2, 0x800F, 0x0006, data)
    return out


# -- uuencode ------------------------------------------------------------------------------------------


def uuencode(data: bytes, name: str) -> str:
    import binascii

    lines = [f"begin 644 {name}"]
    for i in range(0, len(data), 45):
        lines.append(binascii.b2a_uu(data[i : i + 45]).decode("ascii").rstrip("\n"))
    lines += ["`", "end"]
    return "\n".join(lines) + "\n"


def zip_members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def rezip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


# -- Office packages ---------------------------------------------------------------------------------

CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
R_BASE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _rels_name(part: str) -> str:
    folder, _, base = part.rpartition("/")
    return f"{folder}/_rels/{base}.rels" if folder else f"_rels/{base}.rels"


def add_part(
    members: dict[str, bytes], name: str, data: bytes, ctype: str, source: str, rel_type: str, rid: str
) -> None:
    """Add a part with its content type Override and a relationship from `source` (absolute target)."""
    members[name] = data
    types = members["[Content_Types].xml"].decode()
    types = types.replace("</Types>", f'<Override PartName="/{name}" ContentType="{ctype}"/></Types>')
    members["[Content_Types].xml"] = types.encode()
    rels_name = _rels_name(source)
    rels = members.get(rels_name, f'<?xml version="1.0"?><Relationships xmlns="{REL_NS}"></Relationships>'.encode())
    rel_type = rel_type if rel_type.startswith("http") else R_BASE + rel_type
    rels = rels.replace(
        b"</Relationships>", f'<Relationship Id="{rid}" Type="{rel_type}" Target="/{name}"/></Relationships>'.encode()
    )
    members[rels_name] = rels


def word_part(root: str, body: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:{root} xmlns:w="{W_NS}">{body}</w:{root}>'
    ).encode()


def w_p(text: str) -> str:
    return f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>"


def docx_with(body_extra: str = "", header: str = "", footer: str = "", comment: str = "") -> bytes:
    """A python-docx document with a header, a footer and a comment, and extra body XML."""
    import docx as python_docx

    d = python_docx.Document()
    p = d.add_paragraph("資料を送付します。")
    if header:
        d.sections[0].header.paragraphs[0].text = header
    if footer:
        d.sections[0].footer.paragraphs[0].text = footer
    if comment:
        d.add_comment(p.runs[0], text=comment, author="山田", initials="Y")
    buf = io.BytesIO()
    d.save(buf)
    members = zip_members(buf.getvalue())
    if body_extra:
        doc = members["word/document.xml"].decode()
        members["word/document.xml"] = doc.replace("<w:sectPr", body_extra + "<w:sectPr", 1).encode()
    return rezip(members)


def textbox(text: str, fallback: str | None = None) -> str:
    """A paragraph holding a DrawingML text box (wps:txbx) with a VML fallback."""
    wps = "http://schemas.microsoft.com/office/word/2010/wordprocessingShape"
    mc = "http://schemas.openxmlformats.org/markup-compatibility/2006"
    a = "http://schemas.openxmlformats.org/drawingml/2006/main"
    wp = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
    v = "urn:schemas-microsoft-com:vml"
    fb = fallback if fallback is not None else text
    return (
        f'<w:p><w:r><mc:AlternateContent xmlns:mc="{mc}"><mc:Choice Requires="wps"><w:drawing>'
        f'<wp:anchor xmlns:wp="{wp}"><wp:docPr id="1" name="Text Box 1"/><a:graphic xmlns:a="{a}">'
        f'<a:graphicData uri="{wps}"><wps:wsp xmlns:wps="{wps}"><wps:txbx><w:txbxContent>{w_p(text)}'
        "</w:txbxContent></wps:txbx></wps:wsp></a:graphicData></a:graphic></wp:anchor></w:drawing></mc:Choice>"
        f'<mc:Fallback><w:pict><v:shape xmlns:v="{v}"><v:textbox><w:txbxContent>{w_p(fb)}</w:txbxContent>'
        "</v:textbox></v:shape></w:pict></mc:Fallback></mc:AlternateContent></w:r></w:p>"
    )


def _absolute_targets(rels: str, folder: str) -> str:
    import re

    def absolute(m: re.Match[str]) -> str:
        return m.group(0) if 'TargetMode="External"' in m.group(0) else f'Target="/{folder}/{m.group(1)}"'

    return re.sub(r'Target="(?!/)(?![a-z]+:)([^"]+)"', absolute, rels)


def move_main_part(data: bytes, new_name: str) -> bytes:
    """Rename a package's main part (and its relationships part); the package still says where it is."""
    members = zip_members(data)
    rels = members["_rels/.rels"].decode()
    old = next(n for n in members if n.lower() in ("word/document.xml", "xl/workbook.xml", "ppt/presentation.xml"))
    moved: dict[str, bytes] = {}
    for name, blob in members.items():
        if name == old:
            moved[new_name] = blob
        elif name == _rels_name(old):
            # targets relative to the old folder become absolute so that they still resolve
            text = blob.decode()
            folder = old.rpartition("/")[0]
            text = _absolute_targets(text, folder)
            moved[_rels_name(new_name)] = text.encode()
        else:
            moved[name] = blob
    moved["_rels/.rels"] = rels.replace(old, new_name).encode()
    types = moved["[Content_Types].xml"].decode().replace(f'PartName="/{old}"', f'PartName="/{new_name}"')
    moved["[Content_Types].xml"] = types.encode()
    return rezip(moved)


def xlsx_with(
    comment: str = "", header: str = "", defined: str = "", sheet_name: str = "明細", chart_title: str = ""
) -> bytes:
    """An openpyxl workbook with a legacy cell comment, a sheet header, a defined name holding a
    constant, and a chart with a title, as asked."""
    import openpyxl
    from openpyxl.chart import BarChart, Reference
    from openpyxl.comments import Comment
    from openpyxl.workbook.defined_name import DefinedName

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet_name
    ws.append(["品目", "数量"])
    ws.append(["りんご", 3])
    ws.append(["みかん", 5])
    if comment:
        ws["A2"].comment = Comment(comment, "山田")
    if header:
        ws.oddHeader.center.text = header
    if defined:
        wb.defined_names["連絡先"] = DefinedName("連絡先", attr_text=f'"{defined}"')
    if chart_title:
        chart = BarChart()
        chart.title = chart_title
        chart.add_data(Reference(ws, min_col=2, min_row=1, max_row=3), titles_from_data=True)
        ws.add_chart(chart, "D2")
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


THREADED_NS = "http://schemas.microsoft.com/office/spreadsheetml/2018/threadedcomments"


def with_threaded_comment(data: bytes, text: str) -> bytes:
    members = zip_members(data)
    sheet = next(n for n in members if n.startswith("xl/worksheets/sheet") and n.endswith(".xml"))
    part = (
        f'<?xml version="1.0" encoding="UTF-8"?><ThreadedComments xmlns="{THREADED_NS}">'
        f'<threadedComment ref="B2" dT="2025-06-01T10:00:00.00" personId="{{0}}" id="{{1}}">'
        f"<text>{text}</text></threadedComment></ThreadedComments>"
    ).encode()
    add_part(
        members,
        "xl/threadedComments/threadedComment1.xml",
        part,
        "application/vnd.ms-excel.threadedcomments+xml",
        sheet,
        "http://schemas.microsoft.com/office/2017/10/relationships/threadedComment",
        "rIdT1",
    )
    return rezip(members)


def pptx_with(master: str = "", layout: str = "", notes: str = "", comment: str = "") -> bytes:
    from pptx import Presentation

    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[1])
    slide.shapes.title.text = "定例会"
    if master:
        prs.slide_master.placeholders[0].text_frame.text = master
    if layout:
        prs.slide_layouts[1].placeholders[0].text_frame.text = layout
    if notes:
        slide.notes_slide.notes_text_frame.text = notes
    buf = io.BytesIO()
    prs.save(buf)
    data = buf.getvalue()
    if not comment:
        return data
    members = zip_members(data)
    p = "http://schemas.openxmlformats.org/presentationml/2006/main"
    part = (
        f'<?xml version="1.0" encoding="UTF-8"?><p:cmLst xmlns:p="{p}"><p:cm authorId="0" idx="1">'
        f'<p:pos x="10" y="10"/><p:text>{comment}</p:text></p:cm></p:cmLst>'
    ).encode()
    add_part(
        members,
        "ppt/comments/comment1.xml",
        part,
        "application/vnd.openxmlformats-officedocument.presentationml.comments+xml",
        "ppt/slides/slide1.xml",
        "comments",
        "rIdC1",
    )
    return rezip(members)


def with_alt_chunk(data: bytes, content: bytes, ctype: str, ext: str) -> bytes:
    """A document whose body imports `content` through w:altChunk (Word merges it when it opens)."""
    members = zip_members(data)
    add_part(members, f"word/afchunk1.{ext}", content, ctype, "word/document.xml", "aFChunk", "rIdAlt1")
    doc = members["word/document.xml"].decode()
    members["word/document.xml"] = doc.replace("<w:sectPr", '<w:altChunk r:id="rIdAlt1"/><w:sectPr', 1).encode()
    return rezip(members)


def with_embedded(data: bytes, name: str, blob: bytes, ctype: str, rel: str = "package") -> bytes:
    members = zip_members(data)
    add_part(members, f"word/embeddings/{name}", blob, ctype, "word/document.xml", rel, "rIdEmb1")
    return rezip(members)


def ole_native(name: str, data: bytes) -> bytes:
    """Windows Packager's \\x01Ole10Native stream: any file embedded as an OLE object."""
    label = name.encode("cp932") + b"\x00"
    path = ("C:\\tmp\\" + name).encode("cp932") + b"\x00"
    body = struct.pack("<H", 2) + label + path + struct.pack("<I", 0x00030000)
    body += struct.pack("<I", len(path)) + path + struct.pack("<I", len(data)) + data
    return struct.pack("<I", len(body)) + body


def with_doctype(data: bytes, part: str, utf16: bool = False) -> bytes:
    """Put a DOCTYPE (billion laughs) in front of `part`'s root element, in UTF-8 or UTF-16."""
    members = zip_members(data)
    name = next(n for n in members if n.lower() == part.lower())
    text = members[name].decode("utf-8")
    decl_end = text.index("?>") + 2 if text.startswith("<?xml") else 0
    dtd = '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    body = text[decl_end:]
    if utf16:
        members[name] = ('<?xml version="1.0" encoding="UTF-16"?>' + dtd + body).encode("utf-16")
    else:
        members[name] = (text[:decl_end] + dtd + body).encode("utf-8")
    return rezip(members)


# -- PDF side channels ---------------------------------------------------------------------------------


def pdf_with(
    base: bytes,
    *,
    attachment: tuple[str, bytes] | None = None,
    field_value: str = "",
    annotation: str = "",
    file_annotation: tuple[str, bytes] | None = None,
    xfa: str = "",
    title: str = "",
) -> bytes:
    """`base` (a PDF) with an embedded file, an AcroForm text field, a text annotation, a
    file-attachment annotation, an XFA form or a title, written with pypdf."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import (
        ArrayObject,
        DecodedStreamObject,
        DictionaryObject,
        FloatObject,
        NameObject,
        NumberObject,
        TextStringObject,
    )

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(base)))
    page = writer.pages[0]
    annots = ArrayObject()

    def rect() -> ArrayObject:
        return ArrayObject([FloatObject(50), FloatObject(50), FloatObject(200), FloatObject(80)])

    if attachment:
        writer.add_attachment(attachment[0], attachment[1])
    if field_value:
        field = DictionaryObject(
            {
                NameObject("/FT"): NameObject("/Tx"),
                NameObject("/T"): TextStringObject("contact"),
                NameObject("/V"): TextStringObject(field_value),
                NameObject("/Type"): NameObject("/Annot"),
                NameObject("/Subtype"): NameObject("/Widget"),
                NameObject("/Rect"): rect(),
                NameObject("/F"): NumberObject(4),
            }
        )
        ref = writer._add_object(field)
        annots.append(ref)
        form = DictionaryObject({NameObject("/Fields"): ArrayObject([ref])})
        if xfa:
            stream = DecodedStreamObject()
            stream.set_data(xfa.encode())
            form[NameObject("/XFA")] = ArrayObject([TextStringObject("datasets"), writer._add_object(stream)])
        writer._root_object[NameObject("/AcroForm")] = writer._add_object(form)
    elif xfa:
        stream = DecodedStreamObject()
        stream.set_data(xfa.encode())
        form = DictionaryObject(
            {
                NameObject("/Fields"): ArrayObject(),
                NameObject("/XFA"): ArrayObject([TextStringObject("datasets"), writer._add_object(stream)]),
            }
        )
        writer._root_object[NameObject("/AcroForm")] = writer._add_object(form)
    if annotation:
        note = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Annot"),
                NameObject("/Subtype"): NameObject("/Text"),
                NameObject("/Rect"): rect(),
                NameObject("/Contents"): TextStringObject(annotation),
            }
        )
        annots.append(writer._add_object(note))
    if file_annotation:
        name, data = file_annotation
        ef_stream = DecodedStreamObject()
        ef_stream.set_data(data)
        ef_stream[NameObject("/Type")] = NameObject("/EmbeddedFile")
        spec = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Filespec"),
                NameObject("/F"): TextStringObject(name),
                NameObject("/UF"): TextStringObject(name),
                NameObject("/EF"): DictionaryObject({NameObject("/F"): writer._add_object(ef_stream)}),
            }
        )
        pin = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Annot"),
                NameObject("/Subtype"): NameObject("/FileAttachment"),
                NameObject("/Rect"): rect(),
                NameObject("/FS"): writer._add_object(spec),
            }
        )
        annots.append(writer._add_object(pin))
    if len(annots):
        page[NameObject("/Annots")] = annots
    if title:
        writer.add_metadata({"/Title": title})
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()
