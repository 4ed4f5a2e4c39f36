"""Recipient history in the store's Redis database, next to the queues (same `prefix`).

Keys (every atomic operation touches one hash slot, so this works on a Redis Cluster too):
- `PREFIX:rh:{SHA}:s`: hash recipient -> last delivery time, one per sender; the hash tag is a
  digest of the sender address, so a sender's pairs live in one slot and no address is in a key name;
- `PREFIX:rh:{PREFIX:rh-orgs}:last`: hash organisation -> last delivery time;
- `PREFIX:rh:{PREFIX:rh-orgs}:count`: sorted set organisation -> deliveries (for `top_domains`).
Times only move forward (a Lua script keeps the later time), so imports of old logs in any order and
repeated records are harmless.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import redis

from gateway.recipients.domains import Organisations
from gateway.recipients.history import RecipientHistory, Row

_SET_LATER = """
local n = 0
for i = 1, #ARGV, 2 do
  local cur = redis.call('HGET', KEYS[1], ARGV[i])
  if (not cur) or tonumber(cur) < tonumber(ARGV[i + 1]) then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
  n = n + 1
end
return n
"""

_ORGS = """
for i = 1, #ARGV, 3 do
  local cur = redis.call('HGET', KEYS[1], ARGV[i])
  if (not cur) or tonumber(cur) < tonumber(ARGV[i + 1]) then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
  redis.call('ZINCRBY', KEYS[2], ARGV[i + 2], ARGV[i])
end
return 1
"""

# Fields of KEYS[1] whose time is before ARGV[1] go (and, with KEYS[2], their sorted-set members):
# atomic, so a delivery recorded meanwhile is never removed by an older reading.
_PRUNE = """
local removed = 0
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if tonumber(all[i + 1]) < tonumber(ARGV[1]) then
    redis.call('HDEL', KEYS[1], all[i])
    if KEYS[2] then redis.call('ZREM', KEYS[2], all[i]) end
    removed = removed + 1
  end
end
return removed
"""

_CHUNK = 500


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisHistory(RecipientHistory):
    def __init__(self, client: redis.Redis, prefix: str = "gw", orgs: Organisations | None = None) -> None:
        super().__init__(orgs)
        if not prefix or any(c in prefix for c in "{}"):
            raise ValueError("the redis key prefix must be non-empty and free of '{' and '}'")
        self.r = client
        self.prefix = prefix
        self._org_last = f"{prefix}:rh:{{{prefix}:rh-orgs}}:last"
        self._org_count = f"{prefix}:rh:{{{prefix}:rh-orgs}}:count"
        self._set_later = self.r.register_script(_SET_LATER)
        self._orgs = self.r.register_script(_ORGS)
        self._prune = self.r.register_script(_PRUNE)

    def _sender_key(self, sender: str) -> str:
        digest = hashlib.sha256(sender.encode()).hexdigest()[:24]
        return f"{self.prefix}:rh:{{{digest}}}:s"

    def _record(self, rows: Sequence[Row]) -> None:
        per_sender: dict[str, dict[str, float]] = defaultdict(dict)
        org_last: dict[str, float] = {}
        org_count: dict[str, int] = defaultdict(int)
        for r in rows:
            pairs = per_sender[r.sender]
            pairs[r.recipient] = max(pairs.get(r.recipient, r.when), r.when)
            org_last[r.org] = max(org_last.get(r.org, r.when), r.when)
            org_count[r.org] += 1
        pipe = self.r.pipeline(transaction=False)
        for sender, pairs in per_sender.items():
            items = list(pairs.items())
            for i in range(0, len(items), _CHUNK):
                args = [x for k, when in items[i : i + _CHUNK] for x in (k, repr(when))]
                self._set_later(keys=[self._sender_key(sender)], args=args, client=pipe)
        org_items = list(org_last.items())
        for i in range(0, len(org_items), _CHUNK):
            args = [x for k, when in org_items[i : i + _CHUNK] for x in (k, repr(when), str(org_count[k]))]
            self._orgs(keys=[self._org_last, self._org_count], args=args, client=pipe)
        pipe.execute()

    def _hits(self, key: str, fields: Sequence[str], since: float) -> set[str]:
        found: set[str] = set()
        unique = list(dict.fromkeys(fields))
        for i in range(0, len(unique), _CHUNK):
            chunk = unique[i : i + _CHUNK]
            values = self.r.hmget(key, chunk)
            found.update(f for f, v in zip(chunk, values, strict=True) if v is not None and float(v) >= since)
        return found

    def sent_to(self, sender: str, addresses: Sequence[str], since: float) -> set[str]:
        return self._hits(self._sender_key(sender), addresses, since)

    def orgs_seen(self, orgs: Sequence[str], since: float) -> set[str]:
        return self._hits(self._org_last, orgs, since)

    def top_domains(self, limit: int, since: float = 0.0) -> list[tuple[str, int]]:
        out: list[tuple[str, int]] = []
        start, page = 0, max(limit * 2, 100)
        while len(out) < limit:
            ranked: list[tuple[Any, float]] = list(
                self.r.zrevrange(self._org_count, start, start + page - 1, withscores=True)  # type: ignore[arg-type]
            )
            if not ranked:
                break
            orgs = [_s(o) for o, _ in ranked]
            recent = self._hits(self._org_last, orgs, since) if since > 0 else set(orgs)
            out.extend((o, int(score)) for o, (_, score) in zip(orgs, ranked, strict=True) if o in recent)
            start += page
        return out[:limit]

    def _keys(self) -> list[str]:
        return [_s(k) for k in self.r.scan_iter(match=f"{self.prefix}:rh:*", count=1000)]

    def counts(self) -> dict[str, int]:
        pairs = sum(int(self.r.hlen(k)) for k in self._keys() if k.endswith(":s"))
        return {"pairs": pairs, "orgs": int(self.r.hlen(self._org_last))}

    def prune(self, before: float) -> dict[str, int]:
        pairs = sum(int(self._prune(keys=[k], args=[repr(before)])) for k in self._keys() if k.endswith(":s"))
        orgs = int(self._prune(keys=[self._org_last, self._org_count], args=[repr(before)]))
        return {"pairs": pairs, "orgs": orgs}

    def clear(self) -> None:
        for k in self._keys():
            self.r.delete(k)

    def close(self) -> None:
        self.r.close()
