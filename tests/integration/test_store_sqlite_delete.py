"""The SQLite store's writer deletes with secure_delete = FAST (gateway/store/sqlite.py, _open_writer):
what a delete writes anyway is zeroed (the row), the freed overflow pages of a large message are not
rewritten. Either way a finished or moved message is gone from every reading of the store."""

from __future__ import annotations

import time
from pathlib import Path

from gateway.message import Envelope, QueuedMessage, new_message_id
from gateway.store.base import Queue
from gateway.store.sqlite import SqliteStore

ENVELOPE = Envelope(mail_from="a@example.co.jp", rcpt_tos=("b@example.com",), client_address="127.0.0.1", helo="h")


def message() -> QueuedMessage:
    return QueuedMessage(id=new_message_id(), envelope=ENVELOPE, received_at=time.time(), pending=ENVELOPE.rcpt_tos)


def test_the_writer_deletes_with_secure_delete_fast(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "gateway.db")
    try:
        conn = store._writer._conn
        assert conn is not None
        assert conn.execute("PRAGMA secure_delete").fetchone()[0] == 2  # FAST
    finally:
        store.close()


def test_finished_messages_are_gone_and_their_pages_reused(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "gateway.db")
    try:
        ids = []
        for i in range(40):
            m = message()
            store.accept([(m, bytes([65 + i % 26]) * 150_000)])
            [lease] = store.claim(Queue.INBOUND, 1, 60)
            assert store.finish(lease)
            ids.append(m.id)
        assert store.raws(ids, 1 << 30) == {}
        assert store.counts()[Queue.INBOUND] == 0
        # the freed pages are reused: the database holds about one message's pages, not forty
        pages = store._conn().execute("PRAGMA page_count").fetchone()[0]
        assert pages * 4096 < 3 * 150_000
    finally:
        store.close()
