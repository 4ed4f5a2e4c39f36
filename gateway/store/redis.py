"""The scale-out store: several gateway nodes share one Redis (standalone or with Sentinel).

Persistence that makes "250 after durable storage" true: `appendonly yes`, `appendfsync always`,
`maxmemory-policy noeviction`. The store checks them on open and logs one WARNING if they differ.

Key design: every atomic operation touches ONE hash slot (no cluster client exists yet, but the keys
would not stand in its way). `store.redis_min_replicas` makes accept WAIT for replicas. With the
default prefix `gw`:

    {gw:q}:<queue>          zset  message id -> due time; while leased, the time the lease runs out
    {gw:q}:<queue>:order    zset  message id -> received_at (admin listing, oldest first)
    {gw:q}:lease            hash  message id -> token of the lease now held (absent: not leased)
    {gw:q}:fv / {gw:q}:rv   hash  message id -> current version of its fields / raw bytes
    {gw:q}:seq              counter that mints lease tokens (unique, never reused)
    gw:m:{<message id>}     hash  "f:<version>" -> fields as JSON, "r:<version>" -> raw bytes

All queue bookkeeping shares the `{gw:q}` hash tag and changes only in Lua scripts (atomic). Per-message
data lives in one key per message, so it spreads over the cluster.

- claim: a script takes the due members (score <= now) of one queue zset, pushes their score to
  now + lease (that is the lease: it runs out by itself) and records a fresh token from `seq`.
  claim_message does the same for one named member, due or not, unless its lease is still running.
- move/finish/release: a script checks that the message is still on the lease's queue and that the lease
  hash still holds the caller's token (fencing), then changes the zsets.
- Data is written BEFORE the queue change, and never in place: accept and move write the fields (and
  raw) under a new version of their own (`a.<random>` for an accepted batch, `<lease token>.<random>`
  for a move), and the (fenced) script makes that version current. A worker
  whose lease was lost therefore cannot overwrite the data of the worker that took over (its version
  never becomes current), and a crash between the two steps leaves only an unused version behind (the
  lease runs out, the message is redone: at-least-once, never lost). Old versions are deleted after the
  switch, and the whole data key when the message is finished.

Leftovers a crash can cause (never a loss): a data key whose queue entry was never written (accept
failed half way; the client got 451) or whose entry was already removed (finish crashed before the DEL).
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any, ParamSpec, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

import redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

from gateway.message import QueuedMessage
from gateway.store import codec
from gateway.store.base import Lease, Queue, Store, StoreError
from gateway.store.owner import SEPARATOR, Owner, current, token_owner

log = logging.getLogger(__name__)

_QUEUES = list(Queue)
_DATA_RETRIES = 5  # re-reads when a concurrent move switched versions between our two reads

_P = ParamSpec("_P")
_T = TypeVar("_T")


def _redis_errors(fn: Callable[_P, _T]) -> Callable[_P, _T]:
    """Every redis failure becomes a StoreError (callers answer 4xx); KeyError and ValueError pass."""

    @wraps(fn)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        try:
            return fn(*args, **kwargs)
        except redis.RedisError as e:
            raise StoreError(f"redis: {type(e).__name__}: {e}") from e

    return wrapper


# KEYS: due zset, lease hash, seq, fv hash. ARGV: now, lease until, limit, owner.
# A token is a number never used before, then the owner (gateway.store.owner): "<n>@<node>/<pid>/<start>".
_CLAIM = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  local token = tostring(redis.call('INCR', KEYS[3])) .. '@' .. ARGV[4]
  redis.call('ZADD', KEYS[1], ARGV[2], id)
  redis.call('HSET', KEYS[2], id, token)
  out[#out + 1] = id
  out[#out + 1] = token
  out[#out + 1] = redis.call('HGET', KEYS[4], id) or ''
end
return out
"""

