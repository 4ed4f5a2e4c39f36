"""The contact book in the store's SQLite file (own tables, own connections).

Like the recipient history it is advice, not mail: synchronous=NORMAL, one transaction per batch.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TypeVar

from gateway.recipients.contacts import ContactBook, Learned, NameRow
from gateway.store.sqlite_file import ThreadReaders, WriteLock, connect_wal

_SCHEMA = """
CREATE TABLE IF NOT EXISTS contact_names (
    key TEXT NOT NULL,
    kind TEXT NOT NULL,
    org TEXT NOT NULL,
    last_seen REAL NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (key, kind, org)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS contact_threads (
    msgid TEXT NOT NULL,
    org TEXT NOT NULL,
    last_seen REAL NOT NULL,
    PRIMARY KEY (msgid, org)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS contact_files (
    digest TEXT NOT NULL,
    org TEXT NOT NULL,
    last_seen REAL NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (digest, org)
) WITHOUT ROWID;
"""

_UPSERT_NAME = """
INSERT INTO contact_names (key, kind, org, last_seen, count) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (key, kind, org) DO UPDATE SET
    last_seen = max(last_seen, excluded.last_seen), count = count + excluded.count
"""
_UPSERT_THREAD = """
INSERT INTO contact_threads (msgid, org, last_seen) VALUES (?, ?, ?)
ON CONFLICT (msgid, org) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen)
"""
_UPSERT_FILE = """
INSERT INTO contact_files (digest, org, last_seen, count) VALUES (?, ?, ?, ?)
ON CONFLICT (digest, org) DO UPDATE SET
    last_seen = max(last_seen, excluded.last_seen), count = count + excluded.count
"""
_TABLES = {"names": "contact_names", "threads": "contact_threads", "files": "contact_files"}
_CHUNK = 500

K = TypeVar("K")


def _fold(items: Iterable[tuple[K, float]]) -> dict[K, tuple[float, int]]:
    out: dict[K, tuple[float, int]] = {}
    for key, when in items:
        cur = out.get(key)
        out[key] = (when, 1) if cur is None else (max(cur[0], when), cur[1] + 1)
    return out


class SqliteContacts(ContactBook):
    def __init__(self, path: str | Path, busy_timeout: float = 30.0) -> None:
        self.path = str(path)
        self._busy_timeout = busy_timeout
        self._lock = threading.Lock()
        self._conn = connect_wal(self.path, busy_timeout, "NORMAL")
        self._write_lock = WriteLock(self.path)
        with self._lock:
            self._conn.executescript(_SCHEMA)
        self._readers = ThreadReaders(self.path, busy_timeout)

    def _reader(self) -> sqlite3.Connection:
        return self._readers.get()

    def _write(self, rows: Learned) -> None:
        names = _fold(((r.key, r.kind, r.org), r.when) for r in rows.names)
        threads = _fold(((t, o), w) for t, o, w in rows.threads)
        files = _fold(((f, o), w) for f, o, w in rows.files)
        with self._lock, self._write_lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(_UPSERT_NAME, [(*k, w, n) for k, (w, n) in names.items()])
                self._conn.executemany(_UPSERT_THREAD, [(*k, w) for k, (w, _n) in threads.items()])
                self._conn.executemany(_UPSERT_FILE, [(*k, w, n) for k, (w, n) in files.items()])
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def _select(self, sql: str, values: Sequence[str], since: float) -> list[tuple[str, ...]]:
        out: list[tuple[str, ...]] = []
        unique = list(dict.fromkeys(values))
        conn = self._reader()
        for i in range(0, len(unique), _CHUNK):
            chunk = unique[i : i + _CHUNK]
            marks = ",".join("?" * len(chunk))
            out.extend(conn.execute(sql.format(marks=marks), (since, *chunk)).fetchall())
        return out

    def names(self, keys: Sequence[str], since: float) -> list[NameRow]:
        rows = self._select(
            "SELECT key, kind, org, last_seen FROM contact_names WHERE last_seen >= ? AND key IN ({marks})",
            [k for k in keys if k],
            since,
        )
        return [NameRow(str(k), str(kind), str(org), float(w)) for k, kind, org, w in rows]

    def thread_orgs(self, ids: Sequence[str], since: float) -> set[str]:
        rows = self._select(
            "SELECT DISTINCT org FROM contact_threads WHERE last_seen >= ? AND msgid IN ({marks})", ids, since
        )
        return {str(r[0]) for r in rows}

    def file_orgs(self, digests: Sequence[str], since: float) -> dict[str, set[str]]:
        rows = self._select(
            "SELECT digest, org FROM contact_files WHERE last_seen >= ? AND digest IN ({marks})", digests, since
        )
        out: dict[str, set[str]] = {}
        for digest, org in rows:
            out.setdefault(str(digest), set()).add(str(org))
        return out

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {
                kind: int(self._conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
                for kind, table in _TABLES.items()
            }

    def prune(self, before: float) -> dict[str, int]:
        removed: dict[str, int] = {}
        with self._lock, self._write_lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for kind, table in _TABLES.items():
                    removed[kind] = int(
                        self._conn.execute(f"DELETE FROM {table} WHERE last_seen < ?", (before,)).rowcount
                    )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return removed

    def clear(self) -> None:
        with self._lock, self._write_lock:
            for table in _TABLES.values():
                self._conn.execute(f"DELETE FROM {table}")

    def close(self) -> None:
        with self._lock:
            self._conn.close()
            self._write_lock.close()
        self._readers.close()
