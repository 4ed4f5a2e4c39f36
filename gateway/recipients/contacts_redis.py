"""The contact book in the store's Redis database, next to the queues (same `prefix`).

One hash per name key, thread id and file digest; its fields are organisations (names: "kind|org")
and its values the last time seen. The key carries a digest, never the name or the Message-ID:
- `PREFIX:ct:{SHA}:n` name key -> {"org|example.co.jp": last seen, ...}
- `PREFIX:ct:{SHA}:t` Message-ID -> {org: last seen}
- `PREFIX:ct:{SHA}:f` attachment SHA-256 -> {org: last seen}
Every atomic operation touches one key (Redis Cluster friendly); times only move forward.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import redis

from gateway.recipients.contacts import ContactBook, Learned, NameRow

_SET_LATER = """
for i = 1, #ARGV, 2 do
  local cur = redis.call('HGET', KEYS[1], ARGV[i])
  if (not cur) or tonumber(cur) < tonumber(ARGV[i + 1]) then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
return 1
"""

_PRUNE = """
local removed = 0
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if tonumber(all[i + 1]) < tonumber(ARGV[1]) then
    redis.call('HDEL', KEYS[1], all[i])
    removed = removed + 1
  end
end
return removed
"""

_SUFFIX = {"names": "n", "threads": "t", "files": "f"}


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisContacts(ContactBook):
    def __init__(self, client: redis.Redis, prefix: str = "gw") -> None:
        if not prefix or any(c in prefix for c in "{}"):
            raise ValueError("the redis key prefix must be non-empty and free of '{' and '}'")
        self.r = client
        self.prefix = prefix
        self._set_later = self.r.register_script(_SET_LATER)
        self._prune = self.r.register_script(_PRUNE)

    def _key(self, value: str, kind: str) -> str:
        digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:24]
        return f"{self.prefix}:ct:{{{digest}}}:{kind}"

    def _write(self, rows: Learned) -> None:
        fields: dict[str, dict[str, float]] = defaultdict(dict)
        for r in rows.names:
            f = fields[self._key(r.key, "n")]
            name = f"{r.kind}|{r.org}"
            f[name] = max(f.get(name, r.when), r.when)
        for kind, items in (("t", rows.threads), ("f", rows.files)):
            for value, org, when in items:
                f = fields[self._key(value, kind)]
                f[org] = max(f.get(org, when), when)
        pipe = self.r.pipeline(transaction=False)
        for key, values in fields.items():
            args = [x for name, when in values.items() for x in (name, repr(when))]
            self._set_later(keys=[key], args=args, client=pipe)
        pipe.execute()

    def _read(self, values: Sequence[str], kind: str) -> list[tuple[str, dict[str, float]]]:
        unique = [v for v in dict.fromkeys(values) if v]
        if not unique:
            return []
        pipe = self.r.pipeline(transaction=False)
        for v in unique:
            pipe.hgetall(self._key(v, kind))
        out = []
        for v, found in zip(unique, pipe.execute(), strict=True):
            out.append((v, {_s(k): float(w) for k, w in found.items()}))
        return out

    def names(self, keys: Sequence[str], since: float) -> list[NameRow]:
        rows = []
        for key, found in self._read(keys, "n"):
            for name, when in found.items():
                if when >= since:
                    kind, _, org = name.partition("|")
                    rows.append(NameRow(key, kind, org, when))
        return rows

    def thread_orgs(self, ids: Sequence[str], since: float) -> set[str]:
        return {org for _, found in self._read(ids, "t") for org, when in found.items() if when >= since}

    def file_orgs(self, digests: Sequence[str], since: float) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for digest, found in self._read(digests, "f"):
            orgs = {org for org, when in found.items() if when >= since}
            if orgs:
                out[digest] = orgs
        return out

    def _keys(self) -> list[str]:
        return [_s(k) for k in self.r.scan_iter(match=f"{self.prefix}:ct:*", count=1000)]

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(_SUFFIX, 0)
        by_suffix = {v: k for k, v in _SUFFIX.items()}
        for key in self._keys():
            kind = by_suffix.get(key.rpartition(":")[2])
            if kind:
                out[kind] += int(self.r.hlen(key))
        return out

    def prune(self, before: float) -> dict[str, int]:
        out = dict.fromkeys(_SUFFIX, 0)
        by_suffix = {v: k for k, v in _SUFFIX.items()}
        for key in self._keys():
            kind = by_suffix.get(key.rpartition(":")[2])
            if kind:
                out[kind] += int(self._prune(keys=[key], args=[repr(before)]))
        return out

    def clear(self) -> None:
        for key in self._keys():
            self.r.delete(key)

    def close(self) -> None:
        self.r.close()