# KEYS: due zset, lease hash, seq, fv hash. ARGV: id, now, lease until, owner.
# Leased = a token in the lease hash and a score (the lease's end) after now; a lease that ran out
# does not count, as in _CLAIM. Returns {token, fields version}, or {} if not on the queue or leased.
_CLAIM_MESSAGE = """
local id = ARGV[1]
local score = redis.call('ZSCORE', KEYS[1], id)
if not score then
  return {}
end
if redis.call('HEXISTS', KEYS[2], id) == 1 and tonumber(score) > tonumber(ARGV[2]) then
  return {}
end
local token = tostring(redis.call('INCR', KEYS[3])) .. '@' .. ARGV[4]
redis.call('ZADD', KEYS[1], ARGV[3], id)
redis.call('HSET', KEYS[2], id, token)
return {token, redis.call('HGET', KEYS[4], id) or ''}
"""

# KEYS: due zset, order zset, fv, rv, lease, then the order zsets of every queue.
# ARGV: now, data version, then (id, received_at) pairs.
# A retried call (connection lost after the script ran) finds its ids on the same queue: no error.
_ACCEPT = """
for i = 3, #ARGV, 2 do
  local id = ARGV[i]
  for k = 6, #KEYS do
    if KEYS[k] ~= KEYS[2] and redis.call('ZSCORE', KEYS[k], id) then
      return redis.error_reply('duplicate message id')
    end
  end
  if redis.call('HEXISTS', KEYS[5], id) == 1 then
    return redis.error_reply('duplicate message id')
  end
end
for i = 3, #ARGV, 2 do
  local id = ARGV[i]
  redis.call('ZADD', KEYS[1], ARGV[1], id)
  redis.call('ZADD', KEYS[2], ARGV[i + 1], id)
  redis.call('HSET', KEYS[3], id, ARGV[2])
  redis.call('HSET', KEYS[4], id, ARGV[2])
end
return 1
"""

# KEYS: src due, src order, dst due, dst order, lease, fv, rv.
# ARGV: id, token, due, received_at, new fields version, new raw version ('' = keep).
# Returns {1, old fields version, old raw version}, or {0, current fields version, current raw version}.
_MOVE = """
local id = ARGV[1]
if redis.call('HGET', KEYS[5], id) ~= ARGV[2] or not redis.call('ZSCORE', KEYS[1], id) then
  return {0, redis.call('HGET', KEYS[6], id) or '', redis.call('HGET', KEYS[7], id) or ''}
end
local oldf = redis.call('HGET', KEYS[6], id) or ''
local oldr = redis.call('HGET', KEYS[7], id) or ''
redis.call('ZREM', KEYS[1], id)
redis.call('ZREM', KEYS[2], id)
redis.call('ZADD', KEYS[3], ARGV[3], id)
redis.call('ZADD', KEYS[4], ARGV[4], id)
redis.call('HDEL', KEYS[5], id)
redis.call('HSET', KEYS[6], id, ARGV[5])
if ARGV[6] ~= '' then
  redis.call('HSET', KEYS[7], id, ARGV[6])
end
return {1, oldf, oldr}
"""

# KEYS: due, order, lease, fv, rv, then the order zsets of every queue. ARGV: id, token.
# Returns 1 done, 0 lease lost, -1 lease lost and the message is on no queue (already finished).
_FINISH = """
local id = ARGV[1]
if redis.call('HGET', KEYS[3], id) ~= ARGV[2] or not redis.call('ZSCORE', KEYS[1], id) then
  for k = 6, #KEYS do
    if redis.call('ZSCORE', KEYS[k], id) then
      return 0
    end
  end
  return -1
end
redis.call('ZREM', KEYS[1], id)
redis.call('ZREM', KEYS[2], id)
redis.call('HDEL', KEYS[3], id)
redis.call('HDEL', KEYS[4], id)
redis.call('HDEL', KEYS[5], id)
return 1
"""

# KEYS: due, lease. ARGV: lease until, then (id, token) pairs. Returns 1 (renewed) or 0 (lost) each.
_RENEW = """
local out = {}
for i = 2, #ARGV, 2 do
  local id = ARGV[i]
  if redis.call('HGET', KEYS[2], id) == ARGV[i + 1] and redis.call('ZSCORE', KEYS[1], id) then
    redis.call('ZADD', KEYS[1], 'XX', ARGV[1], id)
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out
"""

