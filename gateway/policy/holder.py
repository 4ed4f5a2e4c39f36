"""The policy in force on a running node, replaced only by a valid new one (SIGHUP or file change).

A message being decided keeps the Policy object it started with (decide is synchronous and reads
`holder.current` once), so a reload never disturbs a message in flight.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from gateway.config.policy import PolicySettings
from gateway.policy.errors import PolicyError
from gateway.policy.policy import Policy
from gateway.policy.rules import rule_files

log = logging.getLogger(__name__)

Fingerprint = tuple[tuple[str, int, int], ...]


class PolicyHolder:
    def __init__(self, settings: PolicySettings, policy: Policy | None = None) -> None:
        """Load the policy; an invalid one at start-up raises PolicyError (the node must not start)."""
        self.settings = settings
        self._fingerprint = self.fingerprint()
        self.current = policy if policy is not None else Policy.load(settings)
        self.generation = 1

    def _paths(self) -> list[Path]:
        paths = rule_files(self.settings.rules_path, self.settings.local_path)
        if self.settings.directory is not None:
            paths.append(self.settings.directory)
        return paths

    def fingerprint(self) -> Fingerprint:
        out = []
        for p in self._paths():
            try:
                st = p.stat()
                out.append((str(p), st.st_mtime_ns, st.st_size))
            except OSError:
                out.append((str(p), -1, -1))
        return tuple(out)

    def reload(self) -> bool:
        """Load the files again; keep the policy in force if the new one is not valid."""
        self._fingerprint = self.fingerprint()
        try:
            policy = Policy.load(self.settings)
        except PolicyError as e:
            log.error("rules not reloaded, keeping the rules in force: %s", "; ".join(e.problems))
            return False
        self.current = policy
        self.generation += 1
        log.info("rules reloaded: %d rule(s) in force", len(policy.rules))
        return True

    def reload_if_changed(self) -> bool | None:
        """None if nothing changed, else what reload() returned."""
        if self.fingerprint() == self._fingerprint:
            return None
        return self.reload()

    async def watch(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.settings.watch_interval)
            except TimeoutError:
                await asyncio.to_thread(self.reload_if_changed)
