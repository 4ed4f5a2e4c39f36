"""Realistic load for the end-to-end benchmark and the fault runs: Japanese business mail, a client
that behaves like an MTA (retries what was not acknowledged), and Postfix's smtp-sink as the next hop
recording what arrived (a dump file per message, its mtime the arrival time).

The mix (bench/e2e.py, bench/faults.py):
  plain   70%  2-10 KB of Japanese business prose to a partner            -> relayed
  attach  20%  plus an xlsx, docx or PDF of 50-500 KB (figures, no people) -> relayed
  pii     10%  a customer list in the body to an address never mailed before -> held (pii_first_time_external)
  logo     4%  plain mail with a signature logo and social icons (skipped by size, not OCR'd) -> relayed
  image    1%  with a screenshot of a sales table or a scanned PDF page of prose (OCR'd) -> relayed
The plain share is what is left (65%).
"""

from __future__ import annotations

import io
import os
import queue
import random
import re
import shutil
import smtplib
import subprocess
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate
from pathlib import Path

from tests.support.net import free_port, wait_for_port

SMTP_SINK = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"

SENTENCES = [
    "いつも大変お世話になっております。",
    "先日はお忙しいところお打ち合わせのお時間をいただき、誠にありがとうございました。",
    "ご依頼いただいておりました来期の販売計画について、修正版をお送りいたします。",
    "前回の会議でご指摘いただいた点を反映し、数値の根拠を追記しております。",
    "納品スケジュールにつきましては、現時点で大きな変更はございません。",
    "第3四半期の売上は前年同期比で約8パーセント増加いたしました。",
    "物流費の上昇を受けて、一部商品の価格改定を検討しております。",
    "次回の定例会議は来週水曜日の午後2時からを予定しております。",
    "ご不明な点がございましたら、お気軽にお問い合わせください。",
    "引き続きどうぞよろしくお願い申し上げます。",
    "新製品の試作品については、今月末までに評価結果をご報告いたします。",
    "契約更新の手続きに関しましては、法務部門と確認のうえ改めてご連絡いたします。",
    "展示会の出展準備は予定どおり進んでおります。",
    "見積書の有効期限は発行日から30日間とさせていただきます。",
]
PRODUCTS = ["ボールペン", "コピー用紙", "ファイル", "ホチキス", "封筒", "付箋", "クリップ", "ノート", "電卓", "はさみ"]
PARTNERS = [
    f"{name}.example"
    for name in (
        "asahi-shoji", "northwind", "fabrikam", "contoso", "tailspin", "wingtip", "adventure-works", "litware",
        "proseware", "fourthcoffee", "woodgrove", "lucerne-publishing", "alpineski", "coho-winery", "datum-corp",
        "humongous-insurance", "margies-travel", "nod-publishers", "relecloud", "trey-research", "wideworld",
        "blueyonder", "citypower", "graphicdesign-inst", "southridge-video", "consolidated-messenger",
        "fineartschool", "vanarsdel", "kawasaki-butsuryu", "hokkaido-seika",
    )
]  # fmt: skip
PII_ROWS = [
    "佐藤 花子 090-1234-5678 東京都千代田区丸の内1-1-1 hanako.sato@gmail.com",
    "鈴木 一郎 080-2345-6789 大阪府大阪市北区梅田2-2-2 ichiro.suzuki@yahoo.co.jp",
    "高橋 健 070-3456-7890 愛知県名古屋市中区栄3-3-3 ken.takahashi@outlook.jp",
    "田中 美咲 090-4567-8901 福岡県福岡市博多区博多駅前4-4-4 misaki.tanaka@gmail.com",
]


@dataclass(frozen=True)
class Mail:
    test_id: str
    kind: str  # plain | attach | pii | logo | image
    sender: str
    rcpts: tuple[str, ...]
    data: bytes


def company_of(domain: str) -> str:
    """The company a partner domain belongs to, as a greeting names it ('fabrikam.example' -> 'Fabrikam株式会社')."""
    label = domain.rsplit(".", 2)[-2] if domain.count(".") >= 1 else domain
    return "".join(part.capitalize() for part in label.split("-")) + "株式会社"


def _prose(rng: random.Random, size: int, company: str) -> str:
    # Addressed to the recipients' own company, as real mail is (a greeting naming another company
    # is what the misaddressed-mail rule rightly holds).
    lines = [company, "営業部 ご担当者様", ""]
    while sum(len(line.encode()) + 2 for line in lines) < size:
        lines.append("".join(rng.choice(SENTENCES) for _ in range(rng.randint(1, 3))))
    return "\r\n".join([*lines, "", "--", "株式会社サンプル 営業部"]) + "\r\n"


