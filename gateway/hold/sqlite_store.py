"""Hold records in the store's SQLite file (own tables, own connection, synchronous=FULL: a hold's
state decides whether mail goes out, so it is as durable as the queues).

Every update is one `BEGIN IMMEDIATE` transaction (SQLite's write lock taken up front): the read, the
caller's decision and the write cannot interleave with another thread's or process's update.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gateway.hold.model import STAT_KEYS, AuditEntry, Change, Hold
from gateway.hold.store import Decide, HoldFilter, HoldStore
from gateway.store.sqlite_file import WriteLock, connect_wal

_SCHEMA = """
CREATE TABLE IF NOT EXISTS holds (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    sender TEXT NOT NULL,
    rule TEXT NOT NULL,
    created_at REAL NOT NULL,
    next_due REAL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS holds_due ON holds (next_due) WHERE next_due IS NOT NULL;
CREATE INDEX IF NOT EXISTS holds_created ON holds (created_at);
CREATE TABLE IF NOT EXISTS hold_audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    hold_id TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS hold_audit_hold ON hold_audit (hold_id, seq);
CREATE TABLE IF NOT EXISTS hold_stats (
    rule TEXT NOT NULL,
    key TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (rule, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS hold_away (
    approver TEXT PRIMARY KEY,
    deputy TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS hold_secret (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    key BLOB NOT NULL
);
"""


class SqliteHoldStore(HoldStore):
    def __init__(self, path: str | Path, busy_timeout: float = 30.0) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        self._conn = connect_wal(self.path, busy_timeout, "FULL")
        self._write_lock = WriteLock(self.path)
        with self._tx() as conn:
            for statement in filter(str.strip, _SCHEMA.split(";")):
                conn.execute(statement)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._write_lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    def _read(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    @staticmethod
    def _row(hold: Hold) -> tuple[object, ...]:
        return (hold.state.value, hold.sender, hold.rule, hold.created_at, hold.next_due(), json.dumps(hold.to_json()))

    @staticmethod
    def _write_extras(conn: sqlite3.Connection, rule: str, audit: list[AuditEntry], stats: dict[str, int]) -> None:
        conn.executemany(
            "INSERT INTO hold_audit (hold_id, data) VALUES (?, ?)",
            [(a.hold_id, json.dumps(a.to_json(), ensure_ascii=False)) for a in audit],
        )
        conn.executemany(
            "INSERT INTO hold_stats (rule, key, n) VALUES (?, ?, ?) "
            "ON CONFLICT (rule, key) DO UPDATE SET n = n + excluded.n",
            [(rule, k, n) for k, n in stats.items()],
        )

    def create(self, hold: Hold, audit: AuditEntry) -> bool:
        with self._tx() as conn:
            if conn.execute("SELECT 1 FROM holds WHERE id = ?", (hold.id,)).fetchone():
                return False
            conn.execute(
                "INSERT INTO holds (state, sender, rule, created_at, next_due, data, id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (*self._row(hold), hold.id),
            )
            self._write_extras(conn, hold.rule, [audit], {"holds": 1})
        return True

    def get(self, hold_id: str) -> Hold | None:
        rows = self._read("SELECT data FROM holds WHERE id = ?", (hold_id,))
        return Hold.from_json(json.loads(str(rows[0][0]))) if rows else None

    def update(self, hold_id: str, decide: Decide) -> Change | None:
        with self._tx() as conn:
            row = conn.execute("SELECT data FROM holds WHERE id = ?", (hold_id,)).fetchone()
            if row is None:
                return None
            current = Hold.from_json(json.loads(row[0]))
            change = decide(current)
            if change is None:
                return None
            change.hold.version = current.version + 1
            conn.execute(
                "UPDATE holds SET state = ?, sender = ?, rule = ?, created_at = ?, next_due = ?, data = ? WHERE id = ?",
                (*self._row(change.hold), hold_id),
            )
            self._write_extras(conn, change.hold.rule, change.audit, change.stats)
        return change

    def due(self, now: float, limit: int = 100) -> list[Hold]:
        rows = self._read(
            "SELECT data FROM holds WHERE next_due IS NOT NULL AND next_due <= ? ORDER BY next_due LIMIT ?",
            (now, limit),
        )
        return [Hold.from_json(json.loads(str(r[0]))) for r in rows]

    def find(self, where: HoldFilter) -> list[Hold]:
        sql = "SELECT data FROM holds WHERE 1 = 1"
        params: list[object] = []
        if where.states:
            sql += f" AND state IN ({','.join('?' * len(where.states))})"
            params += [s.value for s in where.states]
        if where.sender:
            sql += " AND instr(lower(sender), ?) > 0"
            params.append(where.sender.lower())
        if where.rule:
            sql += " AND rule = ?"
            params.append(where.rule)
        if where.older_than is not None:
            sql += " AND created_at <= ?"
            params.append(where.older_than)
        sql += " ORDER BY created_at DESC, id DESC LIMIT ?"
        params.append(where.limit)
        return [Hold.from_json(json.loads(str(r[0]))) for r in self._read(sql, tuple(params))]

    def audit(self, hold_id: str | None = None, limit: int = 200) -> list[AuditEntry]:
        if hold_id is None:
            rows = self._read("SELECT data FROM hold_audit ORDER BY seq DESC LIMIT ?", (limit,))
        else:
            rows = self._read("SELECT data FROM hold_audit WHERE hold_id = ? ORDER BY seq LIMIT ?", (hold_id, limit))
        return [AuditEntry.from_json(json.loads(str(r[0]))) for r in rows]

    def stats(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for rule, key, n in self._read("SELECT rule, key, n FROM hold_stats ORDER BY rule"):
            out.setdefault(str(rule), dict.fromkeys(STAT_KEYS, 0))[str(key)] = int(str(n))
        return out

    def counts(self) -> dict[str, int]:
        return {str(s): int(str(n)) for s, n in self._read("SELECT state, count(*) FROM holds GROUP BY state")}

    def away(self) -> dict[str, str]:
        return {str(a): str(d) for a, d in self._read("SELECT approver, deputy FROM hold_away ORDER BY approver")}

    def set_away(self, approver: str, deputy: str | None) -> None:
        with self._tx() as conn:
            if deputy is None:
                conn.execute("DELETE FROM hold_away WHERE approver = ?", (approver.lower(),))
            else:
                conn.execute(
                    "INSERT INTO hold_away (approver, deputy) VALUES (?, ?) "
                    "ON CONFLICT (approver) DO UPDATE SET deputy = excluded.deputy",
                    (approver.lower(), deputy.lower()),
                )

    def secret(self) -> bytes:
        with self._tx() as conn:
            conn.execute("INSERT OR IGNORE INTO hold_secret (id, key) VALUES (1, ?)", (secrets.token_bytes(32),))
            key = conn.execute("SELECT key FROM hold_secret WHERE id = 1").fetchone()[0]
        return bytes(key)

    def clear(self) -> None:
        with self._tx() as conn:
            for table in ("holds", "hold_audit", "hold_stats", "hold_away"):
                conn.execute(f"DELETE FROM {table}")

    def close(self) -> None:
        with self._lock:
            self._conn.close()
            self._write_lock.close()
