"""Lease owners (gateway.store.owner): parsing tokens and telling a dead process from a live one."""

from __future__ import annotations

import os
import subprocess
import sys

from gateway.store.owner import Owner, current, is_dead, process_start, token_owner


def test_owner_round_trips_through_a_token() -> None:
    me = current("gw-node.example")
    assert me.pid == os.getpid() and me.start
    token = f"42@{me}"
    assert token_owner(token) == me
    assert token_owner("1a2b3c") is None  # a token from before owners were recorded
    assert token_owner("7@garbage") is None
    assert Owner.parse("host/12/345") == Owner("host", 12, "345")


def test_a_live_process_is_alive_and_a_dead_one_dead() -> None:
    node = "gw-node"
    assert not is_dead(current(node), node)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        start = process_start(child.pid)
        assert start
        assert not is_dead(Owner(node, child.pid, start), node)
        assert is_dead(Owner(node, child.pid, str(int(start) + 1)), node)  # same pid, another process
    finally:
        child.kill()
        child.wait()
    assert is_dead(Owner(node, child.pid, start), node)
    assert not is_dead(Owner("another-node", child.pid, start), node)  # not ours to judge
    assert is_dead(Owner(node, os.getpid(), "1"), node)  # our pid, but started at another time
