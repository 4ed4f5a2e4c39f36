"""redis-server processes of a test's own on free loopback ports (replication, Sentinel, Cluster).
The shared test Redis on 6379 is never touched."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path

import redis

from tests.support.net import free_port, wait_for_port

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


class RedisServer:
    """One redis-server with AOF (appendfsync always) in `directory`; `extra` are further options."""

    def __init__(self, directory: Path, *extra: str, port: int | None = None) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.extra = list(extra)
        self.process: subprocess.Popen[bytes] | None = None

    def args(self) -> list[str]:
        return [
            REDIS_SERVER,
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dir",
            str(self.dir),
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--save",
            "",
            "--maxmemory-policy",
            "noeviction",
            *self.extra,
        ]

    def start(self) -> RedisServer:
        log = open(self.dir / "redis.log", "ab")  # noqa: SIM115 - the child's for its lifetime
        self.process = subprocess.Popen(self.args(), stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_for_port(self.port, timeout=20)
        return self

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5)

    def kill(self) -> None:
        """SIGKILL: no goodbye, no last write."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


class SentinelServer(RedisServer):
    """`redis-server sentinel.conf --sentinel` watching one primary as `service`."""

    def __init__(self, directory: Path, service: str, primary_port: int, down_after_ms: int = 1000) -> None:
        super().__init__(directory)
        self.conf = directory / "sentinel.conf"
        self.conf.write_text(
            f"port {self.port}\nbind 127.0.0.1\ndir {directory}\n"
            f"sentinel monitor {service} 127.0.0.1 {primary_port} 1\n"
            f"sentinel down-after-milliseconds {service} {down_after_ms}\n"
            f"sentinel failover-timeout {service} 10000\n"
            f"sentinel parallel-syncs {service} 1\n"
        )
        self.service = service

    def args(self) -> list[str]:
        return [REDIS_SERVER, str(self.conf), "--sentinel"]

    def primary_port(self) -> int:
        host_port = self.client().execute_command("SENTINEL", "get-master-addr-by-name", self.service)
        return int(host_port[1])


def wait_until(predicate: object, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():  # type: ignore[operator]
                return True
        except redis.RedisError:
            pass
        time.sleep(interval)
    return False


def replication_up(replica: RedisServer) -> bool:
    info = replica.client().info("replication")
    return bool(info.get("master_link_status") == "up")
