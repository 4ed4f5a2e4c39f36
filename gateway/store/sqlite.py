"""The embedded store: one SQLite file in WAL mode with synchronous=FULL.

Safe to share between threads and between processes on the same machine (several SMTP receive
processes and a worker process). Readers use one connection per thread and never block (WAL).

Writes are coalesced. With synchronous=FULL every commit costs an fsync, and the workers call
claim/move/finish from many threads at once; one transaction per call would cap the whole node at the
disk's fsync rate. So the write operations of a store (accept, claim, claim_message, move, finish,
release), from all its threads, go through one writer (`_Writer`): one transaction runs at a time, and
the next one carries every operation that arrived meanwhile, in one `BEGIN IMMEDIATE` ... `COMMIT`: one
write lock, one fsync (group commit, without waiting on any timer). Each operation runs inside a
SAVEPOINT of its own, so it keeps its exact meaning: one that raises (a duplicate id in an accept
batch) is rolled back alone, all or none, and the others still commit. A caller returns only after the
COMMIT that holds its operation has returned (durable); if the commit fails, every caller in it gets
StoreError (nothing they were told is stored is lost, at worst a 451 leads to a duplicate).
`BEGIN IMMEDIATE` takes SQLite's single write lock up front, so a claim's select and update cannot
interleave with another process's writer. Before it, every writer of the file (the store's, the
history's and the holds' connections, in every process) takes a flock on `<file>-writelock`
(sqlite_file.WriteLock): waiting writers wake the moment the lock is free instead of in SQLite's
busy-handler sleeps (1, 2, 5, 10 ms ...), which would otherwise set the pace of several processes.

Schema (`PRAGMA user_version` = SCHEMA_VERSION; later releases migrate from it):

- `messages`: one row per message: the queue it is on, `due_at` (when it may be claimed; while it is
  leased, when the lease runs out), the lease `token` (NULL when not leased), `received_at` (listing
  order) and the QueuedMessage fields as JSON (gateway.store.codec).
- `raw_messages`: the raw bytes as a BLOB, apart from `messages` so that a claim (which rewrites the
  row) does not rewrite megabytes of message.

A lease is "token matches and the row is still on the lease's queue"; every change after a claim is
fenced on both. A message is leased while its token is set and its `due_at` (the lease's end) is in the
future.

A store must not be used across fork(): open it again in the child (the gateway spawns its processes).
"""

from __future__ import annotations

import contextlib
import secrets
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from gateway.message import QueuedMessage
from gateway.store import codec
from gateway.store.base import Lease, Queue, Store, StoreError
from gateway.store.owner import SEPARATOR, Owner, current, default_node_id, token_owner
from gateway.store.sqlite_file import NodeLock, WriteLock, connect_wal, prepare_private

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
# Added to every schema version (harmless if present): finds the leases for `reclaim` without a scan.
_LEASED_INDEX = "CREATE INDEX IF NOT EXISTS messages_leased ON messages (token) WHERE token IS NOT NULL"

# Operations per transaction at most: bounds the time one transaction holds the write lock.
MAX_BATCH = 256

_T = TypeVar("_T")
_Conn = sqlite3.Connection


def _store_error(error: Exception) -> Exception:
    """sqlite errors become StoreError (callers answer 4xx); anything else passes as it is."""
    if isinstance(error, sqlite3.Error):
        wrapped = StoreError(f"store transaction failed: {error}")
        wrapped.__cause__ = error
        return wrapped
    return error


@dataclass(eq=False)
class _Op:
    """One caller's write operation, waiting for the transaction that carries it to commit."""

    run: Callable[[_Conn], Any]
    durable: bool = True  # False: a lease operation, which a crash of the machine may undo (see _Writer)
    result: Any = None
    error: Exception | None = None
    finished: bool = False
    # Set once: when the operation is finished, or when its caller is to lead the next transaction.
    wake: threading.Event = field(default_factory=threading.Event)

    def finish(self, error: Exception | None = None) -> None:
        if error is not None:
            self.error = error
        self.finished = True
        self.wake.set()


