"""Fixture generators for the extraction tests and bench/extract.py: nothing binary is committed.

Everything here writes real files of the real formats: xlsx/docx/pptx through their libraries, ODS,
PDF, RTF, ZIP and OLE compound files (.msg, encrypted OOXML containers) by hand from their specs.
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from collections.abc import Callable
from email.header import Header
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

PEOPLE = [
    ("山田 太郎", "東京都千代田区丸の内1-1-1", "090-1234-5678", "taro.yamada@example.jp", "1980-04-01"),
    ("鈴木 花子", "大阪府大阪市北区梅田2-2-2", "080-2345-6789", "hanako.suzuki@example.jp", "1975-12-24"),
    ("髙橋 一郎", "愛知県名古屋市中村区名駅3-3-3", "070-3456-7890", "ichiro@example.co.jp", "1990-07-07"),
]
HEADER = ["氏名", "住所", "電話番号", "メールアドレス", "生年月日"]


# -- mail ----------------------------------------------------------------------------------------


def mail(body: str = "お世話になっております。", subject: str = "資料送付", charset: str = "utf-8") -> MIMEMultipart:
    m = MIMEMultipart()
    m["Subject"] = Header(subject, charset if charset != "cp932" else "shift_jis").encode()
    m["From"] = '"=?UTF-8?B?5bGx55SwIOWkqumDjg==?=" <taro@example.jp>'
    m["To"] = "partner@example.com"
    m.attach(MIMEText(body, "plain", "utf-8"))
    return m


def attach(m: MIMEMultipart, data: bytes, name: str, ctype: str = "application/octet-stream") -> None:
    main, sub = ctype.split("/")
    part = MIMEBase(main, sub)
    part.set_payload(data)
    from email import encoders

    encoders.encode_base64(part)
    part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", name))
    m.attach(part)


def raw_text_mail(body: bytes, charset: str, cte: str = "8bit", subject: bytes = b"test") -> bytes:
    return (
        b"From: a@example.jp\r\nTo: b@example.com\r\nSubject: " + subject + b"\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset="
        + charset.encode()
        + b"\r\nContent-Transfer-Encoding: "
        + cte.encode()
        + b"\r\n\r\n"
        + body
        + b"\r\n"
    )


def with_attachment(data: bytes, name: str, ctype: str = "application/octet-stream") -> bytes:
    m = mail()
    attach(m, data, name, ctype)
    return m.as_bytes()


# -- office ----------------------------------------------------------------------------------------


def xlsx(rows: int = 3, sheet: str = "明細", hidden_sheet: bool = False) -> bytes:
    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet(sheet)
    ws.write_row(0, 0, HEADER)
    for i in range(rows):
        p = PEOPLE[i % len(PEOPLE)]
        ws.write_row(i + 1, 0, [f"{p[0]}{i}", p[1], p[2], p[3].replace("@", f"{i}@"), p[4]])
    if hidden_sheet:
        h = wb.add_worksheet("退会者")
        h.write_row(0, 0, ["氏名", "電話番号"])
        h.write_row(1, 0, ["佐藤 次郎", "03-9876-5432"])
        h.hide()
    wb.close()
    return buf.getvalue()


def docx() -> bytes:
    import docx as python_docx

    d = python_docx.Document()
    d.add_paragraph("会員名簿を送付します。担当: 山田 太郎")
    t = d.add_table(rows=1 + len(PEOPLE), cols=3)
    for j, h in enumerate(["氏名", "電話番号", "メールアドレス"]):
        t.cell(0, j).text = h
    for i, p in enumerate(PEOPLE, 1):
        t.cell(i, 0).text, t.cell(i, 1).text, t.cell(i, 2).text = p[0], p[2], p[3]
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def pptx() -> bytes:
    from pptx import Presentation
    from pptx.util import Inches

    prs = Presentation()
    s = prs.slides.add_slide(prs.slide_layouts[5])
    s.shapes.title.text = "顧客一覧"
    shape = s.shapes.add_table(3, 2, Inches(1), Inches(2), Inches(6), Inches(2))
    cells = [["氏名", "電話番号"], [PEOPLE[0][0], PEOPLE[0][2]], [PEOPLE[1][0], PEOPLE[1][2]]]
    for i, row in enumerate(cells):
        for j, v in enumerate(row):
            shape.table.cell(i, j).text = v
    s.notes_slide.notes_text_frame.text = "メモ: 鈴木様 080-2345-6789"
    buf = io.BytesIO()
    prs.save(buf)
    return buf.getvalue()


def ods() -> bytes:
    ns = (
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
    )
    rows = [HEADER[:3]] + [list(p[:3]) for p in PEOPLE]
    body = "".join(
        "<table:table-row>"
        + "".join(f'<table:table-cell office:value-type="string"><text:p>{v}</text:p></table:table-cell>' for v in r)
        + "</table:table-row>"
        for r in rows
    )
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ns} office:version="1.2">'
        f'<office:body><office:spreadsheet><table:table table:name="名簿">{body}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
        z.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def entity_bomb_docx() -> bytes:
    """A docx whose document.xml declares the billion-laughs entities."""
    lol = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
        + ']><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        "<w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>"
    )
    src = zipfile.ZipFile(io.BytesIO(docx()))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            data = lol.encode() if info.filename == "word/document.xml" else src.read(info)
            z.writestr(info.filename, data)
    return buf.getvalue()


# -- pdf -------------------------------------------------------------------------------------------


def pdf(
    pages: list[str],
    pad_bytes: int = 0,
    *,
    font: str = "identity",
    extra: Callable[[Callable[[str], bytes]], bytes] | None = None,
    chars: str = "",
) -> bytes:
    """A PDF whose text layer holds `pages` (any Unicode) and a ToUnicode CMap. `pad_bytes` adds an
    incompressible stream object.

    font "identity": a Type0 font, Identity-H, one CID per distinct character, no font program and no
    descriptor: its text reads, but no viewer can draw it (the CIDs are glyph numbers of no font).
    font "japan1": how Japanese PDFs name a font they do not embed: the predefined UniJIS-UCS2-H CMap
    over Adobe-Japan1 CIDs, with a font descriptor; a viewer draws it with a Japanese font it has
    (Basic Multilingual Plane characters only).
    font "type3": a Type3 font (its glyphs are in the PDF: embedded, as Chromium draws CJK text), one
    byte code per distinct character (at most 255), each glyph a filled square, the space a glyph that
    inks nothing; the page text is then read by PDFium (gateway.extract.pdf_text).
    `extra(encode)` adds content to every page, `encode(text)` giving a string's codes as hex
    (<...>), of the pages' characters and of `chars`."""
    used = {c for p in pages for c in p if c != "\n"} | set(chars) | ({" "} if font == "type3" else set())
    alphabet = sorted(used)
    cid = {c: i + 1 for i, c in enumerate(alphabet)} if font != "japan1" else {c: ord(c) for c in alphabet}
    if font == "type3":
        assert len(alphabet) <= 255, "type3: at most 255 distinct characters"
    width = 2 if font == "type3" else 4  # hex digits of one code
    objs: list[bytes] = []

    def add(body: bytes) -> int:
        objs.append(body)
        return len(objs)

    def stream(data: bytes, extra: bytes = b"") -> bytes:
        comp = zlib.compress(data)
        return b"<< /Length %d /Filter /FlateDecode %s >>\nstream\n" % (len(comp), extra) + comp + b"\nendstream"

    def encode(text: str) -> bytes:
        return b"<" + b"".join(b"%0*X" % (width, cid[c]) for c in text) + b">"

    bf = b"".join(b"<%0*X> <%s>\n" % (width, i, c.encode("utf-16-be").hex().upper().encode()) for c, i in cid.items())
    space = b"<00> <FF>" if font == "type3" else b"<0000> <FFFF>"
    cmap = (
        b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /X def "
        b"1 begincodespacerange %s endcodespacerange\n"
        % space
        + b"".join(
            b"%d beginbfchar\n" % len(chunk) + b"".join(chunk) + b"endbfchar\n"
            for chunk in [bf.splitlines(keepends=True)[k : k + 100] for k in range(0, max(1, len(cid)), 100)]
            if chunk
        )
        + b"endcmap CMapName currentdict /CMap defineresource pop end end"
    )
    tounicode = add(stream(cmap))
    if font == "type3":
        procs = {
            c: add(stream(b"500 0 0 0 0 0 d1" if c == " " else b"1000 0 0 0 1000 1000 d1 50 0 900 900 re f"))
            for c in alphabet
        }
        font_id = add(
            b"<< /Type /Font /Subtype /Type3 /FontBBox [0 0 1000 1000] /FontMatrix [0.001 0 0 0.001 0 0] "
            b"/CharProcs << %s >> /Encoding << /Type /Encoding /Differences [1 %s] >> /FirstChar 1 "
            b"/LastChar %d /Widths [%s] /ToUnicode %d 0 R /Resources << >> >>"
            % (
                b" ".join(b"/g%d %d 0 R" % (cid[c], procs[c]) for c in alphabet),
                b" ".join(b"/g%d" % cid[c] for c in alphabet),
                len(alphabet),
                b" ".join(b"500" if c == " " else b"1000" for c in alphabet),
                tounicode,
            )
        )
    elif font == "identity":
        desc = add(
            b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /MSGothic /CIDSystemInfo << /Registry (Adobe) "
            b"/Ordering (Identity) /Supplement 0 >> /DW 1000 >>"
        )
        encoding = b"Identity-H"
    else:
        descriptor = add(
            b"<< /Type /FontDescriptor /FontName /MS-Gothic /Flags 4 /FontBBox [0 -141 1000 859] /ItalicAngle 0 "
            b"/Ascent 859 /Descent -141 /CapHeight 709 /StemV 69 >>"
        )
        desc = add(
            b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /MS-Gothic /CIDSystemInfo << /Registry (Adobe) "
            b"/Ordering (Japan1) /Supplement 2 >> /FontDescriptor %d 0 R /DW 1000 >>" % descriptor
        )
        encoding = b"UniJIS-UCS2-H"
    if font != "type3":
        font_id = add(
            b"<< /Type /Font /Subtype /Type0 /BaseFont /MSGothic /Encoding /%s /DescendantFonts [%d 0 R] "
            b"/ToUnicode %d 0 R >>" % (encoding, desc, tounicode)
        )
    page_ids = []
    pages_id_placeholder = len(objs) + 1 + 2 * len(pages) + (1 if pad_bytes else 0)
    pad_ref = b""
    if pad_bytes:
        pad = add(stream(os.urandom(pad_bytes)))
        pad_ref = b" /PieceInfo << /Pad %d 0 R >>" % pad
    for text in pages:
        ops = [b"BT /F1 12 Tf 14 TL 50 800 Td"]
        for line in text.split("\n"):
            ops.append(encode(line) + b" Tj T*")
        ops.append(b"ET")
        if extra is not None:
            ops.append(extra(encode))
        content = add(stream(b"\n".join(ops)))
        page_ids.append(
            add(
                b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Contents %d 0 R "
                b"/Resources << /Font << /F1 %d 0 R >> >>%s >>" % (pages_id_placeholder, content, font_id, pad_ref)
            )
        )
    pages_id = add(
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % p for p in page_ids), len(page_ids))
    )
    assert pages_id == pages_id_placeholder
    catalog = add(b"<< /Type /Catalog /Pages %d 0 R >>" % pages_id)
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, catalog, xref)
    return bytes(out)


