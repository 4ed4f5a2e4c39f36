"""The contact book contract on both backends (SQLite file, real Redis db 15), the delivery
recorder learning from lessons, and `gateway history import --mbox/--maildir`."""

from __future__ import annotations

import asyncio
import mailbox
import secrets
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
import redis

from gateway.recipients.contacts import DISPLAY, ORG, PERSON, SHORT, SURNAME, ContactBook, Lesson, NameRow
from gateway.recipients.contacts_backends import open_contacts
from gateway.recipients.history_sqlite import SqliteHistory
from gateway.recipients.mail_import import import_mailboxes
from gateway.recipients.recorder import HistoryRecorder

NOW = time.mktime((2026, 6, 1, 12, 0, 0, 0, 0, -1))


@pytest.fixture(params=["sqlite", "redis"])
def book(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ContactBook]:
    if request.param == "sqlite":
        b = open_contacts(f"sqlite:///{tmp_path}/gateway.db")
        yield b
        b.close()
        return
    url: str = request.getfixturevalue("redis_url")
    prefix = f"test-ct-{secrets.token_hex(6)}"
    b = open_contacts(f"{url}?prefix={prefix}")
    try:
        yield b
    finally:
        b.clear()
        client = redis.Redis.from_url(url)
        left = list(client.scan_iter(match=f"{prefix}:*"))
        client.close()
        b.close()
        assert left == []


def test_learn_and_ask(book: ContactBook) -> None:
    one = Lesson(
        recipient_orgs={"yamada@example-client.com": "example-client.com"},
        names=[(ORG, "エグザンプル"), (SHORT, "エグザ"), (PERSON, "山田")],
        displays={"yamada@example-client.com": ["山田太郎", "山田"]},
        threads=["<m1@example.co.jp>"],
        files=["ab" * 32],
    )
    assert book.learn(one, ["YAMADA@example-client.com"], NOW) == 7
    rows = sorted(book.names(["エグザンプル", "山田", "山田太郎", "nobody"], NOW - 10), key=lambda r: (r.key, r.kind))
    assert [(r.key, r.kind, r.org) for r in rows] == [
        ("エグザンプル", ORG, "example-client.com"),
        ("山田", PERSON, "example-client.com"),
        ("山田", SURNAME, "example-client.com"),
        ("山田太郎", DISPLAY, "example-client.com"),
    ]
    assert all(isinstance(r, NameRow) and r.when == NOW for r in rows)
    assert book.names(["エグザンプル"], NOW + 1) == []  # outside the window
    assert book.thread_orgs(["<m1@example.co.jp>", "<other@x>"], 0) == {"example-client.com"}
    assert book.file_orgs(["ab" * 32, "cd" * 32], 0) == {"ab" * 32: {"example-client.com"}}
    assert book.counts() == {"names": 5, "threads": 1, "files": 1}


def test_only_organisations_delivered_to_learn(book: ContactBook) -> None:
    two = Lesson(
        recipient_orgs={"a@one.example": "one.example", "b@two.example": "two.example"},
        names=[(ORG, "エグザンプル")],
        displays={"a@one.example": ["鈴木一郎", "鈴木"]},
        threads=["<t@x>"],
        files=["ef" * 32],
    )
    # Delivered to one of the two: names are learned for it alone.
    book.learn(two, ["a@one.example"], NOW)
    assert {(r.kind, r.org) for r in book.names(["エグザンプル", "鈴木一郎"], 0)} == {
        (ORG, "one.example"),
        (DISPLAY, "one.example"),
    }
    # Delivered to both: names are not attributable, threads and files go to both.
    book.clear()
    book.learn(two, ["a@one.example", "b@two.example"], NOW)
    assert {(r.kind, r.org) for r in book.names(["エグザンプル"], 0)} == set()
    assert book.thread_orgs(["<t@x>"], 0) == {"one.example", "two.example"}
    assert book.file_orgs(["ef" * 32], 0) == {"ef" * 32: {"one.example", "two.example"}}
    # Delivered to nobody external, or an unreadable lesson: nothing.
    book.clear()
    assert book.learn(two, ["boss@example.co.jp"], NOW) == 0
    assert book.learn("not json", ["a@one.example"], NOW) == 0
    assert book.learn("", ["a@one.example"], NOW) == 0
    assert book.counts() == {"names": 0, "threads": 0, "files": 0}


