"""The store as the dry runs see it (`gateway check`, `gateway rules test`, `gateway check-config`):
read, never written, never created.

A decision shown by a dry run should be the one the gateway would make, so the dry run reads what the
gateway has learned (the recipient history ...). It never opens the production file for writing:

- SQLite: the learned tables are copied out of the file, opened read-only (`mode=ro`), into a
  temporary private database, and the dry run works on that copy. The queues and the holds (message
  content) are not copied: no decision reads them.
- Redis: used as it is when it answers (a dry run only reads); otherwise an empty temporary store.
- A file that does not exist or cannot be read: an empty temporary store, and the dry run says so.
"""

from __future__ import annotations

import contextlib
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from gateway.config import Config
from gateway.store import ping_store
from gateway.store.base import StoreError
from gateway.store.url import parse_store_url, redact_url

# Tables that hold messages and held content: no decision reads them, so they are never copied.
NOT_COPIED = {"messages", "raw_messages", "holds", "hold_audit", "hold_secret"}


def _copy_learned(source: Path, target: Path) -> int:
    """Copy every table but the queues' and holds' from `source` (opened read-only) into `target`.

    A file with no -wal beside it is complete and nobody is writing it: it is read as immutable, so
    that not even SQLite's side files are created. With a -wal (a gateway is running), read-only
    through the existing side files, so that the latest commits are seen."""
    wal = source.with_name(source.name + "-wal")
    uri = f"{source.resolve().as_uri()}?mode=ro" + ("" if wal.exists() else "&immutable=1")
    with contextlib.closing(sqlite3.connect(str(target), isolation_level=None)) as conn:
        conn.execute("ATTACH DATABASE ? AS src", (uri,))
        rows = conn.execute(
            "SELECT type, name, tbl_name, sql FROM src.sqlite_master WHERE sql IS NOT NULL "
            "AND name NOT LIKE 'sqlite_%' ORDER BY type = 'index'"
        ).fetchall()
        tables = 0
        conn.execute("BEGIN")
        for kind, name, table, sql in rows:
            if table in NOT_COPIED or kind not in ("table", "index"):
                continue
            conn.execute(sql)
            if kind == "table":
                conn.execute(f'INSERT INTO main."{name}" SELECT * FROM src."{name}"')
                tables += 1
        conn.execute("COMMIT")
        conn.execute("DETACH DATABASE src")
    return tables


@contextlib.contextmanager
def dry_run_config(config: Config, say: Callable[[str], None]) -> Iterator[Config]:
    """`config` with store.url pointing at what a dry run may use (see the module docstring). `say`
    gets one line when the dry run does not see the gateway's own store."""
    url = config.store.url
    where = parse_store_url(url)
    if where.kind == "redis":
        try:
            ping_store(url)
            yield config
            return
        except StoreError as e:
            say(f"the store {redact_url(url)} does not answer ({e}): deciding with an empty temporary store")
    with tempfile.TemporaryDirectory(prefix="gateway-dry-run-") as tmp:
        copy = Path(tmp) / "gateway.db"
        if where.kind == "sqlite":
            source = Path(where.path)
            if not source.is_file():
                say(f"the store {source} does not exist (yet): deciding with an empty temporary store")
            else:
                try:
                    _copy_learned(source, copy)
                except sqlite3.Error as e:
                    copy.unlink(missing_ok=True)
                    say(f"the store {source} cannot be read ({e}): deciding with an empty temporary store")
        yield config.model_copy(update={"store": config.store.model_copy(update={"url": f"sqlite://{copy}"})})
