"""Recipient history in the store's SQLite file (own tables, own connection).

History is not mail: losing the last few records in a power cut only makes a recipient look new
once more, so this connection commits with synchronous=NORMAL, and a batch is one transaction.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TypeVar

from gateway.recipients.domains import Organisations
from gateway.recipients.history import RecipientHistory, Row
from gateway.store.sqlite_file import ThreadReaders, WriteLock, connect_wal

_SCHEMA = """
CREATE TABLE IF NOT EXISTS recipient_history (
    sender TEXT NOT NULL,
    recipient TEXT NOT NULL,
    first_sent REAL NOT NULL,
    last_sent REAL NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (sender, recipient)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS recipient_history_org (
    org TEXT PRIMARY KEY,
    first_sent REAL NOT NULL,
    last_sent REAL NOT NULL,
    count INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS recipient_history_org_count ON recipient_history_org (count DESC);
"""

_UPSERT_PAIR = """
INSERT INTO recipient_history (sender, recipient, first_sent, last_sent, count) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (sender, recipient) DO UPDATE SET
    first_sent = min(first_sent, excluded.first_sent),
    last_sent = max(last_sent, excluded.last_sent),
    count = count + excluded.count
"""

_UPSERT_ORG = """
INSERT INTO recipient_history_org (org, first_sent, last_sent, count) VALUES (?, ?, ?, ?)
ON CONFLICT (org) DO UPDATE SET
    first_sent = min(first_sent, excluded.first_sent),
    last_sent = max(last_sent, excluded.last_sent),
    count = count + excluded.count
"""

_CHUNK = 500  # bound variables per IN (...) query

K = TypeVar("K")


def _fold(items: Iterable[tuple[K, float]]) -> dict[K, tuple[float, float, int]]:
    """key -> (first, last, count): one statement per distinct key instead of one per row."""
    out: dict[K, tuple[float, float, int]] = {}
    for key, when in items:
        cur = out.get(key)
        out[key] = (when, when, 1) if cur is None else (min(cur[0], when), max(cur[1], when), cur[2] + 1)
    return out


class SqliteHistory(RecipientHistory):
    def __init__(self, path: str | Path, orgs: Organisations | None = None, busy_timeout: float = 30.0) -> None:
        super().__init__(orgs)
        self.path = str(path)
        self._busy_timeout = busy_timeout
        self._lock = threading.Lock()  # the writing connection, one thread at a time
        self._conn = connect_wal(self.path, busy_timeout, "NORMAL")
        self._write_lock = WriteLock(self.path)
        with self._lock:
            self._conn.executescript(_SCHEMA)
        self._readers = ThreadReaders(self.path, busy_timeout)

    def _reader(self) -> sqlite3.Connection:
        return self._readers.get()

    def _record(self, rows: Sequence[Row]) -> None:
        pairs = _fold(((r.sender, r.recipient), r.when) for r in rows)
        orgs = _fold((r.org, r.when) for r in rows)
        with self._lock, self._write_lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(_UPSERT_PAIR, [(*k, *v) for k, v in pairs.items()])
                self._conn.executemany(_UPSERT_ORG, [(k, *v) for k, v in orgs.items()])
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def sent_to(self, sender: str, addresses: Sequence[str], since: float) -> set[str]:
        found: set[str] = set()
        unique = list(dict.fromkeys(addresses))
        conn = self._reader()
        for i in range(0, len(unique), _CHUNK):
            chunk = unique[i : i + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = conn.execute(
                f"SELECT recipient FROM recipient_history WHERE sender = ? AND last_sent >= ? "
                f"AND recipient IN ({marks})",
                (sender, since, *chunk),
            )
            found.update(r[0] for r in rows)
        return found

    def orgs_seen(self, orgs: Sequence[str], since: float) -> set[str]:
        found: set[str] = set()
        unique = list(dict.fromkeys(orgs))
        conn = self._reader()
        for i in range(0, len(unique), _CHUNK):
            chunk = unique[i : i + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = conn.execute(
                f"SELECT org FROM recipient_history_org WHERE last_sent >= ? AND org IN ({marks})",
                (since, *chunk),
            )
            found.update(r[0] for r in rows)
        return found

    def top_domains(self, limit: int, since: float = 0.0) -> list[tuple[str, int]]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT org, count FROM recipient_history_org WHERE last_sent >= ? ORDER BY count DESC, org LIMIT ?",
                (since, limit),
            ).fetchall()
        return [(r[0], int(r[1])) for r in rows]

    def counts(self) -> dict[str, int]:
        with self._lock:
            pairs = self._conn.execute("SELECT count(*) FROM recipient_history").fetchone()[0]
            orgs = self._conn.execute("SELECT count(*) FROM recipient_history_org").fetchone()[0]
        return {"pairs": int(pairs), "orgs": int(orgs)}

    def prune(self, before: float) -> dict[str, int]:
        with self._lock, self._write_lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                pairs = self._conn.execute("DELETE FROM recipient_history WHERE last_sent < ?", (before,)).rowcount
                orgs = self._conn.execute("DELETE FROM recipient_history_org WHERE last_sent < ?", (before,)).rowcount
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return {"pairs": int(pairs), "orgs": int(orgs)}

    def clear(self) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM recipient_history")
            self._conn.execute("DELETE FROM recipient_history_org")

    def close(self) -> None:
        with self._lock:
            self._conn.close()
            self._write_lock.close()
        self._readers.close()