# KEYS: lease, then the due zsets of every queue. ARGV: now, then (id, token) pairs.
# Ends each lease that still holds that token: due now on its queue. Returns the ids taken back.
_RECLAIM = """
local out = {}
for i = 2, #ARGV, 2 do
  local id = ARGV[i]
  if redis.call('HGET', KEYS[1], id) == ARGV[i + 1] then
    for k = 2, #KEYS do
      if redis.call('ZSCORE', KEYS[k], id) then
        redis.call('ZADD', KEYS[k], ARGV[1], id)
      end
    end
    redis.call('HDEL', KEYS[1], id)
    out[#out + 1] = id
  end
end
return out
"""

# KEYS: due, lease. ARGV: id, token, now.
_RELEASE = """
local id = ARGV[1]
if redis.call('HGET', KEYS[2], id) == ARGV[2] and redis.call('ZSCORE', KEYS[1], id) then
  redis.call('ZADD', KEYS[1], ARGV[3], id)
  redis.call('HDEL', KEYS[2], id)
end
return 1
"""

# KEYS: fv, rv, then the order zsets of every queue. ARGV: id.
# Returns {queue index (1-based, 0 = unknown), fields version, raw version}.
_LOCATE = """
for k = 3, #KEYS do
  if redis.call('ZSCORE', KEYS[k], ARGV[1]) then
    return {k - 2, redis.call('HGET', KEYS[1], ARGV[1]) or '', redis.call('HGET', KEYS[2], ARGV[1]) or ''}
  end
end
return {0, '', ''}
"""

# KEYS: order zset, fv. ARGV: limit. Returns id, fields version pairs, oldest first.
_LIST = """
local ids = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
local out = {}
for _, id in ipairs(ids) do
  out[#out + 1] = id
  out[#out + 1] = redis.call('HGET', KEYS[2], id) or ''
end
return out
"""


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _score(value: float) -> str:
    return repr(float(value))


DURABLE_SETTINGS = "a 250 reply is only safe with appendonly yes, appendfsync always, maxmemory-policy noeviction"


def durability_problems(client: redis.Redis) -> str:
    """What in the server's persistence settings makes an acknowledged write not durable ("" if
    nothing, or when CONFIG is disabled or renamed, as on managed Redis). Raises RedisError."""
    want = {"appendonly": "yes", "appendfsync": "always", "maxmemory-policy": "noeviction"}
    found: dict[str, str] = {}
    try:
        for key in want:
            found.update({_s(k): _s(v) for k, v in client.config_get(key).items()})
    except redis.ResponseError:
        return ""
    wrong = {k: found.get(k, "?") for k, v in want.items() if found.get(k, v) != v}
    return ", ".join(f"{k} is {v}" for k, v in sorted(wrong.items()))


def connect_redis(url: str) -> redis.Redis:
    """The one way to reach the store's Redis (queues, holds, history): a client for redis://, rediss://, unix:// or redis+sentinel://h1:26379,h2:26379/SERVICE/DB."""
    options: dict[str, Any] = {
        "decode_responses": False,
        "socket_timeout": 30.0,
        "socket_connect_timeout": 5.0,
        "health_check_interval": 30,
        # Short, bounded retries: a caller waiting behind us is an SMTP client waiting for its reply.
        "retry": Retry(ExponentialWithJitterBackoff(cap=0.5, base=0.05), 3),
    }
    if url.startswith("redis+sentinel://"):
        return _connect_sentinel(url, options)
    if url.startswith(("redis://", "rediss://", "unix://")):
        return redis.Redis.from_url(url, **options)
    raise ValueError(f"not a redis URL: {url.split('://', 1)[0]}://...")


