"""The recipient history contract on both backends (SQLite file, real Redis db 15), and the imports."""

from __future__ import annotations

import gzip
import secrets
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from gateway.recipients.history import RecipientHistory
from gateway.recipients.history_backends import open_history
from gateway.recipients.history_import import ImportCounts, import_csv, import_files, import_postfix_log

DATA = Path(__file__).parents[2] / "data" / "recipients"
NOW = time.mktime((2025, 6, 1, 12, 0, 0, 0, 0, -1))
S = "taro.yamada@example.co.jp"


@pytest.fixture(params=["sqlite", "redis"])
def history(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RecipientHistory]:
    if request.param == "sqlite":
        h = open_history(f"sqlite:///{tmp_path}/gateway.db")
        yield h
        h.close()
        return
    url: str = request.getfixturevalue("redis_url")
    prefix = f"test-rh-{secrets.token_hex(6)}"
    h = open_history(f"{url}?prefix={prefix}")
    try:
        yield h
    finally:
        client = redis.Redis.from_url(url)
        for key in client.scan_iter(match=f"{prefix}:*"):
            client.delete(key)
        left = list(client.scan_iter(match=f"{prefix}:*"))
        client.close()
        h.close()
        assert left == []


def test_record_and_query(history: RecipientHistory) -> None:
    assert history.record_delivery(S, ["A@Sakura-Shoji.co.jp", "b@sakura-shoji.co.jp", "bad%x@y.example"], NOW) == 2
    assert history.has_sent(S, "a@sakura-shoji.co.jp", NOW - 10)
    assert history.has_sent("TARO.YAMADA@example.co.jp", "A@SAKURA-SHOJI.CO.JP", NOW - 10)
    assert not history.has_sent(S, "c@sakura-shoji.co.jp", NOW - 10)
    assert not history.has_sent("other@example.co.jp", "a@sakura-shoji.co.jp", NOW - 10)
    assert not history.has_sent(S, "a@sakura-shoji.co.jp", NOW + 1)  # outside the window
    assert history.org_seen("sakura-shoji.co.jp", NOW - 10)
    assert not history.org_seen("sakura-shoji.co.jp", NOW + 1)
    assert not history.org_seen("partner-bank.co.jp", 0)
    assert history.sent_to(S, ["a@sakura-shoji.co.jp", "x@y.example", "b@sakura-shoji.co.jp"], 0) == {
        "a@sakura-shoji.co.jp",
        "b@sakura-shoji.co.jp",
    }
    assert history.counts() == {"pairs": 2, "orgs": 1}


def test_null_sender_is_never_recorded(history: RecipientHistory) -> None:
    assert history.record_delivery("", ["a@customer.example"], NOW) == 0
    assert not history.org_seen("customer.example", 0)


def test_times_only_move_forward(history: RecipientHistory) -> None:
    history.record_delivery(S, ["a@customer.example"], NOW)
    history.record_delivery(S, ["a@customer.example"], NOW - 1000)  # an old log imported later
    assert history.has_sent(S, "a@customer.example", NOW - 1)
    assert history.org_seen("customer.example", NOW - 1)


def test_top_domains(history: RecipientHistory) -> None:
    for i in range(5):
        history.record_delivery(S, [f"p{i}@big.example", "x@mid.example"], NOW)
    history.record_delivery(S, ["y@mid.example.co.jp"], NOW)
    history.record_delivery(S, ["z@old.example"], NOW - 10 * 86400)
    history.record_delivery(S, ["z@old.example"], NOW - 10 * 86400)
    assert history.top_domains(2) == [("big.example", 5), ("mid.example", 5)] or history.top_domains(2) == [
        ("mid.example", 5),
        ("big.example", 5),
    ]
    recent = dict(history.top_domains(10, since=NOW - 86400))
    assert recent == {"big.example": 5, "mid.example": 5, "example.co.jp": 1}  # organisations