LOGO_SIDE = 190  # 190x190 = 36,100 pixels: under extract.ocr.min_pixels (40,000), skipped as a logo


def _pad_ooxml(data: bytes, size: int, rng: random.Random, media: str) -> bytes:
    """An Office file is mostly pictures: add logo-sized ones until the file has about `size` bytes.
    Each is a real PNG of random pixels (so it does not compress), 190x190 at most: decodable and
    skipped by the OCR size rules, as a signature logo or an icon is, so that mail is not held for it
    and the bench still pays what a picture costs (unzipping, hashing, reading its header). Like every
    part Office writes, each has a content type (image/png)."""
    if len(data) >= size:
        return data
    png = b'<Default Extension="png" ContentType="image/png"/>'
    folder, _, _ = media.rpartition("/")
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "[Content_Types].xml" and b'Extension="png"' not in body:
                body = body.replace(b"<Default ", png + b"<Default ", 1)
            z.writestr(info, body)
        # From a generator of its own: the file's length depends on the time stamps python-docx and
        # xlsxwriter write (they compress differently), and the mix must not change with the clock.
        own = random.Random(rng.random())
        missing, number = size - len(data), 1
        while missing > 1024:
            height = max(16, min(LOGO_SIDE, missing // (LOGO_SIDE * 3)))
            picture = _noise_png(own, LOGO_SIDE, height)
            z.writestr(zipfile.ZipInfo(f"{folder}/image{number}.png"), picture, compress_type=zipfile.ZIP_STORED)
            missing -= len(picture)
            number += 1
    return out.getvalue()


def _noise_png(rng: random.Random, width: int, height: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3)).save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def _xlsx(rng: random.Random, size: int) -> bytes:
    import xlsxwriter

    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    sheet = book.add_worksheet("売上")
    sheet.write_row(0, 0, ["商品コード", "品名", "数量", "単価", "金額"])
    for r in range(1, rng.randint(50, 200)):
        qty, price = rng.randint(1, 500), rng.randint(50, 5000)
        sheet.write_row(r, 0, [f"P-{rng.randint(1000, 9999)}", rng.choice(PRODUCTS), qty, price, qty * price])
    book.close()
    return _pad_ooxml(buf.getvalue(), size, rng, "xl/media/image1.png")


def _docx(rng: random.Random, size: int) -> bytes:
    import docx

    document = docx.Document()
    document.add_heading("販売計画 (修正版)", 1)
    for _ in range(rng.randint(10, 40)):
        document.add_paragraph("".join(rng.choice(SENTENCES) for _ in range(3)))
    buf = io.BytesIO()
    document.save(buf)
    return _pad_ooxml(buf.getvalue(), size, rng, "word/media/image1.png")


def _pdf(rng: random.Random, size: int, font: str = "japan1") -> bytes:
    """Pages of prose in a Japanese font the PDF names but does not embed (as many Japanese PDFs do),
    so that a viewer can draw it; font="identity" is the older kind whose glyphs no viewer can draw
    (PDFium then drops repeated lines as overprinted copies: bench/readers.py)."""
    from tests.unit.extract.extract_fixtures import pdf

    pages = ["\n".join(rng.choice(SENTENCES) for _ in range(20)) for _ in range(rng.randint(2, 8))]
    base = pdf(pages, font=font)
    return pdf(pages, pad_bytes=max(0, size - len(base)), font=font)


ATTACHMENTS: dict[str, tuple[Callable[[random.Random, int], bytes], str]] = {
    "xlsx": (_xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "docx": (_docx, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "pdf": (_pdf, "application/pdf"),
}


def _pictures(kind: str, i: int, rng: random.Random) -> list[tuple[bytes, str, str]]:
    """(data, file name, content type) of the images of a "logo" or "image" mail."""
    from tests.support import images

    if kind == "logo":
        out = [(images.encode(images.logo(rng.randint(160, 300), rng.randint(40, 90))), "logo.png", "image/png")]
        out += [(images.encode(images.icon(rng.choice((16, 24, 32)))), f"icon{k}.png", "image/png") for k in range(3)]
        return out
    if rng.random() < 0.5:
        shot = images.encode(images.figures_table(rng, PRODUCTS))
        return [(shot, f"スクリーンショット{i}.png", "image/png")]
    return [(images.image_pdf(images.prose_page(rng, SENTENCES)), f"スキャン{i}.pdf", "application/pdf")]


def make_mail(i: int, rng: random.Random, run: str = "run") -> Mail:
    roll = rng.random()
    kind = (
        "pii"
        if roll < 0.10
        else "attach"
        if roll < 0.30
        else "logo"
        if roll < 0.34
        else "image"
        if roll < 0.35
        else "plain"
    )
    test_id = f"{run}-{i:06d}-{kind}"
    sender = f"user{rng.randint(1, 50)}@example.co.jp"
    # Personal data goes to a new client (first time: held); the rest to the usual partners (names
    # unlike each other, or the lookalike rule would rightly hold them).
    partner = rng.choice(PARTNERS)
    partner = f"client{i}.{partner}" if kind == "pii" else partner
    rcpts = tuple(f"staff{rng.randint(1, 9)}@{partner}" for _ in range(rng.randint(1, 2)))
    subject = {
        "plain": "打ち合わせの件",
        "attach": "資料送付の件",
        "pii": "顧客連絡先の件",
        "logo": "ご挨拶",
        "image": "画面の件",
    }[kind]
    if kind == "pii":
        text = (
            _prose(rng, 1024, company_of(partner))
            + "\r\nご依頼の顧客連絡先です。\r\n"
            + "\r\n".join(rng.sample(PII_ROWS, 3))
            + "\r\n"
        )
    else:
        text = _prose(rng, rng.randint(1536, 7680), company_of(partner))  # 2-10 KB once base64-encoded
    body = MIMEText(text, "plain", "utf-8")
    if kind == "attach":
        ext = rng.choice(sorted(ATTACHMENTS))
        make, ctype = ATTACHMENTS[ext]
        mime = MIMEMultipart()
        mime.attach(body)
        part = MIMEApplication(make(rng, rng.randint(50, 500) * 1024), _subtype=ctype.split("/", 1)[1])
        part.add_header("Content-Disposition", "attachment", filename=f"資料{i}.{ext}")
        mime.attach(part)
    elif kind in ("logo", "image"):
        mime = MIMEMultipart()
        mime.attach(body)
        for data, name, ctype in _pictures(kind, i, rng):
            part = MIMEApplication(data, _subtype=ctype.split("/", 1)[1])
            part.replace_header("Content-Type", ctype)
            disposition = "inline" if kind == "logo" else "attachment"
            part.add_header("Content-Disposition", disposition, filename=name)
            mime.attach(part)
    else:
        mime = body  # type: ignore[assignment]
    mime["From"] = sender
    mime["To"] = ", ".join(rcpts)
    mime["Subject"] = f"{test_id} {subject}"
    mime["Date"] = formatdate(localtime=True)
    mime["Message-ID"] = f"<{test_id}@example.co.jp>"
    mime["X-Test-Id"] = test_id
    data = mime.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return Mail(test_id, kind, sender, rcpts, data)


def corpus(count: int, seed: int = 1, run: str = "run") -> list[Mail]:
    rng = random.Random(seed)
    return [make_mail(i, rng, run) for i in range(count)]


# --- the client -------------------------------------------------------------------------------------


@dataclass
class Sent:
    accepted_at: dict[str, float] = field(default_factory=dict)  # test_id -> time of the 250
    queue_ids: dict[str, str] = field(default_factory=dict)  # test_id -> the gateway's queue id
    transaction: dict[str, float] = field(default_factory=dict)  # test_id -> seconds from MAIL to the 250
    refusals: list[str] = field(default_factory=list)  # temporary answers and broken sessions (then retried)
    lock: threading.Lock = field(default_factory=threading.Lock)


_QUEUED_AS = re.compile(r"queued as (\S+)")


class Client:
    """`sessions` threads sending `mails` to 127.0.0.1:`port`, at `rate` per second (0: as fast as they
    can). A message not acknowledged with 250 (4xx, connection refused, broken session) is sent again
    later, as an MTA would; a 5xx is a bug here and raises."""

    def __init__(self, port: int, mails: list[Mail], sessions: int = 10, rate: float = 0.0) -> None:
        self.port = port
        self.sessions = sessions
        self.rate = rate
        self.todo: queue.Queue[tuple[float, Mail]] = queue.Queue()
        start = time.time()
        for n, mail in enumerate(mails):
            self.todo.put((start + n / rate if rate else 0.0, mail))
        self.sent = Sent()
        self.total = len(mails)
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(sessions)]

    def start(self) -> Client:
        for thread in self.threads:
            thread.start()
        return self

    def join(self, timeout: float | None = None) -> None:
        for thread in self.threads:
            thread.join(timeout)

    def done(self) -> int:
        with self.sent.lock:
            return len(self.sent.accepted_at)

    def _send(self, client: smtplib.SMTP, mail: Mail) -> str:
        code, text = client.mail(mail.sender)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, text, mail.sender)
        for rcpt in mail.rcpts:
            code, text = client.rcpt(rcpt)
            if code != 250:
                raise smtplib.SMTPRecipientsRefused({rcpt: (code, text)})
        code, text = client.data(mail.data)
        if code != 250:
            raise smtplib.SMTPDataError(code, text)
        match = _QUEUED_AS.search(text.decode(errors="replace"))
        return match.group(1) if match else ""

    def _run(self) -> None:
        client: smtplib.SMTP | None = None
        while True:
            try:
                due, mail = self.todo.get_nowait()
            except queue.Empty:
                with self.sent.lock:
                    if len(self.sent.accepted_at) >= self.total:
                        break
                time.sleep(0.05)  # another thread may put a retry back
                continue
            wait = due - time.time()
            if wait > 0:
                time.sleep(wait)
            try:
                if client is None:
                    client = smtplib.SMTP("127.0.0.1", self.port, timeout=60)
                    client.ehlo("mta.example.co.jp")
                began = time.time()
                queue_id = self._send(client, mail)
                now = time.time()
                with self.sent.lock:
                    self.sent.accepted_at[mail.test_id] = now
                    self.sent.transaction[mail.test_id] = now - began
                    self.sent.queue_ids[mail.test_id] = queue_id
            except (OSError, smtplib.SMTPException) as e:
                code = getattr(e, "smtp_code", 0) or 0
                if 500 <= code < 600:
                    raise
                with self.sent.lock:
                    self.sent.refusals.append(f"{type(e).__name__}: {code}")
                if client is not None:
                    try:
                        client.rset()
                    except (OSError, smtplib.SMTPException):
                        client.close()
                        client = None
                self.todo.put((time.time() + 0.2, mail))
                time.sleep(0.05)
        if client is not None:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()


# --- the next hop ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Arrival:
    test_id: str  # "" for mail that carries none (notices)
    mail_from: str
    rcpts: tuple[str, ...]
    at: float
    subject: str


class SmtpSink:
    """Postfix's smtp-sink on a loopback port, dumping each message to a file. `options` are its own
    fault switches (-r . for 4xx after the content, -f . for 5xx, -q . to hang up, -w N to be slow);
    `restart(options)` changes them on the same port."""

    def __init__(self, options: tuple[str, ...] = (), port: int | None = None) -> None:
        self.port = port or free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="gw-sink-"))
        self.dir.chmod(0o777)  # smtp-sink writes as nobody
        self.options = options
        self.process: subprocess.Popen[bytes] | None = None
        self._seen: dict[str, Arrival | None] = {}
        self._accepted: dict[str, bool] = {}  # dump file -> written while the sink accepted mail

    def start(self) -> SmtpSink:
        user = ["-u", "nobody"] if os.geteuid() == 0 else []
        self.process = subprocess.Popen(
            [SMTP_SINK, *user, *self.options, "-d", f"{self.dir}/%H%M%S.", f"127.0.0.1:{self.port}", "256"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, timeout=10)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def restart(self, options: tuple[str, ...]) -> None:
        self.stop()
        self._classify()
        self.options = options
        self.start()

    def _refusing(self) -> bool:
        """smtp-sink dumps the content even when it then refuses it or hangs up: no delivery then."""
        return any(option in ("-r", "-f", "-q", "-Q", "-A") for option in self.options)

    def _classify(self) -> None:
        for path in self.dir.iterdir():
            self._accepted.setdefault(path.name, not self._refusing())

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def arrivals(self) -> list[Arrival]:
        """Every message dumped so far (complete files only)."""
        out = []
        for path in sorted(self.dir.iterdir()):
            name = path.name
            if not self._accepted.get(name, not self._refusing()):
                continue
            if name not in self._seen:
                self._seen[name] = self._read(path)
            found = self._seen[name]
            if found is not None:
                out.append(found)
            else:
                del self._seen[name]  # still being written: read again next time
        return out

    @staticmethod
    def _read(path: Path) -> Arrival | None:
        try:
            at = path.stat().st_mtime
            with open(path, "rb") as f:
                head = f.read(16384)
        except OSError:
            return None
        if b"\n\n" not in head and b"\r\n\r\n" not in head:
            return None
        text = head.decode("utf-8", "replace")
        mail_from = re.search(r"^X-Mail-Args: <([^>]*)>", text, re.M)
        rcpts = tuple(re.findall(r"^X-Rcpt-Args: <([^>]*)>", text, re.M))
        test_id = re.search(r"^X-Test-Id: (\S+)", text, re.M)
        subject = re.search(r"^Subject: (.*)$", text, re.M)
        return Arrival(
            test_id.group(1) if test_id else "",
            mail_from.group(1) if mail_from else "",
            rcpts,
            at,
            subject.group(1) if subject else "",
        )

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()
