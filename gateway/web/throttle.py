"""Sign-in throttling: failed sign-ins counted per key (the client's address, the user name) in a
sliding window; after `max_failures` the key is locked, and every further failure before the key has
been quiet for a whole window locks it again for twice as long, up to a cap.

In memory, per process (the web runs in one process per node), bounded: entries that have been quiet
for a window are dropped, and a full table sheds its least recently used entries.

An attempt is counted from the moment it starts (`begin`) until its result is known (`end`), so a
burst of parallel attempts cannot get more password checks than the allowance left before the lock.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from gateway.logsetup import mask_address

log = logging.getLogger(__name__)
_U = TypeVar("_U")

# A busy key (its allowance taken by attempts still being checked) asks the client to wait this long.
BUSY_SECONDS = 1.0
_MAX_DOUBLINGS = 40  # 2**40 lockouts is past any cap; keeps the float finite


@dataclass
class _Entry:
    failures: deque[float] = field(default_factory=deque)
    locks: int = 0  # locks so far; the next lock lasts lockout * 2**locks
    locked_until: float = 0.0
    last: float = 0.0  # time of the last failure
    pending: int = 0  # attempts begun and not yet ended


@dataclass(frozen=True)
class Locked:
    """A lock that has just started: which key, for how long, after how many failures."""

    key: str
    seconds: float
    failures: int


def ip_key(host: str | None) -> str:
    """The key of a client address. IPv6 counts per /64: one host usually holds a whole /64."""
    if not host:
        return "ip:unknown"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return "ip:" + host[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return "ip:" + str(ip.ipv4_mapped)
        return "ip:" + str(ipaddress.IPv6Network((ip, 64), strict=False))
    return "ip:" + str(ip)


def user_key(username: str) -> str:
    # Case-folded and cut short: variants of a name share one counter, and a megabyte of "name"
    # does not become a megabyte of table.
    return "user:" + username.strip().casefold()[:128]


class LoginThrottle:
    def __init__(
        self,
        max_failures: int = 5,
        window: float = 900.0,
        lockout: float = 60.0,
        lockout_max: float = 3600.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_failures < 1 or window <= 0 or lockout <= 0 or lockout_max <= 0 or max_entries < 1:
            raise ValueError("throttle limits must be positive")
        self.max_failures = max_failures
        self.window = window
        self.lockout = lockout
        self.lockout_max = lockout_max
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._next_sweep = float("-inf")  # when expired entries are next dropped

    def __len__(self) -> int:
        return len(self._entries)

    # -- the three calls of one sign-in ----------------------------------------------------------

    def begin(self, keys: Iterable[str]) -> float | None:
        """Seconds to wait if any key is locked (or its allowance is taken by attempts in flight);
        else None, and the attempt is counted as in flight on every key until `end`."""
        keys = list(keys)
        now = self.clock()
        wait = 0.0
        for key in keys:
            entry = self._entries.get(key)
            if entry is None:
                continue
            self._prune(entry, now)
            if entry.locked_until > now:
                wait = max(wait, entry.locked_until - now)
            elif entry.pending >= self._allowance(entry):
                wait = max(wait, BUSY_SECONDS)
        if wait > 0:
            return wait
        for key in keys:
            self._entry(key, now).pending += 1
        return None

    def end(self, keys: Iterable[str], ok: bool) -> list[Locked]:
        """The attempt's result. Success clears every key's counters; a failure is recorded and
        returns the locks it starts."""
        now = self.clock()
        started: list[Locked] = []
        for key in keys:
            entry = self._entry(key, now)
            entry.pending = max(0, entry.pending - 1)
            if ok:
                entry.failures.clear()
                entry.locks = 0
                entry.locked_until = 0.0
                if entry.pending == 0:
                    del self._entries[key]
                continue
            self._prune(entry, now)
            entry.failures.append(now)
            entry.last = now
            if entry.locks > 0 or len(entry.failures) >= self.max_failures:
                seconds = min(self.lockout_max, self.lockout * 2 ** min(entry.locks, _MAX_DOUBLINGS))
                entry.locks += 1
                entry.locked_until = max(entry.locked_until, now + seconds)
                started.append(Locked(key, seconds, len(entry.failures)))
        return started

    def retry_after(self, keys: Iterable[str]) -> float | None:
        """Seconds left on the longest lock among keys, or None (nothing is counted)."""
        now = self.clock()
        left = [e.locked_until - now for k in keys if (e := self._entries.get(k)) and e.locked_until > now]
        return max(left) if left else None

    # -- bookkeeping -----------------------------------------------------------------------------

    def _allowance(self, entry: _Entry) -> int:
        # After a lock, the next failure locks again: one attempt at a time.
        return 1 if entry.locks > 0 else self.max_failures - len(entry.failures)

    def _prune(self, entry: _Entry, now: float) -> None:
        while entry.failures and entry.failures[0] <= now - self.window:
            entry.failures.popleft()
        if entry.locks and self._quiet(entry, now):
            entry.locks = 0  # a whole window quiet since the last lock ended: the doubling starts over

    def _quiet(self, entry: _Entry, now: float) -> bool:
        return max(entry.locked_until, entry.last) <= now - self.window

    def _expired(self, entry: _Entry, now: float) -> bool:
        return entry.pending == 0 and self._quiet(entry, now)

    def _entry(self, key: str, now: float) -> _Entry:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
            return entry
        if len(self._entries) >= self.max_entries or now >= self._next_sweep:
            self._shed(now)
            self._next_sweep = now + self.window
        entry = self._entries[key] = _Entry()
        return entry

    def _shed(self, now: float) -> None:
        for key in [k for k, e in self._entries.items() if self._expired(e, now)]:
            del self._entries[key]
        # Still full of live entries (many addresses or names at once): drop a tenth in one go, so
        # that a flood does not rescan the table on every attempt. Unlocked entries go first, least
        # recently used first, so a flood of new names does not lift the locks already in force.
        # Attempts in flight keep their entries.
        if len(self._entries) >= self.max_entries:
            target = self.max_entries - max(1, self.max_entries // 10)
            idle = [(e.locked_until > now, k) for k, e in self._entries.items() if e.pending == 0]
            victims = [k for _, k in sorted(idle, key=lambda x: x[0])]  # stable: LRU order within each group
            for key in victims[: len(self._entries) - target]:
                del self._entries[key]


def whole_seconds(seconds: float) -> int:
    """For Retry-After: whole seconds, rounded up, at least 1."""
    return max(1, math.ceil(seconds))


def mask_username(username: str) -> str:
    """For logs: the first character and the length ('admin' -> 'a***(5)'); addresses as
    gateway.logsetup.mask_address does them."""
    if "@" in username:
        return mask_address(username)
    return f"{username[:1]}***({len(username)})" if username else "''"


def login_throttle(app: Any) -> LoginThrottle:
    """The app's throttle, made from config.web on first use (one per process)."""
    throttle: LoginThrottle | None = getattr(app.state, "login_throttle", None)
    if throttle is None:
        web = app.state.web.config.web
        throttle = LoginThrottle(
            max_failures=web.login_max_failures,
            window=web.login_window_seconds,
            lockout=web.login_lockout_seconds,
            lockout_max=web.login_lockout_max_seconds,
        )
        app.state.login_throttle = throttle
    return throttle


async def throttled_check(
    throttle: LoginThrottle, host: str | None, username: str, check: Callable[[], _U]
) -> tuple[_U | None, float | None]:
    """One sign-in attempt under the throttle, for every way of signing in (the admin form, HTTP
    Basic on the API): (the user or None, None), or (None, seconds to wait) when the address or the
    name is locked, in which case `check` (the password check) is not run at all."""
    keys = (ip_key(host), user_key(username))
    wait = throttle.begin(keys)
    if wait is not None:
        return None, wait
    user: _U | None = None
    try:
        user = await asyncio.to_thread(check)
    finally:
        for lock in throttle.end(keys, ok=user is not None):
            log.warning(
                "sign-in locked for %d s after %d failures (%s): user %s from %s",
                whole_seconds(lock.seconds),
                lock.failures,
                lock.key.partition(":")[0],
                mask_username(username),
                host or "unknown",
            )
    return user, None