def test_many_at_once_and_large_batches(history: RecipientHistory) -> None:
    rcpts = [f"user{i}@org{i % 50}.example" for i in range(1200)]
    assert history.record_delivery(S, rcpts, NOW) == 1200
    assert history.sent_to(S, rcpts, 0) == set(rcpts)
    assert history.orgs_seen([f"org{i}.example" for i in range(60)], 0) == {f"org{i}.example" for i in range(50)}
    history.clear()
    assert history.counts() == {"pairs": 0, "orgs": 0}


def test_import_postfix_log(history: RecipientHistory) -> None:
    seen: list[ImportCounts] = []
    counts = import_postfix_log(
        DATA / "maillog.sample",
        history,
        internal_domains=["example.co.jp"],
        ignore_relays=["127.0.0.1:10025"],
        progress=seen.append,
        now=NOW,
    )
    assert counts.to_json() == {
        "lines": 31,
        "messages": 7,
        "deliveries": 11,
        "recorded": 6,
        "not_sent": 2,
        "skipped_no_sender": 1,
        "skipped_null_sender": 1,
        "skipped_foreign_sender": 1,
        "skipped_relay": 1,
        "skipped_invalid": 1,
    }
    assert seen and seen[-1] is counts
    assert history.has_sent(S, "tanaka@sakura-shoji.co.jp", 0)  # case folded, two log formats
    assert history.has_sent("hanako@example.co.jp", "info@partner-bank.co.jp", 0)
    assert history.has_sent("jiro@sales.example.co.jp", "contact@city.shibuya.tokyo.lg.jp", 0)
    assert not history.has_sent("hanako@example.co.jp", "nobody@gone.example", 0)  # bounced
    assert not history.has_sent("hanako@example.co.jp", "slow@tarpit.example.net", 0)  # deferred
    assert not history.org_seen("example.co.jp", 0)  # the bounce and the incoming mail are skipped
    assert history.org_seen("shibuya.tokyo.lg.jp", 0) and not history.org_seen("tokyo.lg.jp", 0)
    assert dict(history.top_domains(10))["sakura-shoji.co.jp"] == 3