def encrypted_pdf(user_password: str = "secret", font: str = "identity") -> bytes:
    from pypdf import PdfReader, PdfWriter

    w = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf(["氏名 山田 太郎 090-1234-5678"], font=font))))
    w.encrypt(user_password=user_password, owner_password="owner", algorithm="AES-128")
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


# -- rtf -------------------------------------------------------------------------------------------


def rtf(text: str = "山田 太郎 ０９０－１２３４－５６７８") -> bytes:
    body = "".join(c if ord(c) < 128 else "".join(f"\\'{b:02x}" for b in c.encode("cp932")) for c in text)
    return (
        b"{\\rtf1\\ansi\\ansicpg932\\deff0{\\fonttbl{\\f0\\fnil\\fcharset128 MS Gothic;}}"
        b"{\\*\\generator Test;}\\f0\\fs20 " + body.encode("ascii") + b"\\par \\u38560?\\par}"
    )


# -- zip -------------------------------------------------------------------------------------------


def zip_of(members: dict[str, bytes], cp932_names: bool = False) -> bytes:
    """A zip; with cp932_names, non-ASCII names are stored as CP932 without the UTF-8 flag,
    as Windows' Japanese Explorer does."""
    buf = io.BytesIO()
    placeholders: dict[bytes, bytes] = {}
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for i, (name, data) in enumerate(members.items()):
            stored = name
            if cp932_names and not name.isascii():
                raw = name.encode("cp932")
                ph = (b"~%d~" % i).ljust(len(raw), b"_")
                placeholders[ph] = raw
                stored = ph.decode()
            z.writestr(stored, data)
    out = buf.getvalue()
    for ph, raw in placeholders.items():
        out = out.replace(ph, raw)
    return out


