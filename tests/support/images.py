"""Real images for the OCR tests and benchmarks: rendered with Pillow and the Noto CJK font
(Debian fonts-noto-cjk), saved as PNG, JPEG or an image-only PDF page."""

from __future__ import annotations

import io
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
HEADER = ("氏名", "住所", "電話番号")

_FAMILY = ("山田", "佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "中村", "小林", "加藤", "吉田", "山本", "松本")
_GIVEN = ("太郎", "花子", "一郎", "美咲", "健太", "直樹", "裕子", "大輔", "恵美", "翔太", "陽子", "誠", "彩", "和也")
_PLACES = (
    "東京都港区芝公園",
    "大阪府大阪市北区梅田",
    "神奈川県横浜市中区山下町",
    "愛知県名古屋市中区栄",
    "福岡県福岡市博多区博多駅前",
    "北海道札幌市中央区北一条西",
)


def font(px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT), px, index=0)  # index 0: Noto Sans CJK JP


def people(count: int, seed: int = 1) -> list[tuple[str, str, str]]:
    """(氏名, 住所, 電話番号) rows of made-up people."""
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        name = rng.choice(_FAMILY) + rng.choice(_GIVEN)
        place = f"{rng.choice(_PLACES)}{rng.randint(1, 9)}-{rng.randint(1, 20)}-{rng.randint(1, 30)}"
        phone = f"{rng.choice(('090', '080', '070'))}-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}"
        rows.append((name, place, phone))
    return rows


def table_image(rows: list[tuple[str, str, str]], width: int = 1000, px: int = 22) -> Image.Image:
    """A screenshot of a spreadsheet-like table: header, one line per person, grey rules."""
    line = int(px * 1.45)
    img = Image.new("RGB", (width, 20 + line * (len(rows) + 1)), "white")
    draw = ImageDraw.Draw(img)
    f = font(px)
    columns = (20, int(width * 0.22), int(width * 0.66))
    for i, row in enumerate([HEADER, *rows]):
        y = 10 + i * line
        for x, cell in zip(columns, row, strict=True):
            draw.text((x, y), cell, font=f, fill="black")
        draw.line((10, y + line - 3, width - 10, y + line - 3), fill=(190, 190, 190))
    return img


def scanned_page(rows: list[tuple[str, str, str]], seed: int = 1) -> Image.Image:
    """An A4 page at 150 dpi as a scanner gives it: a list on a slightly grey, noisy, blurred page."""
    rng = random.Random(seed)
    page = Image.new("L", (1240, 1754), 245)
    draw = ImageDraw.Draw(page)
    f = font(26)
    draw.text((120, 110), "顧客名簿", font=f, fill=20)
    for i, row in enumerate([HEADER, *rows]):
        y = 190 + i * 44
        for x, cell in zip((120, 400, 900), row, strict=True):
            draw.text((x, y), cell, font=f, fill=25)
    for _ in range(3000):  # dust
        draw.point((rng.randrange(1240), rng.randrange(1754)), fill=rng.randrange(120, 200))
    return page.rotate(0.4, fillcolor=245).filter(ImageFilter.GaussianBlur(0.6))


def logo(width: int = 240, height: int = 80, text: str = "SAKURA") -> Image.Image:
    """A signature logo: a coloured band with the company name."""
    img = Image.new("RGB", (width, height), (20, 60, 140))
    ImageDraw.Draw(img).text((10, height // 5), text, font=font(height // 2), fill="white")
    return img


def icon(size: int = 24) -> Image.Image:
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    ImageDraw.Draw(img).ellipse((2, 2, size - 3, size - 3), fill=(0, 120, 220, 255))
    return img


def encode(img: Image.Image, fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **({"quality": 85} if fmt == "JPEG" else {}))
    return out.getvalue()


def image_pdf(*pages: Image.Image, dpi: int = 150) -> bytes:
    """A PDF whose pages are images only (no text layer), as a scanner or 'print to PDF' makes it."""
    out = io.BytesIO()
    first, *rest = [p.convert("RGB") for p in pages]
    first.save(out, "PDF", resolution=dpi, save_all=True, append_images=rest)
    return out.getvalue()


def figures_table(rng: random.Random, products: list[str], rows: int = 20) -> Image.Image:
    """A screenshot of a sales table (no people): what most pasted screenshots are."""
    img = Image.new("RGB", (1000, 20 + 32 * (rows + 1)), "white")
    draw = ImageDraw.Draw(img)
    f = font(20)
    for i in range(rows + 1):
        y = 10 + i * 32
        if i == 0:
            cells = ["商品コード", "品名", "数量", "単価", "金額"]
        else:
            qty, price = rng.randint(1, 500), rng.randint(50, 5000)
            cells = [f"P-{rng.randint(1000, 9999)}", rng.choice(products), str(qty), f"{price:,}", f"{qty * price:,}"]
        for x, cell in zip((20, 200, 480, 640, 800), cells, strict=True):
            draw.text((x, y), cell, font=f, fill="black")
        draw.line((10, y + 29, 990, y + 29), fill=(200, 200, 200))
    return img


def prose_page(rng: random.Random, sentences: list[str], lines: int = 30) -> Image.Image:
    """A scanned A4 page (150 dpi) of business prose (no people)."""
    page = Image.new("L", (1240, 1754), 245)
    draw = ImageDraw.Draw(page)
    f = font(24)
    for i in range(lines):
        draw.text((110, 120 + i * 48), rng.choice(sentences), font=f, fill=25)
    return page.rotate(0.3, fillcolor=245).filter(ImageFilter.GaussianBlur(0.5))
