"""Data at rest is private: the SQLite store's directory 0700, the database and every side file 0600,
whatever the umask of the process that creates them, in every process that opens the file."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.hold.backends import open_holds
from gateway.recipients.history_backends import open_history
from gateway.store import open_store


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    old = os.umask(0o022)  # the usual login umask: new files 0644, directories 0755
    yield
    os.umask(old)


@pytest.mark.usefixtures("loose_umask")
def test_store_history_and_holds_create_private_files(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path / 'var' / 'lib' / 'gateway' / 'gateway.db'}"
    store, history, holds = open_store(url), open_history(url), open_holds(url)
    try:
        history.record_delivery("a@example.co.jp", ["b@partner.example"], 1.0e9)
        holds.secret()
        directory = tmp_path / "var" / "lib" / "gateway"
        files = sorted(directory.iterdir())
        names = {p.name for p in files}
        assert {"gateway.db", "gateway.db-wal", "gateway.db-shm", "gateway.db-writelock"} <= names
        assert {p.name: mode(p) for p in files} == dict.fromkeys(names, 0o600)
        assert mode(directory) == 0o700
        assert mode(directory.parent) == 0o700 and mode(directory.parent.parent) == 0o700  # created by us
    finally:
        store.close()
        history.close()
        holds.close()


@pytest.mark.usefixtures("loose_umask")
def test_an_existing_directory_keeps_its_mode_and_the_file_is_still_private(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    store = open_store(f"sqlite://{tmp_path / 'gateway.db'}")
    store.close()
    assert mode(tmp_path) == 0o755  # the admin's directory: not ours to change
    assert mode(tmp_path / "gateway.db") == 0o600


def test_gateway_run_sets_a_private_umask_before_creating_anything(tmp_path: Path) -> None:
    """`gateway run` (the CLI) sets umask 077 first: whatever the node creates is the gateway user's."""
    code = (
        "import os, sys; os.umask(0o022); import gateway.cli, gateway.service, gateway.cli.summary; "
        "gateway.service.run_node = lambda *a, **k: print(oct(os.umask(0o077))); "
        "gateway.cli.summary.log_summary = lambda *a: None; sys.exit(gateway.cli.main(['run']))"
    )
    env = {**os.environ, "GATEWAY_STATE_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0o77"