def zipcrypto(members: dict[str, bytes], password: bytes = b"pass") -> bytes:
    """Traditional PKWARE encryption (ZipCrypto), written by hand (APPNOTE 6.1)."""
    import binascii

    def crc(c: int, b: int) -> int:
        return binascii.crc32(bytes([b]), c ^ 0xFFFFFFFF) ^ 0xFFFFFFFF

    out = bytearray()
    central = bytearray()
    for name, data in members.items():
        keys = [0x12345678, 0x23456789, 0x34567890]

        def update(b: int, keys: list[int] = keys) -> None:
            keys[0] = crc(keys[0], b)
            keys[1] = ((keys[1] + (keys[0] & 0xFF)) * 134775813 + 1) & 0xFFFFFFFF
            keys[2] = crc(keys[2], (keys[1] >> 24) & 0xFF)

        for b in password:
            update(b)
        crc32 = zlib.crc32(data)
        header = bytearray(os.urandom(11)) + bytes([crc32 >> 24])
        plain = bytes(header) + data
        enc = bytearray()
        for b in plain:
            t = (keys[2] | 2) & 0xFFFF
            enc.append(b ^ (((t * (t ^ 1)) >> 8) & 0xFF))
            update(b)
        n = name.encode()
        offset = len(out)
        out += struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0x801, 0, 0, 0, crc32, len(enc), len(data), len(n), 0)
        out += n + enc
        central += (
            struct.pack(
                "<4sHHHHHHIIIHHHHHII",
                b"PK\x01\x02",
                20,
                20,
                0x801,
                0,
                0,
                0,
                crc32,
                len(enc),
                len(data),
                len(n),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + n
        )
    cd = len(out)
    out += central + struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(members), len(members), len(central), cd, 0)
    return bytes(out)


