"""Redis cache storage, shared by every process: entries, fill-cancelling generations, locks.

Layout for a key ``k`` under ``prefix`` (the braces are a Redis Cluster hash tag, so one
key's records share a slot and each script touches one slot)::

    {prefix}{k}         the packed entry (header + codec bytes), PX = ttl + stale window
    {prefix}{k}:gen     a random generation, renewed by every write and invalidation
    {prefix}{k}:lock    the single-flight lock: SET NX PX, released by compare-and-delete
    {prefix}{k}:done    pub/sub channel: "the lock was released", for waiting processes
    {prefix}invalidate  pub/sub channel: names of written or invalidated keys (near-caches)

Freshness is decided in Python against the entry's ``created`` time from the injected
clock, so the Redis path is as deterministic under test as the memory one. The PX expiry
only reclaims memory, in Redis's real time. Use one clock across processes (the default,
``time.time``), not ``time.monotonic``, which differs between hosts; where hosts' clocks
drift apart, ``clock=backend.server_time`` reads Redis's ``TIME`` instead.

Failure policy (fail-open for reads): the caches treat ``ConnectionError`` and
``TimeoutError`` from these methods as a miss and call the loader, and they skip the
fill and the lock. Writes and invalidations raise, because a silently skipped
invalidation would leave a stale entry (for at most its ttl).
"""

from __future__ import annotations

import contextlib
import math
import time
import uuid
from collections.abc import Hashable

import redis.exceptions

from highload import _validate

from . import scripts
from .codec import Codec, check_codec, pack, unpack
from .entry import LATER, Entry

__all__ = ["RedisBackend", "AsyncRedisBackend", "OUTAGE_ERRORS"]

#: errors that mean "Redis is unreachable" (fail open), as opposed to bugs (raise)
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


def _ms(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))


def key_name(key: Hashable) -> str:
    """The text a key is stored under in Redis: str as is, int via str(), bytes as UTF-8."""
    if isinstance(key, str):
        return key
    if isinstance(key, bytes):
        return key.decode()
    if isinstance(key, int) and not isinstance(key, bool):
        return str(key)
    raise TypeError(f"key must be a str, bytes or int on Redis, got {key!r}")


def check_client(client, asynchronous: bool):
    """``client``, or :func:`highload.store.connect` / ``connect_async()`` when it is None."""
    if client is None:
        from highload.store import connect, connect_async

        return connect_async() if asynchronous else connect()
    kwargs = getattr(getattr(client, "connection_pool", None), "connection_kwargs", {})
    if kwargs.get("decode_responses"):
        raise ValueError("client must be created with decode_responses=False: entries are bytes")
    return client


class _Layout:
    _asynchronous = False
    distributed = True
    outage_errors = OUTAGE_ERRORS
    default_clock = staticmethod(time.time)

    def __init__(self, client=None, *, prefix: str = "hl:cache:", codec: Codec | None = None,
                 generation_ttl: float = 3600.0, notify: bool = True) -> None:
        if not isinstance(prefix, str) or not prefix:
            raise ValueError(f"prefix must be a non-empty str, got {prefix!r}")
        self.client = check_client(client, self._asynchronous)
        self.prefix = prefix
        self.codec = check_codec(codec)
        self.generation_ttl = _validate.finite_positive("generation_ttl", generation_ttl)
        if not isinstance(notify, bool):
            raise TypeError(f"notify must be True or False, got {notify!r}")
        self.notify = notify
        #: near-caches subscribe here; each message is one written or invalidated key name
        self.channel = prefix + "invalidate"
        #: a message here means "drop everything" (sent by clear())
        self.clear_channel = prefix + "invalidate:all"
        self._gen_ms = _ms(self.generation_ttl)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(prefix={self.prefix!r}, codec={self.codec!r})"

    name_of = staticmethod(key_name)

    def entry_key(self, key: Hashable) -> str:
        # {hash tag}: an entry and its :gen/:lock keys land in one Redis Cluster slot.
        if type(key) is str:
            return self.prefix + "{" + key + "}"
        return f"{self.prefix}{{{key_name(key)}}}"

    def _decode(self, raw) -> Entry | None:
        if raw is None:
            return None
        try:
            return unpack(raw, self.codec)
        except Exception:  # an entry this codec cannot read (another version, corruption): a miss
            return None

    @staticmethod
    def _px(entry: Entry) -> int | str:
        life = entry.ttl + entry.stale
        return "" if life == math.inf else _ms(life)

    def _put_args(self, key: Hashable, entry: Entry | None) -> tuple[list, list]:
        name = key_name(key)
        base = self.entry_key(name)
        payload, px = (b"", "") if entry is None else (pack(entry, self.codec), self._px(entry))
        channel = self.channel if self.notify else ""
        return [base, base + ":gen"], [uuid.uuid4().hex, self._gen_ms, payload, px, channel, name]

    def _fill_args(self, key: Hashable, entry: Entry, token) -> tuple[list, list]:
        base = self.entry_key(key)
        return [base, base + ":gen"], [token, pack(entry, self.codec), self._px(entry)]