class _Writer:
    """Group commit of a store's writes: one transaction runs at a time, carrying every waiting operation.

    No thread of its own: the caller that finds the writer idle leads. It takes every operation waiting
    (its own among them), runs them in one transaction on the writer's connection, and wakes their
    callers; then it hands the lead to the caller of the first operation that arrived meanwhile, and
    returns. A lone caller so pays no thread switch; under load, the callers that arrive while one
    transaction is being synced to disk share the next one.

    A transaction of lease operations alone (claims, renewals: `durable=False`) commits without
    waiting for the disk (synchronous = NORMAL, WAL mode): the next durable commit, of any process of
    the file, syncs the WAL with it. A crash of the machine may undo such a lease, never a message or
    its move: the message is then due again, as if its lease had run out, and the processes that held
    it died with the machine (the node takes back its dead processes' leases at start). Whatever a
    lease led to (a move, a finish) is a durable write that comes after it in the WAL.
    """

    def __init__(self, connect: Callable[[], _Conn], max_batch: int, write_lock: WriteLock) -> None:
        self._connect = connect
        self._write_lock = write_lock
        self._max_batch = max_batch
        self._conn: _Conn | None = None  # used by one leader at a time
        self._synchronous = ""  # the connection's setting, as last set
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._waiting: deque[_Op] = deque()
        self._busy = False  # a leader is running (or has been woken to run) a transaction
        self._closed = False
        self.submitted = 0  # operations handed in (for tests and benchmarks)
        self.transactions = 0  # transactions committed

    def submit(self, run: Callable[[_Conn], _T], durable: bool = True) -> _T:
        """Run `run(conn)` in a write transaction; return its result once that transaction committed
        (and, if `durable`, is on disk)."""
        op = _Op(run, durable)
        with self._lock:
            if self._closed:
                raise StoreError("the store is closed")
            self._waiting.append(op)
            self.submitted += 1
            lead = not self._busy
            self._busy = True
        if not lead:
            try:
                op.wake.wait()
            except BaseException:  # an interrupt while waiting: this caller is gone
                self._abandon(op)
                raise
        if not op.finished:
            self._lead(op)
        if op.error is not None:
            raise op.error
        result: _T = op.result
        return result

    def waiting(self) -> int:
        """Operations handed in and not yet taken into a transaction (for tests)."""
        with self._lock:
            return len(self._waiting)

    def close(self) -> None:
        """Take no more operations; wait for those handed in already; close the connection."""
        with self._lock:
            self._closed = True
            while self._busy:
                self._idle.wait()
            conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    def _lead(self, mine: _Op) -> None:
        batch: list[_Op] = []
        try:
            while not mine.finished:
                with self._lock:
                    n = min(len(self._waiting), self._max_batch)
                    batch = [self._waiting.popleft() for _ in range(n)]
                self._run(batch)
        except BaseException as e:
            # A bug (or an interrupt) must neither leave callers waiting nor let them answer 250.
            if self._conn is not None and self._conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("ROLLBACK")
            for op in batch:
                if not op.finished:
                    op.finish(StoreError(f"store writer failed: {type(e).__name__}: {e}"))
            if not isinstance(e, Exception):
                raise
        finally:
            with self._lock:
                self._hand_on()

    def _hand_on(self) -> None:
        """With the lock held, as a leader is done: the caller of the first waiting operation leads next."""
        if self._waiting:
            self._waiting[0].wake.set()
        else:
            self._busy = False
            self._idle.notify_all()

    def _abandon(self, op: _Op) -> None:
        """Withdraw an operation whose caller stopped waiting, unless a transaction has taken it already."""
        with self._lock:
            if op in self._waiting:
                self._waiting.remove(op)
                if op.wake.is_set():  # it had just been handed the lead: pass it on
                    self._hand_on()

    def _run(self, batch: list[_Op]) -> None:
        with self._write_lock:
            self._run_locked(batch)

    def _run_locked(self, batch: list[_Op]) -> None:
        try:
            if self._conn is None:
                self._conn = self._connect()
                self._synchronous = "FULL"  # as connect_wal sets it
            conn = self._conn
            synchronous = "FULL" if any(op.durable for op in batch) else "NORMAL"
            if synchronous != self._synchronous:
                conn.execute(f"PRAGMA synchronous = {synchronous}")
                self._synchronous = synchronous
            conn.execute("BEGIN IMMEDIATE")
        except Exception as e:
            error = _store_error(e)
            for op in batch:
                op.finish(StoreError(str(error)))
            return
        ran: list[_Op] = []
        for i, op in enumerate(batch):
            try:
                conn.execute("SAVEPOINT op")
                op.result = op.run(conn)
                conn.execute("RELEASE op")
                ran.append(op)
                continue
            except Exception as e:
                op.error = _store_error(e)
            try:
                if conn.in_transaction:
                    conn.execute("ROLLBACK TO op")
                    conn.execute("RELEASE op")
            except sqlite3.Error:
                with contextlib.suppress(sqlite3.Error):
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
            if not conn.in_transaction:
                # SQLite rolled the whole transaction back (I/O error, disk full ...): this operation
                # and those that failed before it fail; those that ran were undone with it and go
                # again, first, with the rest.
                for failed in batch[: i + 1]:
                    if failed.error is not None:
                        failed.finish()
                with self._lock:
                    self._waiting.extendleft(reversed(ran + batch[i + 1 :]))
                return
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as e:
            with contextlib.suppress(sqlite3.Error):
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            for op in batch:
                if op.error is None:
                    op.error = StoreError(f"store commit failed: {e}")
                    op.error.__cause__ = e
                op.finish()
            return
        self.transactions += 1
        for op in batch:
            op.finish()