def test_times_only_move_forward_and_prune_keeps_what_was_used(book: ContactBook) -> None:
    lesson = Lesson(recipient_orgs={"a@one.example": "one.example"}, names=[(ORG, "a")], threads=["<t@x>"], files=["f"])
    book.learn(lesson, ["a@one.example"], NOW)
    book.learn(lesson, ["a@one.example"], NOW - 1000)  # an older import: the last time stays
    assert book.names(["a"], NOW)[0].when == NOW
    old = Lesson(recipient_orgs={"b@two.example": "two.example"}, names=[(ORG, "b")], threads=["<o@x>"], files=["g"])
    book.learn(old, ["b@two.example"], NOW - 500 * 86400)
    assert book.prune(NOW - 400 * 86400) == {"names": 1, "threads": 1, "files": 1}
    assert [r.key for r in book.names(["a", "b"], 0)] == ["a"]
    assert book.thread_orgs(["<o@x>"], 0) == set() and book.file_orgs(["g"], 0) == {}
    assert book.prune(NOW - 400 * 86400) == {"names": 0, "threads": 0, "files": 0}


def test_learn_many_in_one_write(book: ContactBook) -> None:
    items = [
        (
            Lesson(recipient_orgs={f"c@org{i}.example": f"org{i}.example"}, names=[(ORG, f"社{i}")]).to_json(),
            [f"c@org{i}.example"],
            NOW,
        )
        for i in range(50)
    ]
    assert book.learn_many(items) == 50
    assert len(book.names([f"社{i}" for i in range(50)], 0)) == 50


def test_the_recorder_learns_from_delivered_mail(tmp_path: Path) -> None:
    history = SqliteHistory(tmp_path / "g.db")
    book = open_contacts(f"sqlite:///{tmp_path}/g.db")
    lesson = Lesson(recipient_orgs={"a@one.example": "one.example"}, names=[(ORG, "エグザンプル")]).to_json()

    async def run() -> None:
        recorder = HistoryRecorder(history, contacts=book)
        recorder.add("taro@example.co.jp", ["a@one.example"], NOW, lesson)
        recorder.add("taro@example.co.jp", ["b@two.example"], NOW)  # no lesson: history only
        await recorder.drain()

    asyncio.run(run())
    assert history.sent_to("taro@example.co.jp", ["a@one.example", "b@two.example"], 0) == {
        "a@one.example",
        "b@two.example",
    }
    assert [(r.key, r.org) for r in book.names(["エグザンプル"], 0)] == [("エグザンプル", "one.example")]
    history.close()
    book.close()


def _sent(
    to: str, body: str, sender: str = "taro@example.co.jp", date: str = "Mon, 01 Jun 2026 10:00:00 +0900"
) -> bytes:
    m = EmailMessage()
    m["From"] = f"山田 太郎 <{sender}>"
    m["To"] = to
    m["Subject"] = "ご連絡"
    m["Date"] = date
    m["Message-ID"] = f"<{secrets.token_hex(6)}@example.co.jp>"
    m.set_content(body)
    return m.as_bytes()


@pytest.mark.parametrize("kind", ["mbox", "maildir"])
def test_import_from_a_sent_mail_folder(tmp_path: Path, kind: str) -> None:
    messages = [
        _sent(
            "鈴木 一郎 <suzuki@example-client.com>", "株式会社エグザンプル 営業部 鈴木様\n\nお世話になっております。\n"
        ),
        _sent("佐藤 <sato@hokuto-shoji.co.jp>", "北斗商事 御中\n\nお世話になっております。\n"),
        _sent("me <taro@example.co.jp>", "社内\n"),  # internal only: history, nothing to learn
        _sent("taro@example.co.jp", "incoming\n", sender="stranger@elsewhere.example"),  # not ours: skipped
    ]
    if kind == "mbox":
        box: mailbox.Mailbox[mailbox.Message] = mailbox.mbox(tmp_path / "Sent")
    else:
        box = mailbox.Maildir(tmp_path / "Sent")
    for raw in messages:
        box.add(raw)
    box.close()
    history = SqliteHistory(tmp_path / "g.db")
    book = open_contacts(f"sqlite:///{tmp_path}/g.db")
    lines: list[str] = []
    counts = import_mailboxes(
        history,
        book,
        mbox=[str(tmp_path / "Sent")] if kind == "mbox" else [],
        maildirs=[str(tmp_path / "Sent")] if kind == "maildir" else [],
        internal_domains=["example.co.jp"],
        echo=lines.append,
    )
    assert (counts.messages, counts.imported, counts.skipped_foreign_sender) == (4, 3, 1)
    assert counts.recorded == 3
    when = time.mktime((2026, 6, 1, 10, 0, 0, 0, 0, -1))
    assert history.sent_to("taro@example.co.jp", ["suzuki@example-client.com"], when - 86400 * 2)
    assert {(r.key, r.kind, r.org) for r in book.names(["エグザンプル", "北斗商事", "鈴木一郎"], 0)} == {
        ("エグザンプル", ORG, "example-client.com"),
        ("北斗商事", ORG, "hokuto-shoji.co.jp"),
        ("鈴木一郎", DISPLAY, "example-client.com"),
    }
    assert "4 messages" in lines[-1] and "@" not in lines[-1]
    history.close()
    book.close()