def _connect_sentinel(url: str, options: dict[str, Any]) -> redis.Redis:
    parts = urlsplit(url)
    netloc = parts.netloc
    username = password = None
    if "@" in netloc:
        userinfo, netloc = netloc.rsplit("@", 1)
        user, _, pw = userinfo.partition(":")
        username, password = unquote(user) or None, unquote(pw) or None
    sentinels: list[tuple[str, int]] = []
    for hostport in filter(None, netloc.split(",")):
        if hostport.startswith("["):  # [::1]:26379
            host, _, rest = hostport[1:].partition("]")
            port = rest.lstrip(":") or "26379"
        else:
            host, _, port = hostport.partition(":")
            port = port or "26379"
        if not host or not port.isdigit():
            raise ValueError(f"redis+sentinel URL: bad sentinel address {hostport!r}")
        sentinels.append((host, int(port)))
    path = [p for p in parts.path.split("/") if p]
    if not sentinels or not path or len(path) > 2:
        raise ValueError("expected redis+sentinel://HOST:PORT[,HOST:PORT...]/SERVICE_NAME[/DB]")
    service = unquote(path[0])
    db = int(path[1]) if len(path) == 2 and path[1].isdigit() else 0
    if len(path) == 2 and not path[1].isdigit():
        raise ValueError(f"redis+sentinel URL: DB must be a number, got {path[1]!r}")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    sentinel_kwargs: dict[str, Any] = {
        "socket_timeout": options["socket_timeout"],
        "socket_connect_timeout": options["socket_connect_timeout"],
    }
    if "sentinel_password" in query:
        sentinel_kwargs["password"] = query.pop("sentinel_password")
    if "sentinel_username" in query:
        sentinel_kwargs["username"] = query.pop("sentinel_username")
    if query:
        raise ValueError(f"redis+sentinel URL: unknown options {sorted(query)}")
    sentinel = Sentinel(sentinels, sentinel_kwargs=sentinel_kwargs)
    client: redis.Redis = sentinel.master_for(service, db=db, username=username, password=password, **options)
    return client