class SqliteStore(Store):
    def __init__(
        self, path: str | Path, *, busy_timeout: float = 30.0, max_batch: int = MAX_BATCH, node_id: str | None = None
    ) -> None:
        self.path = Path(path)
        self.node_id = node_id
        self._busy_timeout = busy_timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._closed = False
        prepare_private(str(self.path))
        self._write_lock = WriteLock(str(self.path))
        self._node = node_id or default_node_id()
        # While open, this store's process holds its node's lock: a node whose lock is free is gone.
        self._node_lock = NodeLock(str(self.path), self._node)
        self._writer = _Writer(self._open_writer, max_batch, self._write_lock)
        try:
            self._writer.submit(self._create_schema)
        except BaseException:
            self.close()
            raise

    def _create_schema(self, conn: _Conn) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == 0:
            for statement in filter(str.strip, _SCHEMA.split(";")):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        elif version > SCHEMA_VERSION:
            raise StoreError(f"{self.path} has schema version {version}; this release knows up to {SCHEMA_VERSION}")
        conn.execute(_LEASED_INDEX)

    def _token(self) -> str:
        return f"{secrets.token_hex(16)}{SEPARATOR}{current(self.node_id)}"

    @property
    def transactions(self) -> int:
        """Write transactions committed by this store so far (for tests and benchmarks)."""
        return self._writer.transactions

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
        return connect_wal(str(self.path), self._busy_timeout, "FULL")

    def _open_writer(self) -> sqlite3.Connection:
        conn = self._open()
        try:
            # Debian's SQLite (and so the Docker image's) is built with SECURE_DELETE: every page a
            # deleted message freed would be read, zeroed, journalled for the operation's savepoint,
            # written to the WAL and checkpointed into the file, for pages the next messages reuse
            # anyway (and the WAL keeps copies until it is overwritten). FAST still zeroes what is
            # deleted from the table pages a delete writes anyway (the row, small messages inline);
            # the freed overflow pages of larger messages are left as they are. pwrite calls per
            # message through the store 178 -> 99.
            conn.execute("PRAGMA secure_delete = FAST")
        except BaseException:
            conn.close()
            raise
        return conn

    def _write(self, run: Callable[[_Conn], _T], durable: bool = True) -> _T:
        """Run `run` in the writer's next transaction; returns once that transaction committed, and is
        on disk unless `durable` is False (a lease: see _Writer)."""
        if self._closed:
            raise StoreError("the store is closed")
        return self._writer.submit(run, durable)

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

        def run(conn: _Conn) -> None:
            conn.executemany(
                "INSERT INTO messages (id, queue, due_at, token, received_at, fields) VALUES (?, ?, ?, NULL, ?, ?)",
                rows,
            )
            conn.executemany("INSERT INTO raw_messages (id, data) VALUES (?, ?)", raws)

        self._write(run)
        self.due_now(queue)

    def claim(self, queue: Queue, limit: int, lease_seconds: float, now: float | None = None) -> list[Lease]:
        if limit <= 0:
            return []
        if lease_seconds <= 0:
            raise ValueError("lease_seconds must be positive")
        at = time.time() if now is None else now
        until = at + lease_seconds

        def run(conn: _Conn) -> list[Lease]:
            leases: list[Lease] = []
            rows = conn.execute(
                "SELECT id, fields FROM messages WHERE queue = ? AND due_at <= ? ORDER BY due_at, id LIMIT ?",
                (str(queue), at, limit),
            ).fetchall()
            for message_id, fields in rows:
                token = self._token()
                conn.execute("UPDATE messages SET due_at = ?, token = ? WHERE id = ?", (until, token, message_id))
                leases.append(Lease(message=codec.decode(fields), queue=queue, token=token))
            return leases

        return self._write(run, durable=False)

    def claim_message(
        self, queue: Queue, message_id: str, lease_seconds: float, now: float | None = None
    ) -> Lease | None:
        if lease_seconds <= 0:
            raise ValueError("lease_seconds must be positive")
        at = time.time() if now is None else now
        until = at + lease_seconds

        def run(conn: _Conn) -> Lease | None:
            # Not leased: no token, or a lease that ran out (its due_at, the lease's end, has passed).
            row = conn.execute(
                "SELECT fields FROM messages WHERE id = ? AND queue = ? AND (token IS NULL OR due_at <= ?)",
                (message_id, str(queue), at),
            ).fetchone()
            if row is None:
                return None
            token = self._token()
            conn.execute("UPDATE messages SET due_at = ?, token = ? WHERE id = ?", (until, token, message_id))
            return Lease(message=codec.decode(row[0]), queue=queue, token=token)

        return self._write(run, durable=False)

    def renew(self, leases: Sequence[Lease], lease_seconds: float, now: float | None = None) -> list[bool]:
        if not leases:
            return []
        until = (time.time() if now is None else now) + lease_seconds

        def run(conn: _Conn) -> list[bool]:
            return [
                conn.execute(
                    "UPDATE messages SET due_at = ? WHERE id = ? AND queue = ? AND token = ?",
                    (until, lease.message.id, str(lease.queue), lease.token),
                ).rowcount
                == 1
                for lease in leases
            ]

        return self._write(run, durable=False)

    def reclaim(self, dead: Callable[[Owner], bool], now: float | None = None) -> list[str]:
        rows = self._read("SELECT id, token FROM messages WHERE token IS NOT NULL")
        verdicts: dict[str, bool] = {}
        gone_nodes: dict[str, bool] = {}

        def owner_dead(owner: Owner) -> bool:
            # Every process using this file runs on this kernel: a node none of whose processes holds
            # its lock any more is gone, and so are all its leases (the node holding the file owns them).
            if dead(owner):
                return True
            if owner.node == self._node:
                return False
            if owner.node not in gone_nodes:
                gone_nodes[owner.node] = self._node_lock.gone(owner.node)
            return gone_nodes[owner.node]

        gone: list[tuple[str, str]] = []
        for message_id, token in rows:
            assert isinstance(message_id, str) and isinstance(token, str)
            owner_text = token.partition(SEPARATOR)[2]
            if owner_text not in verdicts:
                owner = token_owner(token)
                verdicts[owner_text] = owner is not None and owner_dead(owner)
            if verdicts[owner_text]:
                gone.append((message_id, token))
        if not gone:
            return []
        at = time.time() if now is None else now

        def run(conn: _Conn) -> list[str]:
            taken = []
            for message_id, token in gone:  # fenced: a lease renewed or taken over meanwhile stays
                cur = conn.execute(
                    "UPDATE messages SET due_at = ?, token = NULL WHERE id = ? AND token = ?", (at, message_id, token)
                )
                if cur.rowcount == 1:
                    taken.append(message_id)
            return taken

        return self._write(run)

    def raw(self, message_id: str) -> bytes:
        rows = self._read("SELECT data FROM raw_messages WHERE id = ?", (message_id,))
        if not rows:
            raise KeyError(message_id)
        data = rows[0][0]
        assert isinstance(data, bytes)
        return data

    def raws(self, message_ids: Sequence[str], max_bytes: int) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        ids = list(message_ids)
        for i in range(0, len(ids), 500):  # bound the variables per statement
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT id, data FROM raw_messages WHERE id IN ({marks}) AND length(data) <= ?"
            for message_id, data in self._read(sql, (*chunk, max_bytes)):
                assert isinstance(message_id, str) and isinstance(data, bytes)
                out[message_id] = data
        return out

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
        fields = codec.encode(message)
        data = None if raw is None else sqlite3.Binary(raw)

        def run(conn: _Conn) -> bool:
            cur = conn.execute(
                "UPDATE messages SET queue = ?, due_at = ?, token = NULL, fields = ?"
                " WHERE id = ? AND queue = ? AND token = ?",
                (str(queue), due, fields, message.id, str(lease.queue), lease.token),
            )
            if cur.rowcount != 1:
                return False
            if data is not None:
                conn.execute("UPDATE raw_messages SET data = ? WHERE id = ?", (data, message.id))
            return True

        moved = self._write(run)
        if moved and due_at is None:
            self.due_now(queue)
        return moved

    def finish(self, lease: Lease) -> bool:
        message_id = lease.message.id

        def run(conn: _Conn) -> bool:
            cur = conn.execute(
                "DELETE FROM messages WHERE id = ? AND queue = ? AND token = ?",
                (message_id, str(lease.queue), lease.token),
            )
            if cur.rowcount != 1:
                return False
            conn.execute("DELETE FROM raw_messages WHERE id = ?", (message_id,))
            return True

        return self._write(run)

    def release(self, lease: Lease) -> None:
        now = time.time()

        def run(conn: _Conn) -> None:
            conn.execute(
                "UPDATE messages SET due_at = ?, token = NULL WHERE id = ? AND queue = ? AND token = ?",
                (now, lease.message.id, str(lease.queue), lease.token),
            )

        self._write(run)

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
        """Finish the writes handed in already, then close every connection (shutdown)."""
        with self._lock:
            self._closed = True
            connections, self._connections = self._connections, []
        self._writer.close()
        for conn in connections:
            with contextlib.suppress(sqlite3.Error):  # best effort: no transaction is left open
                conn.close()
        self._write_lock.close()
        self._node_lock.close()
