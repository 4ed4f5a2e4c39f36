"""Hold records in the store's Redis database, next to the queues (same `prefix`).

Keys (all under the one hash tag `{PREFIX:holds}`, so every atomic update touches one slot and works
on a Redis Cluster too; held mail is a small share of all mail, so one slot is plenty):

    PREFIX:h:{PREFIX:holds}:rec:<id>    string  the hold as JSON (state, token digests, ...)
    PREFIX:h:{PREFIX:holds}:due         zset    id -> when the hold loop must look at it next
    PREFIX:h:{PREFIX:holds}:created     zset    id -> created_at (admin listing)
    PREFIX:h:{PREFIX:holds}:states      hash    state -> number of holds in it
    PREFIX:h:{PREFIX:holds}:audit       list    every audit entry (JSON), oldest first
    PREFIX:h:{PREFIX:holds}:audit:<id>  list    the audit entries of one hold
    PREFIX:h:{PREFIX:holds}:stats       hash    "<rule>\\x1f<key>" -> count
    PREFIX:h:{PREFIX:holds}:secret      string  the shared signing key
    PREFIX:h:{PREFIX:holds}:away        hash    approver who is away -> their deputy

An update is optimistic: WATCH the record, read it, decide, then MULTI/EXEC the record, the indexes,
the audit entries and the statistics together; EXEC fails if anyone else wrote the record in between,
and the update is decided again on the new state (a compare-and-set on the state).
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import redis

from gateway.hold.model import STAT_KEYS, AuditEntry, Change, Hold
from gateway.hold.store import Decide, HoldConflict, HoldFilter, HoldStore

_ATTEMPTS = 100
_PAGE = 200


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisHoldStore(HoldStore):
    def __init__(self, client: redis.Redis, prefix: str = "gw") -> None:
        if not prefix or any(c in prefix for c in "{}"):
            raise ValueError("the redis key prefix must be non-empty and free of '{' and '}'")
        self.r = client
        self.prefix = prefix
        self._base = f"{prefix}:h:{{{prefix}:holds}}"
        self._due = f"{self._base}:due"
        self._created = f"{self._base}:created"
        self._states = f"{self._base}:states"
        self._audit = f"{self._base}:audit"
        self._stats = f"{self._base}:stats"
        self._secret = f"{self._base}:secret"
        self._away = f"{self._base}:away"

    def _rec(self, hold_id: str) -> str:
        return f"{self._base}:rec:{hold_id}"

    def _write(
        self, pipe: Any, hold: Hold, audit: list[AuditEntry], stats: dict[str, int], old_state: str | None
    ) -> None:
        pipe.set(self._rec(hold.id), json.dumps(hold.to_json()))
        due = hold.next_due()
        if due is None:
            pipe.zrem(self._due, hold.id)
        else:
            pipe.zadd(self._due, {hold.id: due})
        pipe.zadd(self._created, {hold.id: hold.created_at})
        if old_state != hold.state.value:
            if old_state is not None:
                pipe.hincrby(self._states, old_state, -1)
            pipe.hincrby(self._states, hold.state.value, 1)
        for entry in audit:
            text = json.dumps(entry.to_json(), ensure_ascii=False)
            pipe.rpush(self._audit, text)
            pipe.rpush(f"{self._base}:audit:{hold.id}", text)
        for key, n in stats.items():
            pipe.hincrby(self._stats, f"{hold.rule}\x1f{key}", n)

    def create(self, hold: Hold, audit: AuditEntry) -> bool:
        key = self._rec(hold.id)
        with self.r.pipeline() as pipe:
            for _ in range(_ATTEMPTS):
                try:
                    pipe.watch(key)
                    if pipe.exists(key):
                        pipe.unwatch()
                        return False
                    pipe.multi()
                    self._write(pipe, hold, [audit], {"holds": 1}, None)
                    pipe.execute()
                    return True
                except redis.WatchError:
                    continue
        raise HoldConflict(hold.id)

    def get(self, hold_id: str) -> Hold | None:
        data = self.r.get(self._rec(hold_id))
        return None if data is None else Hold.from_json(json.loads(data))

    def update(self, hold_id: str, decide: Decide) -> Change | None:
        key = self._rec(hold_id)
        with self.r.pipeline() as pipe:
            for _ in range(_ATTEMPTS):
                try:
                    pipe.watch(key)
                    data = pipe.get(key)
                    if data is None:
                        pipe.unwatch()
                        return None
                    current = Hold.from_json(json.loads(data))
                    change = decide(current)
                    if change is None:
                        pipe.unwatch()
                        return None
                    change.hold.version = current.version + 1
                    pipe.multi()
                    self._write(pipe, change.hold, change.audit, change.stats, current.state.value)
                    pipe.execute()
                    return change
                except redis.WatchError:
                    continue
        raise HoldConflict(hold_id)

    def _load(self, ids: list[Any]) -> list[Hold]:
        if not ids:
            return []
        values = self.r.mget([self._rec(_s(i)) for i in ids])
        return [Hold.from_json(json.loads(v)) for v in values if v is not None]

    def due(self, now: float, limit: int = 100) -> list[Hold]:
        ids = self.r.zrangebyscore(self._due, "-inf", now, start=0, num=limit)
        return self._load(list(ids))

    def find(self, where: HoldFilter) -> list[Hold]:
        out: list[Hold] = []
        start = 0
        high = "+inf" if where.older_than is None else repr(where.older_than)
        while len(out) < where.limit:
            ids = self.r.zrevrangebyscore(self._created, high, "-inf", start=start, num=_PAGE)
            if not ids:
                break
            start += _PAGE
            for hold in self._load(list(ids)):
                if where.states and hold.state not in where.states:
                    continue
                if where.sender and where.sender.lower() not in hold.sender.lower():
                    continue
                if where.rule and hold.rule != where.rule:
                    continue
                out.append(hold)
        return out[: where.limit]

    def audit(self, hold_id: str | None = None, limit: int = 200) -> list[AuditEntry]:
        if hold_id is None:
            rows = list(reversed(self.r.lrange(self._audit, -limit, -1)))
        else:
            rows = self.r.lrange(f"{self._base}:audit:{hold_id}", 0, limit - 1)
        return [AuditEntry.from_json(json.loads(r)) for r in rows]

    def stats(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for field, n in self.r.hgetall(self._stats).items():
            rule, _, key = _s(field).partition("\x1f")
            out.setdefault(rule, dict.fromkeys(STAT_KEYS, 0))[key] = int(n)
        return dict(sorted(out.items()))

    def counts(self) -> dict[str, int]:
        raw = self.r.hgetall(self._states)
        return {_s(k): int(v) for k, v in raw.items() if int(v)}

    def away(self) -> dict[str, str]:
        return dict(sorted((_s(a), _s(d)) for a, d in self.r.hgetall(self._away).items()))

    def set_away(self, approver: str, deputy: str | None) -> None:
        if deputy is None:
            self.r.hdel(self._away, approver.lower())
        else:
            self.r.hset(self._away, approver.lower(), deputy.lower())

    def secret(self) -> bytes:
        self.r.set(self._secret, secrets.token_bytes(32), nx=True)
        key = self.r.get(self._secret)
        assert isinstance(key, bytes)
        return key

    def clear(self) -> None:
        keys = list(self.r.scan_iter(match=f"{self.prefix}:h:*", count=1000))
        for i in range(0, len(keys), 500):
            self.r.delete(*keys[i : i + 500])

    def close(self) -> None:
        self.r.close()