def aes_zip(members: dict[str, bytes]) -> bytes:
    """WinZip AES (AE-2) entries: method 99 with the 0x9901 extra field; the payload is what an
    encryptor emits (salt, verifier, ciphertext, MAC), here random since nobody may decrypt it."""
    out = bytearray()
    central = bytearray()
    for name, data in members.items():
        n = name.encode()
        extra = struct.pack("<HHH2sBH", 0x9901, 7, 2, b"AE", 3, 8)
        payload = os.urandom(16 + 2 + len(data) + 10)
        offset = len(out)
        out += struct.pack(
            "<4sHHHHHIIIHH", b"PK\x03\x04", 51, 0x801, 99, 0, 0, 0, len(payload), len(data), len(n), len(extra)
        )
        out += n + extra + payload
        central += (
            struct.pack(
                "<4sHHHHHHIIIHHHHHII",
                b"PK\x01\x02",
                51,
                51,
                0x801,
                99,
                0,
                0,
                0,
                len(payload),
                len(data),
                len(n),
                len(extra),
                0,
                0,
                0,
                0,
                offset,
            )
            + n
            + extra
        )
    cd = len(out)
    out += central + struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(members), len(members), len(central), cd, 0)
    return bytes(out)


def zip_bomb_deep(levels: int = 3, size: int = 50 * 1024 * 1024) -> bytes:
    """Nested zips whose innermost member is `size` zero bytes (the classic 42.zip shape)."""
    data = zip_of({"zeros.bin": b"\0" * size})
    for i in range(levels - 1):
        data = zip_of({f"layer{i}_{k}.zip": data for k in range(4)})
    return data


