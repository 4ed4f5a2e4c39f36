"""Lease operations (claim, claim_message, renew) commit without waiting for the disk; every other
write, and any transaction that carries one with them, waits (gateway/store/sqlite.py, _Writer). The
connection's setting is read back from SQLite after each kind of write; what a lease led to (a
move, a finish) is durable and lands after it."""

from __future__ import annotations

import time
from pathlib import Path

from gateway.message import Envelope, QueuedMessage, new_message_id
from gateway.store.base import Queue
from gateway.store.sqlite import SqliteStore, _Op

ENVELOPE = Envelope(mail_from="a@example.co.jp", rcpt_tos=("b@example.com",), client_address="127.0.0.1", helo="h")
NORMAL, FULL = 1, 2


def message() -> QueuedMessage:
    return QueuedMessage(id=new_message_id(), envelope=ENVELOPE, received_at=time.time(), pending=ENVELOPE.rcpt_tos)


def synchronous(store: SqliteStore) -> int:
    conn = store._writer._conn
    assert conn is not None
    return int(conn.execute("PRAGMA synchronous").fetchone()[0])


def test_leases_commit_without_the_disk_and_everything_else_with_it(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "gateway.db")
    try:
        m = message()
        store.accept([(m, b"Subject: x\r\n\r\nbody\r\n")])
        assert synchronous(store) == FULL
        [lease] = store.claim(Queue.INBOUND, 10, 60)
        assert synchronous(store) == NORMAL
        assert store.renew([lease], 60) == [True]
        assert synchronous(store) == NORMAL
        assert store.move(lease, Queue.OUTBOUND, lease.message)
        assert synchronous(store) == FULL
        again = store.claim_message(Queue.OUTBOUND, m.id, 60)
        assert again is not None and synchronous(store) == NORMAL
        assert store.finish(again)
        assert synchronous(store) == FULL
        assert store.counts()[Queue.OUTBOUND] == 0
    finally:
        store.close()


def test_a_transaction_carrying_a_durable_write_waits_for_the_disk(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "gateway.db")
    try:
        m = message()
        store.accept([(m, b"Subject: x\r\n\r\nbody\r\n")])
        store.claim(Queue.INBOUND, 10, 60)  # leaves the connection at NORMAL
        assert synchronous(store) == NORMAL
        seen: list[int] = []
        lease_op = _Op(lambda conn: seen.append(int(conn.execute("PRAGMA synchronous").fetchone()[0])), durable=False)
        durable_op = _Op(lambda conn: conn.execute("UPDATE messages SET due_at = due_at"))
        store._writer._run_locked([lease_op, durable_op])
        assert lease_op.finished and durable_op.finished and lease_op.error is None and durable_op.error is None
        assert seen == [FULL]
    finally:
        store.close()
