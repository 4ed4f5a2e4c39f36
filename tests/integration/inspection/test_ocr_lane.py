"""The OCR lane of the inspection pool: mail with an image to read is read by a worker of its own,
so screenshots never hold up plain mail; its failures are UNSCANNABLE like any other worker's."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from gateway.config.inspection import InspectionConfig
from gateway.config.ocr import OcrSettings
from gateway.extract import ExtractLimits
from gateway.extract.ocr import available
from gateway.inspection.pool import InspectPool
from gateway.scan import ScanConfig
from tests.support import images

_MISSING = available(OcrSettings())
pytestmark = [
    pytest.mark.skipif(bool(_MISSING), reason=f"Tesseract with jpn+eng is not installed here: {_MISSING}"),
    pytest.mark.skipif(not images.FONT.exists(), reason=f"the Noto CJK font ({images.FONT}) is not installed"),
]

SCAN = ScanConfig(ner_window_chars=0)


def mail(body: str, *pictures: tuple[bytes, str]) -> bytes:
    m = EmailMessage()
    m["From"] = "taro@example.co.jp"
    m["To"] = "partner@partner.example"
    m["Subject"] = "資料"
    m.set_content(body)
    for data, name in pictures:
        m.add_attachment(data, maintype="image", subtype="png", filename=name)
    return m.as_bytes()


SHOT = images.encode(images.table_image(images.people(20, seed=3)))
SCREENSHOT_MAIL = mail("一覧です。", (SHOT, "scan.png"))
LOGO_MAIL = mail("よろしくお願いします。\n株式会社さくら 山田", (images.encode(images.logo()), "logo.png"))
PLAIN_MAIL = mail("明日の会議は10時からです。")


@pytest.fixture(scope="module")
def pool() -> Iterator[InspectPool]:
    p = InspectPool(SCAN, InspectionConfig(workers=1, ocr_workers=1))
    p.start_sync()
    yield p
    p.close_sync()


def test_a_screenshot_is_read_in_the_ocr_lane_and_a_logo_in_the_main_lane(pool: InspectPool) -> None:
    (main_pid,) = pool.worker_pids()  # the lane's worker starts with its first message
    x, scan = pool.inspect_sync(LOGO_MAIL)
    assert x.stats["ocr_skipped"] == 1 and not x.findings and pool.worker_pids() == [main_pid]
    x, scan = pool.inspect_sync(SCREENSHOT_MAIL)
    assert not x.findings and x.stats["ocr_images"] == 1 and "ocr_deferred" not in x.stats
    assert {"PERSON", "JP_PHONE_NUMBER", "JP_ADDRESS"} <= scan.entities()
    lane_pid = int(x.stats["worker_pid"])  # read by the OCR lane, scanned by the main worker
    assert int(scan.stats["worker_pid"]) == main_pid
    assert lane_pid != main_pid and sorted(pool.worker_pids()) == sorted([main_pid, lane_pid])
    _, scan = pool.inspect_sync(PLAIN_MAIL)
    assert int(scan.stats["worker_pid"]) == main_pid


def test_the_ocr_lane_loads_no_scanner(pool: InspectPool) -> None:
    """Sudachi's library and dictionary are mapped in a main worker, never in the OCR lane's."""
    x, _ = pool.inspect_sync(SCREENSHOT_MAIL)
    lane_pid = int(x.stats["worker_pid"])
    (main_pid,) = [pid for pid in pool.worker_pids() if pid != lane_pid]

    def maps(pid: int) -> str:
        return Path(f"/proc/{pid}/maps").read_text()

    assert "sudachi" in maps(main_pid).lower()
    assert "sudachi" not in maps(lane_pid).lower() and "tesser" in maps(lane_pid).lower()


def test_plain_mail_passes_a_burst_of_screenshots(pool: InspectPool) -> None:
    finished: list[str] = []
    lock = threading.Lock()

    def inspect(name: str, raw: bytes) -> None:
        pool.inspect_sync(raw)
        with lock:
            finished.append(name)

    burst = [threading.Thread(target=inspect, args=(f"shot{i}", SCREENSHOT_MAIL)) for i in range(4)]
    for t in burst:
        t.start()
    time.sleep(0.5)  # the burst has reached the pool (order only: nothing here is timed)
    plain = threading.Thread(target=inspect, args=("plain", PLAIN_MAIL))
    plain.start()
    for t in [*burst, plain]:
        t.join(300)
    assert sorted(finished) == ["plain", "shot0", "shot1", "shot2", "shot3"]
    assert finished.index("plain") < 2  # one screenshot at most could have been read before it


def test_ocr_that_cannot_run_in_the_worker_is_unscannable(pool: InspectPool, tmp_path: Path) -> None:
    missing = ExtractLimits(ocr=OcrSettings(tessdata=str(tmp_path)))
    x, _ = pool.inspect_sync(SCREENSHOT_MAIL, missing)
    assert [(f.reason, f.attachment) for f in x.unscannable] == [("ocr-unavailable", "scan.png")]
    slow = ExtractLimits(ocr=OcrSettings(image_seconds=0.02))
    x, _ = pool.inspect_sync(SCREENSHOT_MAIL, slow)
    assert [f.reason for f in x.unscannable] == ["limit-ocr-time"]


def test_without_a_lane_the_main_workers_read_images() -> None:
    no_lane = InspectPool(SCAN, InspectionConfig(workers=1, ocr_workers=0))
    try:
        no_lane.start_sync()
        x, scan = no_lane.inspect_sync(SCREENSHOT_MAIL)
        assert x.stats["ocr_images"] == 1 and "JP_PHONE_NUMBER" in scan.entities()
        assert int(scan.stats["worker_pid"]) in no_lane.worker_pids() and len(no_lane.worker_pids()) == 1
    finally:
        no_lane.close_sync()
