"""The quoted-reply cache gives what a full scan gives, scans quoted text seen before only once, and
keeps no text: replies to one mail quote it the same way, and their results must not change."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage

import pytest

from gateway.extract import extract_message
from gateway.inspection.quoted import QuotedCache
from gateway.scan import ScanConfig, ScanContext
from gateway.scan.engine import Scanner

ORIGINAL = (
    "お世話になっております。来週の打ち合わせの参加者です。\n"
    "高橋一郎様 携帯 090-1234-5678 メール ichiro.t@gmail.com\n"
    "〒150-0001 東京都渋谷区神宮前1-2-3 までお越しください。\n"
    "マイナンバー：123456789018\n"
)
QUOTE = "".join(f"> {line}\n" for line in ORIGINAL.splitlines())


def reply(sender: str, to: str, text: str, quote: str = QUOTE) -> bytes:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = sender, to, "Re: 打ち合わせ"
    m.set_content(f"{text}\n\n2025年7月1日 山田 wrote:\n{quote}")
    return m.as_bytes()


@pytest.fixture(scope="module")
def scanner() -> Iterator[Scanner]:
    yield Scanner(ScanConfig(ner_window_chars=0))


def context(sender: str, to: str) -> ScanContext:
    return ScanContext(sender=sender, recipients=(to,), internal_domains=("example.co.jp",))


def test_replies_to_one_mail_scan_its_quote_once_and_find_what_a_full_scan_finds(scanner: Scanner) -> None:
    cache = QuotedCache()
    replies = [
        ("taro@example.co.jp", "partner@partner.example", "承知しました。"),
        ("taro@example.co.jp", "partner@partner.example", "資料は佐藤花子様（080-9876-5432）にお渡しします。"),
        ("taro@example.co.jp", "partner@partner.example", "よろしくお願いします。"),
    ]
    for sender, to, text in replies:
        segments = extract_message(reply(sender, to, text)).segments
        assert any(s.quoted and len(s.text) >= cache.min_chars for s in segments)
        cached = cache.scan(scanner, segments, context(sender, to))
        full = scanner.scan(segments, context(sender, to))
        assert cached.to_json() == full.to_json() and cached.heads == full.heads
        assert any(f.quoted for f in cached.personal) and "JP_MY_NUMBER" in cached.entities()
    assert (cache.hits, cache.misses) == (2, 1)


def test_another_context_is_another_entry(scanner: Scanner) -> None:
    """Who sends and receives decides what is quiet: the same quote between other people is scanned."""
    cache = QuotedCache()
    for sender, to in [("taro@example.co.jp", "a@partner.example"), ("taro@example.co.jp", "b@other.example")]:
        segments = extract_message(reply(sender, to, "承知しました。")).segments
        assert (
            cache.scan(scanner, segments, context(sender, to)).to_json()
            == scanner.scan(segments, context(sender, to)).to_json()
        )
    assert (cache.hits, cache.misses) == (0, 2)


def test_a_quoted_list_that_makes_the_message_bulk_is_scanned_again(scanner: Scanner) -> None:
    rows = "".join(f"> 山田{i}様 090-1234-{i:04d} yamada{i}@example.com\n" for i in range(scanner.config.bulk_records))
    cache = QuotedCache()
    ctx = context("taro@example.co.jp", "partner@partner.example")
    for text in ("一覧です。", "再送します。"):
        segments = extract_message(reply("taro@example.co.jp", "partner@partner.example", text, rows)).segments
        cached, full = cache.scan(scanner, segments, ctx), scanner.scan(segments, ctx)
        assert cached.to_json() == full.to_json() and cached.bulk is not None
    assert cache.hits == 0


def test_the_cache_is_bounded_and_keeps_hashes_only(scanner: Scanner) -> None:
    cache = QuotedCache(max_entries=2)
    ctx = context("taro@example.co.jp", "partner@partner.example")
    for i in range(4):
        quote = "".join(f"> {i} {line}\n" for line in ORIGINAL.splitlines())
        cache.scan(scanner, extract_message(reply(ctx.sender, ctx.recipients[0], "はい", quote)).segments, ctx)
    assert len(cache) == 2
    for key, entry in cache._entries.items():
        assert len(key) == 32  # a SHA-256 digest, not the text
        assert all("090-1234-5678" not in s and "123456789018" not in s for f in entry.findings for s in f.samples)
