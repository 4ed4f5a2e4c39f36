"""The embedded store: one SQLite file in WAL mode with synchronous=FULL.

Safe to share between threads (one connection per thread) and between processes on the same machine
(several SMTP receive processes and a worker process): every change runs in a `BEGIN IMMEDIATE`
transaction, which takes SQLite's single write lock up front, so a claim's select and update cannot
interleave with another writer. Readers never block (WAL).

Schema (`PRAGMA user_version` = SCHEMA_VERSION; later releases migrate from it):

- `messages`: one row per message: the queue it is on, `due_at` (when it may be claimed; while it is
  leased, when the lease runs out), the lease `token` (NULL when not leased), `received_at` (listing
  order) and the QueuedMessage fields as JSON (gateway.store.codec).
- `raw_messages`: the raw bytes as a BLOB, apart from `messages` so that a claim (which rewrites the
  row) does not rewrite megabytes of message.

A lease is "token matches and the row is still on the lease's queue"; every change after a claim is
fenced on both. `accept` writes a whole batch in one transaction: one commit, one fsync.
"""

from __future__ import annotations

import contextlib
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from gateway.message import QueuedMessage
from gateway.store import codec
from gateway.store.base import Lease, Queue, Store, StoreError

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE messages (
    id          TEXT PRIMARY KEY,
    queue       TEXT NOT NULL,
    due_at      REAL NOT NULL,
    token       TEXT,
    received_at REAL NOT NULL,
    fields      TEXT NOT NULL
);
CREATE INDEX messages_claim ON messages (queue, due_at);
CREATE INDEX messages_list ON messages (queue, received_at, id);
CREATE TABLE raw_messages (
    id   TEXT PRIMARY KEY,
    data BLOB NOT NULL
);
"""


def _is_busy(error: sqlite3.Error) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(error) or "busy" in str(error)


class SqliteStore(Store):
    def __init__(self, path: str | Path, *, busy_timeout: float = 30.0) -> None:
        self.path = Path(path)
        self._busy_timeout = busy_timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._closed = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(f"cannot create the store directory {self.path.parent}: {e}") from e
        with self._tx() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                for statement in filter(str.strip, _SCHEMA.split(";")):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            elif version > SCHEMA_VERSION:
                raise StoreError(f"{self.path} has schema version {version}; this release knows up to {SCHEMA_VERSION}")

    # -- connections and transactions

    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError("the store is closed")
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        conn = self._open()
        with self._lock:
            if self._closed:
                conn.close()
                raise StoreError("the store is closed")
            self._connections.append(conn)
        self._local.conn = conn
        return conn

    def _open(self) -> sqlite3.Connection:
        # Switching a fresh file to WAL takes an exclusive lock and, when several processes open the
        # file at once, fails with "database is locked" at once instead of waiting: retry until the
        # busy timeout. Once the file is in WAL mode (persistent) nothing needs switching.
        deadline = time.monotonic() + self._busy_timeout
        while True:
            try:
                # isolation_level=None: we issue BEGIN IMMEDIATE / COMMIT ourselves.
                # check_same_thread=False only so that close() may close every thread's connection.
                conn = sqlite3.connect(
                    self.path, timeout=self._busy_timeout, isolation_level=None, check_same_thread=False
                )
            except sqlite3.Error as e:
                raise StoreError(f"cannot open {self.path}: {e}") from e
            try:
                conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
                if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                    if str(mode).lower() != "wal":
                        raise StoreError(f"{self.path}: cannot switch to WAL mode (got {mode!r})")
                conn.execute("PRAGMA synchronous = FULL")
                return conn
            except sqlite3.OperationalError as e:
                conn.close()
                if not _is_busy(e) or time.monotonic() > deadline:
                    raise StoreError(f"cannot open {self.path}: {e}") from e
                time.sleep(0.01)
            except BaseException as e:
                conn.close()
                if isinstance(e, sqlite3.Error):
                    raise StoreError(f"cannot open {self.path}: {e}") from e
                raise

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; the write lock is taken at BEGIN, not at the first write."""
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as e:
            raise StoreError(f"store transaction failed: {e}") from e

    def _read(self, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
        try:
            return self._conn().execute(sql, params).fetchall()
        except sqlite3.Error as e:
            raise StoreError(f"store read failed: {e}") from e

    # -- the Store interface

    def accept(self, items: Sequence[tuple[QueuedMessage, bytes]], queue: Queue = Queue.INBOUND) -> None:
        if not items:
            return
        now = time.time()
        rows = [(m.id, str(queue), now, m.received_at, codec.encode(m)) for m, _ in items]
        raws = [(m.id, sqlite3.Binary(raw)) for m, raw in items]
        with self._tx() as conn:
            conn.executemany(
                "INSERT INTO messages (id, queue, due_at, token, received_at, fields) VALUES (?, ?, ?, NULL, ?, ?)",
                rows,
            )
            conn.executemany("INSERT INTO raw_messages (id, data) VALUES (?, ?)", raws)

    def claim(self, queue: Queue, limit: int, lease_seconds: float, now: float | None = None) -> list[Lease]:
        if limit <= 0:
            return []
        if lease_seconds <= 0:
            raise ValueError("lease_seconds must be positive")
        now = time.time() if now is None else now
        until = now + lease_seconds
        leases: list[Lease] = []
        with self._tx() as conn:
            rows = conn.execute(
                "SELECT id, fields FROM messages WHERE queue = ? AND due_at <= ? ORDER BY due_at, id LIMIT ?",
                (str(queue), now, limit),
            ).fetchall()
            for message_id, fields in rows:
                token = secrets.token_hex(16)
                conn.execute("UPDATE messages SET due_at = ?, token = ? WHERE id = ?", (until, token, message_id))
                leases.append(Lease(message=codec.decode(fields), queue=queue, token=token))
        return leases

    def raw(self, message_id: str) -> bytes:
        rows = self._read("SELECT data FROM raw_messages WHERE id = ?", (message_id,))
        if not rows:
            raise KeyError(message_id)
        data = rows[0][0]
        assert isinstance(data, bytes)
        return data

    def move(
        self,
        lease: Lease,
        queue: Queue,
        message: QueuedMessage,
        *,
        raw: bytes | None = None,
        due_at: float | None = None,
    ) -> bool:
        if message.id != lease.message.id:
            raise ValueError("move: the message is not the leased one")
        due = time.time() if due_at is None else due_at
        with self._tx() as conn:
            cur = conn.execute(
                "UPDATE messages SET queue = ?, due_at = ?, token = NULL, fields = ?"
                " WHERE id = ? AND queue = ? AND token = ?",
                (str(queue), due, codec.encode(message), message.id, str(lease.queue), lease.token),
            )
            if cur.rowcount != 1:
                return False
            if raw is not None:
                conn.execute("UPDATE raw_messages SET data = ? WHERE id = ?", (sqlite3.Binary(raw), message.id))
        return True

    def finish(self, lease: Lease) -> bool:
        message_id = lease.message.id
        with self._tx() as conn:
            cur = conn.execute(
                "DELETE FROM messages WHERE id = ? AND queue = ? AND token = ?",
                (message_id, str(lease.queue), lease.token),
            )
            if cur.rowcount != 1:
                return False
            conn.execute("DELETE FROM raw_messages WHERE id = ?", (message_id,))
        return True

    def release(self, lease: Lease) -> None:
        with self._tx() as conn:
            conn.execute(
                "UPDATE messages SET due_at = ?, token = NULL WHERE id = ? AND queue = ? AND token = ?",
                (time.time(), lease.message.id, str(lease.queue), lease.token),
            )

    def get(self, message_id: str) -> tuple[Queue, QueuedMessage] | None:
        rows = self._read("SELECT queue, fields FROM messages WHERE id = ?", (message_id,))
        if not rows:
            return None
        queue, fields = rows[0]
        assert isinstance(queue, str) and isinstance(fields, str)
        return Queue(queue), codec.decode(fields)

    def list_queue(self, queue: Queue, limit: int = 100) -> list[QueuedMessage]:
        rows = self._read(
            "SELECT fields FROM messages WHERE queue = ? ORDER BY received_at, id LIMIT ?",
            (str(queue), max(limit, 0)),
        )
        return [codec.decode(str(fields)) for (fields,) in rows]

    def counts(self) -> dict[Queue, int]:
        result = dict.fromkeys(Queue, 0)
        for queue, n in self._read("SELECT queue, count(*) FROM messages GROUP BY queue"):
            assert isinstance(queue, str) and isinstance(n, int)
            result[Queue(queue)] = n
        return result

    def ping(self) -> None:
        self._read("SELECT 1")

    def close(self) -> None:
        """Close every thread's connection; call it once no other call is in flight (shutdown)."""
        with self._lock:
            self._closed = True
            connections, self._connections = self._connections, []
        for conn in connections:
            with contextlib.suppress(sqlite3.Error):  # best effort: no transaction is left open
                conn.close()