class RedisStore(Store):
    def __init__(
        self,
        url: str,
        prefix: str = "gw",
        *,
        node_id: str | None = None,
        min_replicas: int = 0,
        replica_timeout: float = 1.0,
    ) -> None:
        if not prefix or any(c in prefix for c in "{}"):
            raise ValueError("the redis key prefix must be non-empty and free of '{' and '}'")
        self.prefix = prefix
        self.node_id = node_id
        self.min_replicas = min_replicas
        self.replica_timeout = replica_timeout
        self._r = connect_redis(url)
        self._closed = False
        tag = f"{{{prefix}:q}}"
        self._due = {q: f"{tag}:{q}" for q in Queue}
        self._order = {q: f"{tag}:{q}:order" for q in Queue}
        self._lease = f"{tag}:lease"
        self._fv = f"{tag}:fv"
        self._rv = f"{tag}:rv"
        self._seq = f"{tag}:seq"
        self._claim = self._r.register_script(_CLAIM)
        self._claim_message = self._r.register_script(_CLAIM_MESSAGE)
        self._accept = self._r.register_script(_ACCEPT)
        self._move = self._r.register_script(_MOVE)
        self._finish = self._r.register_script(_FINISH)
        self._release = self._r.register_script(_RELEASE)
        self._renew = self._r.register_script(_RENEW)
        self._reclaim = self._r.register_script(_RECLAIM)
        self._locate = self._r.register_script(_LOCATE)
        self._list = self._r.register_script(_LIST)
        self._check_durability()

    def _data(self, message_id: str) -> str:
        return f"{self.prefix}:m:{{{message_id}}}"

    def _client(self) -> redis.Redis:
        if self._closed:
            raise StoreError("the store is closed")
        return self._r

    def _check_durability(self) -> None:
        """Warn once if the server's persistence settings do not make an acknowledged write durable."""
        try:
            wrong = durability_problems(self._r)
        except redis.RedisError as e:
            log.warning("redis store: could not check the persistence settings (%s)", type(e).__name__)
            return
        if wrong:
            log.warning("redis store: %s; %s", wrong, DURABLE_SETTINGS)

    # -- the Store interface

    @_redis_errors
    def accept(self, items: Sequence[tuple[QueuedMessage, bytes]], queue: Queue = Queue.INBOUND) -> None:
        if not items:
            return
        if len({m.id for m, _ in items}) != len(items):
            raise StoreError("duplicate message id in one batch")
        r = self._client()
        # A version of this batch's own: a failed accept can never touch another message's data.
        version = f"a.{secrets.token_hex(6)}"
        pipe = r.pipeline(transaction=False)
        for message, raw in items:
            pipe.hset(self._data(message.id), mapping={f"f:{version}": codec.encode(message), f"r:{version}": raw})
        pipe.execute()  # raises on the first failed command
        args: list[str] = [_score(time.time()), version]
        for message, _ in items:
            args += [message.id, _score(message.received_at)]
        keys = [self._due[queue], self._order[queue], self._fv, self._rv, self._lease]
        try:
            if self.min_replicas:
                # WAIT counts the writes of its own connection: the script and WAIT share one (a
                # pipeline); the data written before the script precedes it in the replication stream.
                pipe = r.pipeline(transaction=False)
                self._accept(keys=keys + [self._order[q] for q in _QUEUES], args=args, client=pipe)
                pipe.wait(self.min_replicas, int(self.replica_timeout * 1000))
                acked = int(pipe.execute()[-1])
            else:
                self._accept(keys=keys + [self._order[q] for q in _QUEUES], args=args)
        except redis.ResponseError:
            with contextlib.suppress(redis.RedisError):  # best effort: unused versions of our own
                pipe = r.pipeline(transaction=False)
                for message, _ in items:
                    pipe.hdel(self._data(message.id), f"f:{version}", f"r:{version}")
                pipe.execute()
            raise
        # Replication is asynchronous: without WAIT, a failover may promote a replica that lacks a
        # message answered 250 a moment before the primary died. With it, the 250 waits one round
        # trip to the replicas; fewer in time raises StoreError (451): the message is stored on the
        # primary all the same, so the MTA's retry may make a duplicate, never a loss.
        if self.min_replicas and acked < self.min_replicas:
            raise StoreError(f"redis: {acked} of {self.min_replicas} replicas confirmed the write in time")
        self.due_now(queue)

    @_redis_errors
    def claim(self, queue: Queue, limit: int, lease_seconds: float, now: float | None = None) -> list[Lease]:
        if limit <= 0:
            return []
        if lease_seconds <= 0:
            raise ValueError("lease_seconds must be positive")
        r = self._client()
        now = time.time() if now is None else now
        out = self._claim(
            keys=[self._due[queue], self._lease, self._seq, self._fv],
            args=[_score(now), _score(now + lease_seconds), limit, str(current(self.node_id))],
        )
        claimed = [(_s(out[i]), _s(out[i + 1]), _s(out[i + 2])) for i in range(0, len(out), 3)]
        if not claimed:
            return []
        pipe = r.pipeline(transaction=False)
        for message_id, _, version in claimed:
            pipe.hget(self._data(message_id), f"f:{version}")
        leases = []
        for (message_id, token, _), fields in zip(claimed, pipe.execute(), strict=True):
            if fields is None:
                # Cannot happen while data is written before queue entries; leave the entry leased
                # (it comes back when the lease runs out) and tell the admin.
                log.error("redis store: message %s is queued but its data is missing", message_id)
                continue
            leases.append(Lease(message=codec.decode(fields), queue=queue, token=token))
        return leases

    @_redis_errors
    def claim_message(
        self, queue: Queue, message_id: str, lease_seconds: float, now: float | None = None
    ) -> Lease | None:
        if lease_seconds <= 0:
            raise ValueError("lease_seconds must be positive")
        r = self._client()
        now = time.time() if now is None else now
        out = self._claim_message(
            keys=[self._due[queue], self._lease, self._seq, self._fv],
            args=[message_id, _score(now), _score(now + lease_seconds), str(current(self.node_id))],
        )
        if not out:
            return None
        token, version = _s(out[0]), _s(out[1])
        fields = r.hget(self._data(message_id), f"f:{version}")
        if fields is None:
            # As in claim: cannot happen while data is written before queue entries.
            log.error("redis store: message %s is queued but its data is missing", message_id)
            return None
        return Lease(message=codec.decode(fields), queue=queue, token=token)

    @_redis_errors
    def renew(self, leases: Sequence[Lease], lease_seconds: float, now: float | None = None) -> list[bool]:
        if not leases:
            return []
        self._client()
        until = _score((time.time() if now is None else now) + lease_seconds)
        ok: dict[int, bool] = {}
        for queue in {lease.queue for lease in leases}:  # one script per queue: its own due zset
            mine = [(i, lease) for i, lease in enumerate(leases) if lease.queue is queue]
            args: list[str] = [until]
            for _, lease in mine:
                args += [lease.message.id, lease.token]
            out = self._renew(keys=[self._due[queue], self._lease], args=args)
            ok.update((i, bool(int(v))) for (i, _), v in zip(mine, out, strict=True))
        return [ok[i] for i in range(len(leases))]

    @_redis_errors
    def reclaim(self, dead: Callable[[Owner], bool], now: float | None = None) -> list[str]:
        r = self._client()
        held: dict[Any, Any] = r.hgetall(self._lease)
        verdicts: dict[str, bool] = {}
        args: list[str] = [_score(time.time() if now is None else now)]
        for raw_id, raw_token in held.items():
            token = _s(raw_token)
            owner_text = token.partition(SEPARATOR)[2]
            if owner_text not in verdicts:
                owner = token_owner(token)
                verdicts[owner_text] = owner is not None and dead(owner)
            if verdicts[owner_text]:
                args += [_s(raw_id), token]
        if len(args) == 1:
            return []
        out = self._reclaim(keys=[self._lease] + [self._due[q] for q in _QUEUES], args=args)
        return [_s(v) for v in out]

    @_redis_errors
    def raw(self, message_id: str) -> bytes:
        r = self._client()
        for _ in range(_DATA_RETRIES):
            index, _, raw_version = self._where(message_id)
            if not index:
                raise KeyError(message_id)
            data: Any = r.hget(self._data(message_id), f"r:{raw_version}")
            if data is not None:
                return bytes(data)
        raise StoreError(f"redis store: the raw bytes of {message_id} cannot be read")

    @_redis_errors
    def raws(self, message_ids: Sequence[str], max_bytes: int) -> dict[str, bytes]:
        """Three round trips for a whole batch: raw versions, their lengths, the small ones' bytes.
        Meant for leased messages (their raw version cannot change under us); one whose version moved
        on meanwhile is left out, and the caller reads it with raw()."""
        ids = list(dict.fromkeys(message_ids))
        if not ids:
            return {}
        r = self._client()
        versions: list[Any] = r.hmget(self._rv, ids)
        known = [(mid, _s(v)) for mid, v in zip(ids, versions, strict=True) if v is not None]
        pipe = r.pipeline(transaction=False)
        for mid, version in known:
            pipe.hstrlen(self._data(mid), f"r:{version}")
        small = [(mid, v) for (mid, v), n in zip(known, pipe.execute(), strict=True) if 0 < int(n) <= max_bytes]
        pipe = r.pipeline(transaction=False)
        for mid, version in small:
            pipe.hget(self._data(mid), f"r:{version}")
        return {mid: bytes(data) for (mid, _), data in zip(small, pipe.execute(), strict=True) if data is not None}

    @_redis_errors
    def move(
        self,
        lease: Lease,
        queue: Queue,
        message: QueuedMessage,
        *,
        raw: bytes | None = None,
        due_at: float | None = None,
    ) -> bool:
        if message.id != lease.message.id:
            raise ValueError("move: the message is not the leased one")
        r = self._client()
        data_key = self._data(message.id)
        # A version of our own, never reused: a stale worker's version never becomes current, and a
        # second move with the same lease cannot touch the data the first one made current.
        version = f"{lease.token}.{secrets.token_hex(4)}"
        mapping: dict[Any, Any] = {f"f:{version}": codec.encode(message)}
        if raw is not None:
            mapping[f"r:{version}"] = raw
        r.hset(data_key, mapping=mapping)
        ok, fields_version, raw_version = self._move(
            keys=[
                self._due[lease.queue],
                self._order[lease.queue],
                self._due[queue],
                self._order[queue],
                self._lease,
                self._fv,
                self._rv,
            ],
            args=[
                message.id,
                lease.token,
                _score(time.time() if due_at is None else due_at),
                _score(message.received_at),
                version,
                version if raw is not None else "",
            ],
        )
        if not ok:
            if _s(fields_version) == version:
                # The client retried a script that had already run (connection lost on the reply).
                if due_at is None:
                    self.due_now(queue)
                return True
            r.hdel(data_key, *mapping)  # our own unused version; nobody else ever writes it
            return False
        stale = [f"f:{_s(fields_version)}"]
        if raw is not None:
            stale.append(f"r:{_s(raw_version)}")
        if due_at is None:
            self.due_now(queue)
        r.hdel(data_key, *stale)
        return True

    @_redis_errors
    def finish(self, lease: Lease) -> bool:
        r = self._client()
        q = lease.queue
        result = int(
            self._finish(
                keys=[self._due[q], self._order[q], self._lease, self._fv, self._rv]
                + [self._order[other] for other in _QUEUES],
                args=[lease.message.id, lease.token],
            )
        )
        if result == 0:
            return False
        # -1: finished already (by whoever took over, or by a retried call whose reply was lost):
        # deleting the data again is harmless and cleans up after a crash between the two steps.
        r.delete(self._data(lease.message.id))
        return result == 1

    @_redis_errors
    def release(self, lease: Lease) -> None:
        self._client()
        self._release(
            keys=[self._due[lease.queue], self._lease],
            args=[lease.message.id, lease.token, _score(time.time())],
        )

    def _where(self, message_id: str) -> tuple[int, str, str]:
        index, fields_version, raw_version = self._locate(
            keys=[self._fv, self._rv] + [self._order[q] for q in _QUEUES], args=[message_id]
        )
        return int(index), _s(fields_version), _s(raw_version)

    @_redis_errors
    def get(self, message_id: str) -> tuple[Queue, QueuedMessage] | None:
        r = self._client()
        for _ in range(_DATA_RETRIES):
            index, fields_version, _ = self._where(message_id)
            if not index:
                return None
            fields = r.hget(self._data(message_id), f"f:{fields_version}")
            if fields is not None:
                return _QUEUES[index - 1], codec.decode(fields)
        raise StoreError(f"redis store: the data of {message_id} cannot be read")

    @_redis_errors
    def list_queue(self, queue: Queue, limit: int = 100) -> list[QueuedMessage]:
        if limit <= 0:
            return []
        r = self._client()
        out = self._list(keys=[self._order[queue], self._fv], args=[limit])
        pairs = [(_s(out[i]), _s(out[i + 1])) for i in range(0, len(out), 2)]
        pipe = r.pipeline(transaction=False)
        for message_id, version in pairs:
            pipe.hget(self._data(message_id), f"f:{version}")
        # A message moved away meanwhile has lost that version: it is simply not listed.
        return [codec.decode(fields) for fields in pipe.execute() if fields is not None]

    @_redis_errors
    def counts(self) -> dict[Queue, int]:
        pipe = self._client().pipeline(transaction=True)  # one slot: fine on a cluster too
        for q in _QUEUES:
            pipe.zcard(self._due[q])
        return {q: int(n) for q, n in zip(_QUEUES, pipe.execute(), strict=True)}

    @_redis_errors
    def ping(self) -> None:
        self._client().ping()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(redis.RedisError):  # nothing is pending: every call had its reply
            self._r.close()