class RedisBackend(_Layout):
    """Synchronous Redis storage; ``client`` defaults to :func:`highload.store.connect`."""

    def server_time(self) -> float:
        """Redis's own clock (``TIME``) in seconds: pass ``clock=backend.server_time`` when app
        hosts' clocks may disagree. The price: a round trip per clock reading (three per miss),
        and tests can no longer drive time."""
        seconds, micros = self.client.time()
        return seconds + micros / 1_000_000

    def lookup(self, key: Hashable) -> tuple[Entry | None, bytes | object]:
        """The entry and its fill token: :data:`LATER` when an entry was found (see there)."""
        base = self.entry_key(key)
        entry = self._decode(self.client.get(base))
        return (entry, LATER) if entry is not None else (None, self.client.get(base + ":gen") or b"")

    def token(self, key: Hashable) -> bytes:
        """The fill token of ``key`` now: read it before loading."""
        return self.client.get(self.entry_key(key) + ":gen") or b""

    def peek(self, key: Hashable) -> Entry | None:
        return self._decode(self.client.get(self.entry_key(key)))

    def fill(self, key: Hashable, entry: Entry, token) -> bool:
        return scripts.run(self.client, "fill", *self._fill_args(key, entry, token)) == 1

    def put(self, key: Hashable, entry: Entry) -> None:
        scripts.run(self.client, "put", *self._put_args(key, entry))

    def delete(self, key: Hashable) -> bool:
        return scripts.run(self.client, "put", *self._put_args(key, None)) == 1

    def clear(self) -> None:
        """Delete every record under the prefix (SCAN, not KEYS) and tell near-caches."""
        batch = []
        for name in self.client.scan_iter(match=_glob(self.prefix) + "*", count=500):
            batch.append(name)
            if len(batch) == 500:
                self.client.delete(*batch)
                batch.clear()
        if batch:
            self.client.delete(*batch)
        if self.notify:
            self.client.publish(self.clear_channel, b"*")

    def acquire(self, key: Hashable, owner: str, ttl: float) -> bool:
        return bool(self.client.set(self.entry_key(key) + ":lock", owner, nx=True, px=_ms(ttl)))

    def release(self, key: Hashable, owner: str) -> None:
        base = self.entry_key(key)
        scripts.run(self.client, "unlock", [base + ":lock"], [owner, base + ":done"])

    def wait_unlocked(self, key: Hashable, timeout: float) -> bool:
        """Block until the lock on ``key`` is released or expires (True), or ``timeout`` passes.

        Event-driven: the releaser publishes on ``{k}:done``. The lock's own PTTL bounds
        each wait, so a holder that crashed (no release) is noticed when its lock expires.
        """
        base = self.entry_key(key)
        deadline = time.monotonic() + timeout
        pubsub = self.client.pubsub()
        try:
            pubsub.subscribe(base + ":done")
            pubsub.get_message(timeout=max(0.0, deadline - time.monotonic()))  # the confirmation
            while True:
                left = self.client.pttl(base + ":lock")
                if left == -2:
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                wait = remaining if left < 0 else min(remaining, left / 1000 + 0.001)
                message = pubsub.get_message(ignore_subscribe_messages=True, timeout=wait)
                if message is not None and message["type"] == "message":
                    return True
        finally:
            with contextlib.suppress(*OUTAGE_ERRORS):
                pubsub.close()


class AsyncRedisBackend(_Layout):
    """The asyncio twin of :class:`RedisBackend`; ``client`` defaults to ``connect_async()``."""

    _asynchronous = True

    async def lookup(self, key: Hashable) -> tuple[Entry | None, bytes | object]:
        base = self.entry_key(key)
        entry = self._decode(await self.client.get(base))
        return (entry, LATER) if entry is not None else (None, await self.client.get(base + ":gen") or b"")

    async def token(self, key: Hashable) -> bytes:
        return await self.client.get(self.entry_key(key) + ":gen") or b""

    async def peek(self, key: Hashable) -> Entry | None:
        return self._decode(await self.client.get(self.entry_key(key)))

    async def fill(self, key: Hashable, entry: Entry, token) -> bool:
        return await scripts.arun(self.client, "fill", *self._fill_args(key, entry, token)) == 1

    async def put(self, key: Hashable, entry: Entry) -> None:
        await scripts.arun(self.client, "put", *self._put_args(key, entry))

    async def delete(self, key: Hashable) -> bool:
        return await scripts.arun(self.client, "put", *self._put_args(key, None)) == 1

    async def clear(self) -> None:
        batch = []
        async for name in self.client.scan_iter(match=_glob(self.prefix) + "*", count=500):
            batch.append(name)
            if len(batch) == 500:
                await self.client.delete(*batch)
                batch.clear()
        if batch:
            await self.client.delete(*batch)
        if self.notify:
            await self.client.publish(self.clear_channel, b"*")

    async def acquire(self, key: Hashable, owner: str, ttl: float) -> bool:
        return bool(await self.client.set(self.entry_key(key) + ":lock", owner, nx=True, px=_ms(ttl)))

    async def release(self, key: Hashable, owner: str) -> None:
        base = self.entry_key(key)
        await scripts.arun(self.client, "unlock", [base + ":lock"], [owner, base + ":done"])

    async def wait_unlocked(self, key: Hashable, timeout: float) -> bool:
        base = self.entry_key(key)
        deadline = time.monotonic() + timeout
        pubsub = self.client.pubsub()
        try:
            await pubsub.subscribe(base + ":done")
            await pubsub.get_message(timeout=max(0.0, deadline - time.monotonic()))
            while True:
                left = await self.client.pttl(base + ":lock")
                if left == -2:
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                wait = remaining if left < 0 else min(remaining, left / 1000 + 0.001)
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=wait)
                if message is not None and message["type"] == "message":
                    return True
        finally:
            with contextlib.suppress(*OUTAGE_ERRORS):
                await pubsub.aclose()


def _glob(text: str) -> str:
    """Escape glob metacharacters so SCAN MATCH takes ``text`` literally."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
