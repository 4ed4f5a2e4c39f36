"""Opening the one SQLite file that the queues, the recipient history and the holds share."""

from __future__ import annotations

import fcntl
import hashlib
import os
import sqlite3
import threading
import time
from pathlib import Path

from gateway.store.base import StoreError


def is_busy(error: sqlite3.Error) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(error) or "busy" in str(error)


PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def prepare_private(path: str) -> None:
    """Create the store's directory (0700) and database file (0600) if they do not exist yet, so that
    held attachments, addresses and the hold secret are readable by the gateway's user only. SQLite
    gives the -wal and -shm files the database file's mode; the write lock is created 0600 too.
    Existing files keep their mode (an admin's choice; the start-up summary warns when it is open).
    Raises StoreError."""
    if path == ":memory:":
        return
    db = Path(path)
    missing: list[Path] = []
    parent = db.parent
    while not parent.exists() and parent != parent.parent:
        missing.append(parent)
        parent = parent.parent
    try:
        for directory in reversed(missing):
            directory.mkdir(mode=PRIVATE_DIR, exist_ok=True)
            os.chmod(directory, PRIVATE_DIR)  # mkdir's mode is filtered by the umask
        fd = os.open(db, os.O_RDWR | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        return
    except OSError as e:
        raise StoreError(f"cannot create {path}: {e.strerror}") from e
    os.fchmod(fd, PRIVATE_FILE)
    os.close(fd)


def connect_wal(path: str, busy_timeout: float, synchronous: str = "FULL") -> sqlite3.Connection:
    """A connection in WAL mode (creating the directory and the file, private). Raises StoreError.

    Switching a fresh file to WAL takes an exclusive lock and, when several processes open the file at
    once, fails with "database is locked" at once instead of waiting: retry until the busy timeout.
    Once the file is in WAL mode (persistent) nothing needs switching. isolation_level=None: callers
    issue BEGIN IMMEDIATE / COMMIT themselves; check_same_thread=False only so that a store may close
    every thread's connection.
    """
    prepare_private(path)
    deadline = time.monotonic() + busy_timeout
    while True:
        try:
            conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as e:
            raise StoreError(f"cannot open {path}: {e}") from e
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            if path != ":memory:" and str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise StoreError(f"{path}: cannot switch to WAL mode (got {mode!r})")
            conn.execute(f"PRAGMA synchronous = {synchronous}")
            return conn
        except sqlite3.OperationalError as e:
            conn.close()
            if not is_busy(e) or time.monotonic() > deadline:
                raise StoreError(f"cannot open {path}: {e}") from e
            time.sleep(0.01)
        except BaseException as e:
            conn.close()
            if isinstance(e, sqlite3.Error):
                raise StoreError(f"cannot open {path}: {e}") from e
            raise


class ThreadReaders:
    """Reading connections, one per thread: in WAL mode reads never wait for a writer or each other."""

    def __init__(self, path: str, busy_timeout: float) -> None:
        self.path, self.busy_timeout = path, busy_timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[sqlite3.Connection] = []

    def get(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect_wal(self.path, self.busy_timeout, "NORMAL")
            with self._lock:
                self._all.append(conn)
            self._local.conn = conn
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()


class WriteLock:
    """An exclusive lock, beside the database file, that every writer of the file takes around its
    transaction (the store's group commits, the history, the holds, in every process).

    SQLite's own write lock makes a writer that finds it taken sleep and poll (1, 2, 5, 10 ms ...):
    with several receive processes and a worker committing to one file, those sleeps, not the disk,
    would set the pace. flock(2) waits in the kernel and wakes the next writer the moment the lock is
    free. One open file description per WriteLock, so connections of one process exclude each other
    too; the lock goes with the process if it dies. Not used for ":memory:" databases.
    """

    def __init__(self, db_path: str) -> None:
        self._fd = -1 if db_path == ":memory:" else os.open(db_path + "-writelock", os.O_RDWR | os.O_CREAT, 0o600)

    def __enter__(self) -> WriteLock:
        if self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class NodeLock:
    """A shared lock, beside the database file, that every process of one node holds while it uses the
    file (one lock file per node id). Another node may take it exclusively only when no process of
    that node is left (flock works across the processes and containers of one kernel, which SQLite
    needs anyway): then every lease that node held is known to be dead (gateway.store.owner).
    """

    def __init__(self, db_path: str, node: str) -> None:
        self._db_path = db_path
        self._fd = -1 if db_path == ":memory:" else os.open(self.path_of(db_path, node), os.O_RDWR | os.O_CREAT, 0o600)
        if self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_SH)

    @staticmethod
    def path_of(db_path: str, node: str) -> str:
        return f"{db_path}-node-{hashlib.sha256(node.encode()).hexdigest()[:16]}.lock"

    def gone(self, node: str) -> bool:
        """True when no process of `node` holds its lock (it never ran here, or every one has exited)."""
        if self._db_path == ":memory:":
            return False
        try:
            fd = os.open(self.path_of(self._db_path, node), os.O_RDWR)
        except FileNotFoundError:
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        finally:
            os.close(fd)  # closing drops the lock we may have taken
        return True

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