def test_import_without_filters_and_gzip(history: RecipientHistory, tmp_path: Path) -> None:
    gz = tmp_path / "maillog.1.gz"
    with open(DATA / "maillog.sample", "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    counts = import_postfix_log(gz, history, now=NOW)
    assert (counts.recorded, counts.skipped_foreign_sender, counts.skipped_relay) == (8, 0, 0)
    assert history.has_sent("sales@customer.com.au", "taro.yamada@example.co.jp", 0)


def test_syslog_dates_without_year(history: RecipientHistory) -> None:
    import_postfix_log(DATA / "maillog.sample", history, now=NOW)
    march_2 = time.mktime((2025, 3, 2, 0, 0, 0, 0, 0, -1))
    assert history.has_sent("hanako@example.co.jp", "info@partner-bank.co.jp", march_2)
    assert not history.has_sent("hanako@example.co.jp", "info@partner-bank.co.jp", march_2 + 86400)
    # Read in January 2026, "Mar 2" is last March, not a date in the future.
    history.clear()
    import_postfix_log(DATA / "maillog.sample", history, now=time.mktime((2026, 1, 10, 0, 0, 0, 0, 0, -1)))
    assert history.has_sent("hanako@example.co.jp", "info@partner-bank.co.jp", march_2)
    assert not history.has_sent("hanako@example.co.jp", "info@partner-bank.co.jp", march_2 + 86400)


def test_import_csv(history: RecipientHistory) -> None:
    counts = import_csv(DATA / "history.csv", history)
    assert (counts.messages, counts.deliveries, counts.recorded, counts.skipped_invalid) == (3, 4, 4, 3)
    assert history.has_sent(S, "desk@partner-bank.co.jp", 1738371600)
    assert not history.has_sent(S, "desk@partner-bank.co.jp", 1738371601)
    assert history.has_sent("hanako@example.co.jp", "office@u-tokyo.ac.jp", 0)


def test_import_csv_needs_the_columns(history: RecipientHistory, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("from,to,date\na@b.example,c@d.example,2025-01-01\n", encoding="utf-8")
    with pytest.raises(ValueError, match="sender, recipient, sent_at"):
        import_csv(bad, history)


def test_open_history_rejects_unknown_urls() -> None:
    with pytest.raises(ValueError):
        open_history("mysql://x")
    with pytest.raises(ValueError):
        open_history("sqlite:///")


def test_import_files_as_the_cli_runs_it(history: RecipientHistory) -> None:
    lines: list[str] = []
    totals = import_files(
        history,
        postfix=[DATA / "maillog.sample"],
        csv_files=[DATA / "history.csv"],
        internal_domains=["example.co.jp"],
        ignore_relays=["127.0.0.1:10025"],
        echo=lines.append,
    )
    assert totals.recorded == 6 + 4
    assert any("done: 6 recorded" in line for line in lines)
    assert lines[-1].startswith("history now holds")
    assert not any("@" in line for line in lines)  # no addresses printed


async def test_unreachable_history_leaves_first_time_unknown() -> None:
    from gateway.config.recipients import RecipientsConfig
    from gateway.message import Envelope
    from gateway.recipients.assess import RecipientContext, assess_recipients
    from tests.support.net import free_port

    history = open_history(f"redis://127.0.0.1:{free_port()}/15")  # nothing listens there
    cfg = RecipientsConfig.model_validate({"dns": {"enabled": False}})
    ctx = RecipientContext.create(cfg, ["example.co.jp"], history=history)
    result = await assess_recipients(Envelope(S, ("a@customer.example",)), None, ctx, now=NOW)
    r = result.recipients[0]
    assert (r.first_time_sender, r.first_time_org) == (None, None)
    assert r.signals == ["external"]


def test_prune_forgets_what_was_last_used_before_the_cut(history: RecipientHistory) -> None:
    old, new = NOW - 500 * 86400, NOW
    history.record_delivery(S, ["gone@old-partner.co.jp", "both@sakura-shoji.co.jp"], old)
    history.record_delivery("other@example.co.jp", ["x@old-partner.co.jp"], old)
    history.record_delivery(S, ["both@sakura-shoji.co.jp", "fresh@sakura-shoji.co.jp"], new)
    assert history.counts() == {"pairs": 4, "orgs": 2}

    removed = history.prune(NOW - 400 * 86400)

    assert removed == {"pairs": 2, "orgs": 1}
    assert history.counts() == {"pairs": 2, "orgs": 1}
    assert history.sent_to(S, ["gone@old-partner.co.jp", "both@sakura-shoji.co.jp", "fresh@sakura-shoji.co.jp"], 0) == {
        "both@sakura-shoji.co.jp",  # used again later: kept
        "fresh@sakura-shoji.co.jp",
    }
    assert not history.org_seen("old-partner.co.jp", 0)
    assert [org for org, _ in history.top_domains(10)] == ["sakura-shoji.co.jp"]
    assert history.prune(NOW - 400 * 86400) == {"pairs": 0, "orgs": 0}  # idempotent


def test_the_delivery_part_prunes_in_the_background(
    history: RecipientHistory, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import asyncio
    import logging

    from gateway.recipients import pruning

    monkeypatch.setattr(pruning, "FIRST_DELAY_SECONDS", 0.0)
    history.record_delivery(S, ["gone@old-partner.co.jp"], time.time() - 500 * 86400)
    history.record_delivery(S, ["kept@sakura-shoji.co.jp"], time.time())

    async def run() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(pruning.prune_periodically(history, 400.0, stop))
        for _ in range(500):
            await asyncio.sleep(0.01)
            if history.counts()["pairs"] == 1:
                break
        stop.set()
        await task

    with caplog.at_level(logging.INFO, logger="gateway.recipients.pruning"):
        asyncio.run(run())
    assert history.counts() == {"pairs": 1, "orgs": 1}
    assert "1 pair(s) and 1 organisation(s) unused for 400 days deleted" in caplog.text
    assert "@" not in caplog.text