def overlap_bomb(kernel: int = 1 << 20, entries: int = 200) -> bytes:
    """Fifield's non-recursive bomb: many central-directory entries whose local headers share one
    compressed kernel (entries overlap)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    kern = comp.compress(b"\0" * kernel) + comp.flush()
    crc = zlib.crc32(b"\0" * kernel)
    out = bytearray()
    central = bytearray()
    headers = []
    for i in range(entries):
        n = b"f%05d" % i
        headers.append(len(out))
        out += struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(kern), kernel, len(n), 0) + n
    kern_at = len(out)
    out += kern
    for i, off in enumerate(headers):
        n = b"f%05d" % i
        # Every entry's declared compressed size reaches the shared kernel at the end.
        csize = kern_at + len(kern) - (off + 30 + len(n))
        central += (
            struct.pack(
                "<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, csize, kernel, len(n), 0, 0, 0, 0, 0, off
            )
            + n
        )
    cd = len(out)
    out += central + struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, entries, entries, len(central), cd, 0)
    return bytes(out)


# -- OLE compound files ------------------------------------------------------------------------


def cfb(streams: dict[str, bytes]) -> bytes:
    """A version-3 compound file. Keys are paths ("a/b/c"); storages are made as needed."""
    ENDOFCHAIN, FREESECT, FATSECT = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
    nodes: dict[str, dict] = {"": {"name": "Root Entry", "type": 5, "children": [], "data": b""}}
    for path, data in streams.items():
        parts = path.split("/")
        for k in range(1, len(parts)):
            p = "/".join(parts[:k])
            if p not in nodes:
                nodes[p] = {"name": parts[k - 1], "type": 1, "children": [], "data": b""}
                nodes["/".join(parts[: k - 1])]["children"].append(p)
        nodes[path] = {"name": parts[-1], "type": 2, "children": [], "data": data}
        nodes["/".join(parts[:-1])]["children"].append(path)
    order = list(nodes)
    index = {p: i for i, p in enumerate(order)}
    mini = bytearray()
    minifat: list[int] = []
    big: list[tuple[str, bytes]] = []
    for p in order:
        n = nodes[p]
        if n["type"] == 2 and len(n["data"]) < 4096:
            n["start"] = len(minifat) if n["data"] else ENDOFCHAIN
            count = (len(n["data"]) + 63) // 64
            for k in range(count):
                minifat.append(len(minifat) + 1 if k < count - 1 else ENDOFCHAIN)
            mini += n["data"].ljust(count * 64, b"\0")
        elif n["type"] == 2:
            big.append((p, n["data"]))
    sectors: list[bytes] = []
    fat: list[int] = []

    def chain(data: bytes) -> int:
        if not data:
            return ENDOFCHAIN
        start = len(sectors)
        count = (len(data) + 511) // 512
        for k in range(count):
            sectors.append(data[k * 512 : (k + 1) * 512].ljust(512, b"\0"))
            fat.append(start + k + 1 if k < count - 1 else ENDOFCHAIN)
        return start

    nodes[""]["start"] = chain(bytes(mini))
    nodes[""]["size"] = len(mini)
    for p, data in big:
        nodes[p]["start"] = chain(data)
    minifat_start = chain(b"".join(struct.pack("<I", v) for v in minifat)) if minifat else ENDOFCHAIN
    minifat_count = (len(minifat) * 4 + 511) // 512

    def sort_key(p: str) -> tuple[int, str]:
        return (len(nodes[p]["name"]), nodes[p]["name"].upper())

    def tree(children: list[str]) -> int:
        if not children:
            return FREESECT
        children = sorted(children, key=sort_key)
        mid = len(children) // 2
        node = nodes[children[mid]]
        node["left"] = tree(children[:mid])
        node["right"] = tree(children[mid + 1 :])
        return index[children[mid]]

    for p in order:
        nodes[p]["child"] = tree(nodes[p]["children"])
    entries = bytearray()
    for p in order:
        n = nodes[p]
        name = n["name"].encode("utf-16-le") + b"\0\0"
        size = n.get("size", len(n["data"]))
        entries += struct.pack(
            "<64sHBBIII16sIQQIQ",
            name,
            len(name),
            n["type"],
            1,
            n.get("left", FREESECT),
            n.get("right", FREESECT),
            n["child"],
            b"\0" * 16,
            0,
            0,
            0,
            n.get("start", ENDOFCHAIN) if n["type"] != 1 else 0,
            size,
        )
    while len(entries) % 512:
        entries += struct.pack(
            "<64sHBBIII16sIQQIQ", b"", 0, 0, 0, FREESECT, FREESECT, FREESECT, b"\0" * 16, 0, 0, 0, 0, 0
        )
    dir_start = chain(bytes(entries))
    nfat = 1
    while (len(sectors) + nfat) > nfat * 128:
        nfat += 1
    fat_start = len(sectors)
    fat.extend([FATSECT] * nfat)
    fat.extend([FREESECT] * (nfat * 128 - len(fat)))
    fat_bytes = b"".join(struct.pack("<I", v) for v in fat)
    for k in range(nfat):
        sectors.append(fat_bytes[k * 512 : (k + 1) * 512])
    difat = [fat_start + k for k in range(nfat)] + [FREESECT] * (109 - nfat)
    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        b"\0" * 16,
        0x3E,
        3,
        0xFFFE,
        9,
        6,
        b"\0" * 6,
        0,
        nfat,
        dir_start,
        0,
        4096,
        minifat_start,
        minifat_count,
        ENDOFCHAIN,
        0,
    ) + b"".join(struct.pack("<I", v) for v in difat)
    return header + b"".join(sectors)


def _u(s: str) -> bytes:
    return s.encode("utf-16-le")


def msg(subject: str, body: str, attachments: dict[str, bytes], embedded: dict[str, dict] | None = None) -> bytes:
    """An Outlook .msg: subject, body, a recipient, attachments, and optionally attached messages."""

    def props(prefix: str, subject: str, body: str, attachments: dict[str, bytes], header: int) -> dict[str, bytes]:
        s = {
            f"{prefix}__properties_version1.0": b"\0" * header,
            f"{prefix}__substg1.0_0037001F": _u(subject),
            f"{prefix}__substg1.0_1000001F": _u(body),
            f"{prefix}__substg1.0_0C1A001F": _u("山田 太郎"),
            f"{prefix}__recip_version1.0_#00000000/__substg1.0_3001001F": _u("鈴木 花子"),
            f"{prefix}__recip_version1.0_#00000000/__substg1.0_39FE001F": _u("hanako@example.com"),
            f"{prefix}__recip_version1.0_#00000000/__properties_version1.0": b"\0" * 8,
        }
        for i, (name, data) in enumerate(attachments.items()):
            a = f"{prefix}__attach_version1.0_#{i:08X}/"
            s[a + "__substg1.0_3707001F"] = _u(name)
            s[a + "__substg1.0_37010102"] = data
            s[a + "__properties_version1.0"] = b"\0" * 8
        return s

    streams = props("", subject, body, attachments, 32)
    for i, (name, inner) in enumerate((embedded or {}).items(), len(attachments)):
        a = f"__attach_version1.0_#{i:08X}/"
        streams[a + "__substg1.0_3707001F"] = _u(name)
        streams[a + "__properties_version1.0"] = b"\0" * 8
        streams.update(
            props(a + "__substg1.0_3701000D/", inner["subject"], inner["body"], inner.get("attachments", {}), 24)
        )
    return cfb(streams)


def xls(sheet: str, rows: list[list[str]], encrypted: bool = False) -> bytes:
    """A BIFF8 workbook (Excel 97-2003) with LABEL cells; `encrypted` adds a FILEPASS record (RC4),
    which is what a password-protected .xls carries."""

    def rec(t: int, d: bytes) -> bytes:
        return struct.pack("<HH", t, len(d)) + d

    eof = rec(0x000A, b"")
    name = sheet.encode("utf-16-le")
    globals_ = rec(0x0809, struct.pack("<HHHHII", 0x0600, 0x0005, 0, 0, 0, 0))
    if encrypted:
        globals_ += rec(0x002F, struct.pack("<HHH", 1, 1, 1) + os.urandom(48))
    globals_ += rec(0x0042, struct.pack("<H", 1200))
    sheet_off = len(globals_) + 4 + 4 + 2 + 2 + len(name) + len(eof)
    globals_ += rec(0x0085, struct.pack("<IHB", sheet_off, 0, len(sheet)) + b"\x01" + name) + eof
    body = rec(0x0809, struct.pack("<HHHHII", 0x0600, 0x0010, 0, 0, 0, 0))
    body += rec(0x0200, struct.pack("<IIHHH", 0, len(rows), 0, max(len(r) for r in rows), 0))
    for i, r in enumerate(rows):
        for j, v in enumerate(r):
            body += rec(0x0204, struct.pack("<HHHH", i, j, 0, len(v)) + b"\x01" + v.encode("utf-16-le"))
    return cfb({"Workbook": (globals_ + body + eof).ljust(4096, b"\0")})


def encrypted_ooxml_container() -> bytes:
    """The shape of a password-protected docx/xlsx: an OLE file with EncryptionInfo and
    EncryptedPackage streams (agile encryption descriptor, random package)."""
    info = struct.pack("<HHI", 4, 4, 0x40) + b'<?xml version="1.0"?><encryption/>'
    return cfb({"EncryptionInfo": info, "EncryptedPackage": struct.pack("<Q", 5000) + os.urandom(5000)})


def pdf_of_size(target: int) -> bytes:
    """A PDF of about `target` bytes: 200 pages of Japanese text plus an incompressible stream."""
    pages = [
        "\n".join(f"{PEOPLE[(p + k) % 3][0]} {PEOPLE[(p + k) % 3][2]} {PEOPLE[(p + k) % 3][3]}" for k in range(40))
        for p in range(200)
    ]
    base = pdf(pages)
    return pdf(pages, pad_bytes=max(0, target - len(base)))


def mime_message(*, text: str, html: str | None = None) -> bytes:
    m = MIMEMultipart("alternative")
    m["Subject"] = "x"
    m.attach(MIMEText(text, "plain", "utf-8"))
    if html is not None:
        m.attach(MIMEText(html, "html", "utf-8"))
    return m.as_bytes()
