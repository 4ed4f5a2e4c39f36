"""A logo's metadata read without decoding its pixels (`metadata_lines(image, data)`) is what reading
it with the decode gives, on PNGs with EXIF, text chunks and XMP before or after the pixels, in
chunks of their own or hidden in the pixel data, broken or truncated, and on other formats."""

from __future__ import annotations

import io
import random
import struct
import zlib

from PIL import Image

from gateway.extract.image_metadata import metadata_lines

PHONE = "090-1234-5678"


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def exif_block() -> bytes:
    exif = Image.Exif()
    exif[0x010E] = f"顧客 {PHONE}"  # ImageDescription
    exif[0x013B] = "山田太郎"  # Artist
    return exif.tobytes()


def raw_profile() -> bytes:
    hexed = exif_block().hex()
    return b"Raw profile type exif\x00" + f"\nexif\n{len(hexed) // 2}\n{hexed}".encode()


EXTRA = {
    "exif": lambda: chunk(b"eXIf", exif_block()),
    "broken-exif": lambda: chunk(b"eXIf", b"II*\x00garbage"),
    "text": lambda: chunk(b"tEXt", f"Comment\x00{PHONE}".encode()),
    "raw-profile": lambda: chunk(b"tEXt", raw_profile()),
    "ztxt": lambda: chunk(
        b"zTXt", b"Raw profile type exif\x00\x00" + zlib.compress(raw_profile().split(b"\x00", 1)[1])
    ),
    "itxt-xmp": lambda: chunk(
        b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00<x:xmpmeta><tiff:Orientation>6</tiff:Orientation></x:xmpmeta>"
    ),
    "private": lambda: chunk(b"prVt", b"x" * 10),
}


def png_with(rng: random.Random, size: tuple[int, int]) -> bytes:
    """A PNG with random extra chunks before its IDAT, after it, between IDAT chunks, or the bytes of
    one inside the pixel data; sometimes truncated."""
    buf = io.BytesIO()
    Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3)).save(buf, "PNG", compress_level=1)
    data = buf.getvalue()
    idat = data.index(b"IDAT") - 4
    iend = data.rindex(b"IEND") - 4
    head, pixels, tail = data[:idat], data[idat:iend], data[iend:]
    before = b"".join(EXTRA[k]() for k in rng.sample(sorted(EXTRA), rng.randint(0, 2)))
    after = b"".join(EXTRA[k]() for k in rng.sample(sorted(EXTRA), rng.randint(0, 2)))
    if rng.random() < 0.2:  # a chunk's bytes inside the compressed pixels: not a chunk to any reader
        at = rng.randint(12, len(pixels) - 8)
        pixels = pixels[:at] + rng.choice(list(EXTRA.values()))() + pixels[at:]
    out = head + before + pixels + after + tail
    if rng.random() < 0.2:
        out = out[: rng.randint(len(head), len(out))]
    return out


def read(data: bytes, undecoded: bool) -> object:
    try:
        image = Image.open(io.BytesIO(data))
    except Exception as e:
        return ("unopenable", type(e).__name__)
    return metadata_lines(image, data if undecoded else None)


def test_undecoded_is_the_same_on_random_pngs() -> None:
    rng = random.Random(5)
    found_exif = 0
    for _ in range(600):
        data = png_with(rng, (rng.randint(8, 64), rng.randint(8, 64)))
        plain = read(data, False)
        assert read(data, True) == plain, data[:100]
        found_exif += isinstance(plain, list) and any("ImageDescription" in line for line in plain)
    assert found_exif > 20  # the EXIF after the pixels was there to find, and found


def test_undecoded_is_the_same_on_other_formats() -> None:
    rng = random.Random(6)
    for fmt in ("JPEG", "GIF", "BMP", "WEBP", "TIFF"):
        buf = io.BytesIO()
        image = Image.frombytes("RGB", (32, 24), rng.randbytes(32 * 24 * 3))
        image.save(buf, fmt, **({"exif": exif_block()} if fmt in ("JPEG", "WEBP", "TIFF") else {}))
        assert read(buf.getvalue(), True) == read(buf.getvalue(), False), fmt


def _old_no_exif_after_pixels(image, data: bytes) -> bool:  # type: ignore[no-untyped-def]
    if image.format != "PNG" or "exif" in image.info or "Raw profile type exif" in image.info:
        return False
    idat = data.find(b"IDAT")
    return idat != -1 and all(data.find(kind, idat) == -1 for kind in (b"eXIf", b"tEXt", b"zTXt", b"iTXt"))


def test_no_exif_after_pixels_as_one_search_per_chunk_type() -> None:
    """The search for the chunk types after the pixels ("Xt" then the bytes before it, and eXIf)
    answers as one search per type, on bytes with the types (and near misses) placed anywhere,
    straddling the first IDAT too."""
    from types import SimpleNamespace

    from gateway.extract.image_metadata import _no_exif_after_pixels

    g = random.Random(11)
    png = SimpleNamespace(format="PNG", info={})
    words = [b"IDAT", b"eXIf", b"tEXt", b"zTXt", b"iTXt", b"Xt", b"EXt", b"TXt", b"tEX", b"xXt", b"eXI", b"XIf", b"t"]
    for _ in range(20000):
        data = b"".join(
            g.choice(words) if g.random() < 0.3 else g.randbytes(g.randint(0, 6)) for _ in range(g.randint(0, 12))
        )
        assert _no_exif_after_pixels(png, data) == _old_no_exif_after_pixels(png, data), data
