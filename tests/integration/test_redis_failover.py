"""A real Sentinel failover under load (primary + replica + Sentinel on loopback, the primary
SIGKILLed): with store.redis_min_replicas = 1, no message whose accept returned (the point where the
SMTP side answers 250) is lost, and with the old primary back as a replica, accepting resumes."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from gateway.message import Envelope, QueuedMessage, new_message_id
from gateway.store import open_store
from gateway.store.base import Queue, StoreError
from tests.support.redis_servers import RedisServer, SentinelServer, replication_up, wait_until

WRITERS = 4


class Writers:
    """Threads that accept messages as the SMTP side does; what accept returned for is acknowledged."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.acked: list[tuple[float, str]] = []
        self.refused = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(WRITERS)]

    def run(self) -> None:
        store = open_store(self.url, min_replicas=1, replica_timeout=2.0)
        try:
            while not self.stop.is_set():
                mid = new_message_id()
                message = QueuedMessage(mid, Envelope("a@example.co.jp", ("p@partner.example",)), time.time())
                try:
                    store.accept([(message, f"Subject: {mid}\r\n\r\nbody\r\n".encode())])
                except StoreError:
                    with self.lock:
                        self.refused += 1  # 451: the MTA keeps the message and sends it again
                    time.sleep(0.05)
                    continue
                with self.lock:
                    self.acked.append((time.monotonic(), mid))
        finally:
            store.close()

    def count_since(self, since: float) -> int:
        with self.lock:
            return sum(1 for at, _ in self.acked if at > since)


@pytest.mark.slow
def test_failover_loses_no_acknowledged_message(tmp_path: Path) -> None:
    primary = RedisServer(tmp_path / "primary").start()
    replica = RedisServer(tmp_path / "replica", "--replicaof", "127.0.0.1", "0").start()
    servers = [primary, replica]
    try:
        replica.client().execute_command("REPLICAOF", "127.0.0.1", str(primary.port))
        assert wait_until(lambda: replication_up(replica), 20)
        sentinel = SentinelServer(tmp_path / "sentinel", "gwmaster", primary.port).start()
        servers.append(sentinel)
        assert wait_until(lambda: sentinel.primary_port() == primary.port, 20)
        url = f"redis+sentinel://127.0.0.1:{sentinel.port}/gwmaster/0?prefix=failover"
        writers = Writers(url)
        for thread in writers.threads:
            thread.start()
        assert wait_until(lambda: writers.count_since(0) >= 300, 60)
        primary.kill()
        killed = time.monotonic()
        assert wait_until(lambda: sentinel.primary_port() == replica.port, 60), "no failover"
        failed_over = time.monotonic()
        # The promoted replica has no replica of its own: accepting waits (451) until the old primary,
        # started again, has been turned into its replica by Sentinel.
        primary = RedisServer(tmp_path / "primary", port=primary.port).start()
        servers.append(primary)
        assert wait_until(lambda: writers.count_since(failed_over) >= 100, 90), "accepting did not resume"
        writers.stop.set()
        for thread in writers.threads:
            thread.join(timeout=30)
        check = open_store(url)
        try:
            acked = [mid for _, mid in writers.acked]
            lost = [mid for mid in acked if check.get(mid) is None]
            assert len(set(acked)) == len(acked)
            print(
                f"acknowledged={len(acked)} (after the kill: {writers.count_since(killed)}), "
                f"refused={writers.refused}, lost={len(lost)}, failover took {failed_over - killed:.1f} s"
            )
            assert lost == []
            # Also stored: messages answered 451 because the replicas did not confirm in time (the
            # MTA sends them again: possible duplicates, never a loss).
            assert check.counts()[Queue.INBOUND] >= len(acked)
        finally:
            check.close()
    finally:
        for server in servers:
            server.kill()


def test_too_few_replicas_answers_451_and_keeps_the_message(redis_url: str, redis_prefix: str) -> None:
    """The shared test Redis has no replica: with redis_min_replicas = 1 every accept fails (the SMTP
    side answers 451), yet what was written stays (the MTA's retry may duplicate it, never lose it)."""
    url = f"{redis_url}{'&' if '?' in redis_url else '?'}prefix={redis_prefix}"
    store = open_store(url, min_replicas=1, replica_timeout=0.2)
    try:
        message = QueuedMessage(new_message_id(), Envelope("a@example.co.jp", ("p@partner.example",)), time.time())
        with pytest.raises(StoreError, match="0 of 1 replicas"):  # WAIT answered: no replica has it
            store.accept([(message, b"Subject: x\r\n\r\nbody\r\n")])
        assert store.get(message.id) is not None
    finally:
        store.close()
