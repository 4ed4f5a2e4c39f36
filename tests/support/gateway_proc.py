"""Run the real gateway (`python -m gateway run`) as a child process for end-to-end tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.support.net import free_port, wait_for_port


def write_config(directory: Path, overrides: dict[str, Any]) -> tuple[Path, int]:
    """A config file for a test node; returns (path, smtp port). `overrides` merges per section."""
    port, web_port = free_port(), free_port()
    config: dict[str, Any] = {
        "log_level": "INFO",
        "smtp": {"listen": f"127.0.0.1:{port}", "hostname": "gw.test"},
        # A port of its own: test nodes (and benchmarks) run side by side on one machine.
        "web": {"listen": f"127.0.0.1:{web_port}", "base_url": f"http://127.0.0.1:{web_port}"},
        "relay": {"helo_name": "gw.test", "retry": {"initial": 0.5, "maximum": 2, "lifetime": 600}},
        "store": {"url": f"sqlite:///{directory}/gateway.db"},
        "organization": {"internal_domains": ["example.co.jp"]},
        "worker": {"lease_seconds": 10, "poll_interval": 0.05},
        "recipients": {"dns": {"enabled": False}},  # no public DNS here; DNS has its own stub tests
        "scan": {"ner_window_chars": 0},  # Sudachi only: GiNZA is not under test here
        "inspection": {"workers": 1},
    }
    for section, values in overrides.items():
        if isinstance(values, dict):
            config.setdefault(section, {}).update(values)
        else:
            config[section] = values
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path, port


class GatewayProcess:
    """`gateway run --config FILE` in a child process; its log goes to `log_path`."""

    def __init__(self, config_path: Path, port: int, log_path: Path) -> None:
        self.config_path = config_path
        self.port = port
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> GatewayProcess:
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the child for its lifetime
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gateway", "run", "--config", str(self.config_path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        log.close()
        try:
            wait_for_port(self.port, timeout=30)
        except RuntimeError:
            self.kill()
            raise RuntimeError(f"gateway did not start; log:\n{self.log_path.read_text(errors='replace')}") from None
        return self

    def kill(self) -> None:
        """SIGKILL, no goodbye: the crash case."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM and wait for a graceful exit; returns the exit code."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode

    def __enter__(self) -> GatewayProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.kill()
