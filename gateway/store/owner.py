"""Who holds a lease: the node, the process id and the process's start time, carried in the lease token.

A lease token is `<unique part>@<node>/<pid>/<start>`. The start time (the kernel's, in clock ticks
since boot, from /proc/<pid>/stat) tells a live process from a new one that reuses a dead one's pid.
Any process of the same node can so decide at once whether the holder of a lease is gone, and take its
messages up again instead of waiting for the lease to run out: a node that restarts after a crash
continues the mail that was in flight within seconds. Leases of other nodes cannot be checked from
here: they run out by themselves (short leases, renewed by a heartbeat while the work goes on).

The node id is `worker.node_id`, by default the host name; the processes of one node (one machine, one
process namespace) must share it, two nodes must not.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SEPARATOR = "@"


@dataclass(frozen=True)
class Owner:
    node: str
    pid: int
    start: str  # the process's start time as the kernel counts it ("" where unknown)

    def __str__(self) -> str:
        return f"{self.node}/{self.pid}/{self.start}"

    @classmethod
    def parse(cls, text: str) -> Owner | None:
        node, sep, rest = text.rpartition("/")
        node, sep2, pid = node.rpartition("/")
        if not sep or not sep2 or not pid.isdigit():
            return None
        return cls(node, int(pid), rest)


def default_node_id() -> str:
    return socket.gethostname() or "localhost"


def process_start(pid: int) -> str | None:
    """The start time of process `pid` (clock ticks since boot), "" where /proc is missing, None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    except OSError:
        return ""
    # Field 22; the name (field 2, in parentheses) may itself contain spaces and parentheses.
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else ""


@cache
def _me(node: str, pid: int) -> Owner:
    return Owner(node, pid, process_start(pid) or "")


def current(node: str | None = None) -> Owner:
    """This process as a lease owner (computed again after a fork: the pid is part of the key)."""
    return _me(node or default_node_id(), os.getpid())


def token_owner(token: str) -> Owner | None:
    """The owner carried in a lease token (None for tokens written before owners were recorded)."""
    _, sep, owner = token.partition(SEPARATOR)
    return Owner.parse(owner) if sep else None


def is_dead(owner: Owner, node: str) -> bool:
    """True only when `owner` certainly no longer runs: a process of node `node` (ours) whose pid is
    gone or now belongs to a process started later. Other nodes' processes are never declared dead."""
    if owner.node != node:
        return False
    if owner.pid == os.getpid():
        return owner.start != current(node).start
    start = process_start(owner.pid)
    if start is None:
        return True
    if start == "" or owner.start == "":  # no /proc: ask the kernel whether the pid exists at all
        try:
            os.kill(owner.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False
    return start != owner.start
