"""Near-cache: a small LRU inside each process, in front of the shared Redis cache.

A local hit costs no round trip at all. Coherence comes from Redis pub/sub: every write
or invalidation through a Redis backend publishes the key's name on
``{prefix}invalidate`` (inside the same Lua script as the write), and each near-cache
drops that key from its LRU when it reads the message.

* A near-cache subscribes before its first local fill (:meth:`AsyncNearCache.start`, which
  reads and :meth:`~AsyncNearCache.drain` call, or ``create()``), so no write is missed.
* Reads apply the invalidations that have already arrived (a non-blocking socket read)
  at most once per ``poll_interval`` of real time (1 ms by default), so a near-cache lags
  Redis by delivery time plus at most that interval, and a local hit in between costs a
  dictionary lookup, not a system call. ``poll_interval=0`` polls on every read.
* :meth:`AsyncNearCache.drain` is the explicit sync point. It sends PING on the subscriber
  connection and applies every message until the matching PONG. Redis answers in order,
  so every invalidation published before ``drain()`` began has been applied when it
  returns: tests and "read your own writes" code never wait on delivery timing.
* On Redis Cluster (redis-py's ``RedisCluster``) a write publishes on the node that owns its
  key, and the message reaches our subscriber's node over the cluster bus, possibly after a
  PONG from our node: a PING proves nothing there. So ``drain()`` publishes a marker on the
  invalidation channel from *every* primary instead and applies messages until all its markers
  have arrived. Each node forwards its messages over one ordered link, so a node's marker
  arrives after every message that node published earlier. Markers cost one PUBLISH per
  primary per drain; other near-caches ignore them.
* Pub/sub delivers at most once. If the subscriber connection drops (or a drain cannot
  finish), messages may have been missed, so the whole LRU is cleared: reads fail open
  to Redis and the loader. ``local_ttl`` bounds staleness even then.

Redis 6 client-side caching (RESP3 ``CLIENT TRACKING``) does the same job inside the
server; pub/sub is used here because it works on every Redis and on fakeredis.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Hashable
from typing import Any

from highload import _validate
from highload.outages import reraise_unless_outage
from highload.redis_client import is_cluster

from .._flavour import AsyncLock
from ..entry import Entry
from ..events import Recorder
from ..memory import MemoryBackend
from ..metrics import CacheMetrics, Observed
from ..redis_layout import OUTAGE_ERRORS
from .aside import AsyncCacheAside
from .redis_backend import AsyncRedisBackend

__all__ = ["AsyncNearCache"]


def _text(data) -> str:
    return data.decode() if isinstance(data, bytes) else str(data)


#: drain()'s end markers on a cluster start with this (a NUL: no key name a cache writes does).
MARK = "\x00hl-drain:"
_ENDS = ("pong", "message")  # what carries a drain's marker back: PONG (one Redis), a message (cluster)


class AsyncNearCache(Observed):
    """A process-local LRU (``max_entries``, ``local_ttl``) over a Redis read-through cache.

    ``loader``, ``ttl`` and the keywords build the Redis tier, an :class:`AsyncCacheAside`
    on ``backend`` (an :class:`AsyncRedisBackend`, required), available as ``remote``. Writes
    go through ``remote`` and drop the local entry at once; other processes learn of them
    through pub/sub and apply them on their next read or :meth:`drain`. ``create(...)``
    builds one and subscribes at once; otherwise the first read does.
    """

    def __init__(self, loader: Callable[[Any], Any] | None = None, ttl: float | None = None, *,
                 backend: AsyncRedisBackend, max_entries: int = 1024, local_ttl: float | None = None,
                 drain_timeout: float = 10.0, poll_on_read: bool = True, poll_interval: float = 0.001,
                 **options: Any) -> None:
        if not isinstance(backend, AsyncRedisBackend):
            raise TypeError(f"backend must be an AsyncRedisBackend (the shared tier), got {backend!r}")
        self.remote = AsyncCacheAside(loader, ttl, backend=backend, **options)
        config = self.remote.config
        self.local = MemoryBackend(_validate.integer("max_entries", max_entries, minimum=1))
        self.local_ttl = config.ttl if local_ttl is None else _validate.number(
            "local_ttl", local_ttl, minimum=0, inclusive=False)
        # at most 10 years: the wait reaches a socket timeout, which overflows on 1e308
        self.drain_timeout = _validate.seconds("drain_timeout", drain_timeout)
        if not isinstance(poll_on_read, bool):
            raise TypeError(f"poll_on_read must be True or False, got {poll_on_read!r}")
        self.poll_on_read = poll_on_read
        self.poll_interval = _validate.number("poll_interval", poll_interval, minimum=0, inclusive=True)
        self.backend = self.remote.backend  # the view under the cache's name
        self._next_poll = 0.0  # time.monotonic(): real time, whatever clock the entries use
        self._hot_hits = 0
        self._hits_heard = False  # is anyone subscribed to "hit" events?
        self._clock = self.remote.clock
        self._rec = Recorder(self.remote.name + ":near", self._clock)
        self._connects = self._seen_connects = 0
        self._entries = self.local.entries  # the hit path reads the LRU without its lock
        self._lock = AsyncLock()  # redis-py PubSub objects are not thread-safe
        self._pubsub = backend.client.pubsub()
        self._cluster = is_cluster(backend.client)  # decided once: drain() marks every primary
        self._started = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.remote.name!r}, local={self.local!r})"

    @classmethod
    async def create(cls, *args: Any, **kwargs: Any) -> AsyncNearCache:
        """Build a near-cache and subscribe (waiting for Redis to confirm) before any read."""
        near = cls(*args, **kwargs)
        await near.start()
        return near

    async def start(self) -> None:
        """Subscribe to the invalidation channels and wait for Redis to confirm; once (reads and
        :meth:`drain` call it). Until it has returned, nothing is cached locally."""
        if self._started:
            return
        async with self._lock:
            if self._started:
                return
            await self._pubsub.subscribe(self.backend.channel, self.backend.clear_channel)
            deadline = time.monotonic() + self.drain_timeout
            confirmed = 0
            while confirmed < 2:
                message = await self._pubsub.get_message(timeout=max(0.0, deadline - time.monotonic()))
                if message is None:
                    raise TimeoutError(f"no SUBSCRIBE confirmation from Redis within {self.drain_timeout}s")
                confirmed += message["type"] == "subscribe"
            self._watch_reconnects(self._pubsub)
            self._started = True

    # -- reads -----------------------------------------------------------------------------------
    async def get(self, key: Hashable, loader: Callable[[Any], Any] | None = None) -> Any:
        """The value for ``key``: from the local LRU if fresh, else from Redis or the loader."""
        if self.poll_on_read:
            now = time.monotonic()
            if now >= self._next_poll:
                self._next_poll = now + self.poll_interval
                await self.poll()
        name = key if type(key) is str else self.backend.name_of(key)
        # The hit path takes no lock: a dict read and move_to_end are atomic under the GIL, and
        # a KeyError means an invalidation removed the entry in between (it is served once more,
        # as if the read had come a moment earlier).
        entry = self._entries.get(name)
        if entry is not None and self._clock() - entry.created < entry.ttl and not self._hits_heard:
            try:
                self._entries.move_to_end(name)
            except KeyError:
                pass
            self._hot_hits += 1
            return entry.value
        return await self._get_slow(key, name, loader)

    get_or_load = get

    async def _get_slow(self, key: Hashable, name: str, loader: Callable[[Any], Any] | None) -> Any:
        await self.start()  # subscribed before the first local fill, so no write is missed
        entry, token = self.local.lookup(name)
        if entry is not None and entry.is_fresh(self._clock()):
            self._rec.record("hit", name)
            return entry.value
        self._rec.record("miss", name)
        value = await self.remote.get_or_load(key, loader)
        entry = self._local_entry(value)
        if entry is not None:
            self.local.fill(name, entry, token)  # refused if an invalidation arrived meanwhile
        return value

    # -- writes ----------------------------------------------------------------------------------
    async def set(self, key: Hashable, value: Any) -> None:
        """Put ``value`` in Redis now, dropping the local entry (others drop theirs by pub/sub)."""
        self.local.delete(self.backend.name_of(key))
        await self.remote.set(key, value)

    async def write(self, key: Hashable, value: Any) -> None:
        """Write to the store, then invalidate here, in Redis and (by pub/sub) in every near-cache."""
        await self.remote.write(key, value)
        self.local.delete(self.backend.name_of(key))

    async def invalidate(self, key: Hashable) -> bool:
        """Drop ``key`` here and in Redis (others drop it by pub/sub); True if Redis had it."""
        self.local.delete(self.backend.name_of(key))
        return await self.remote.invalidate(key)

    # -- invalidations -----------------------------------------------------------------------------
    async def poll(self) -> int:
        """Apply the invalidations that have already arrived, without waiting; returns how many."""
        await self.start()
        applied = 0
        async with self._lock:
            try:
                while (message := await self._pubsub.get_message(timeout=0.0)) is not None:
                    applied += self._apply(message)
                self._check_reconnect()
            except OUTAGE_ERRORS as exc:
                reraise_unless_outage(exc)
                self._lost("poll")
        return applied

    async def drain(self) -> int:
        """The sync point: apply every invalidation published before this call; returns how many.

        If Redis cannot be reached (or does not answer within ``drain_timeout``), the local
        LRU is cleared instead, which is just as coherent.
        """
        await self.start()
        token = MARK + uuid.uuid4().hex
        applied = 0
        async with self._lock:
            try:
                waiting = await self._mark(token)
                deadline = time.monotonic() + self.drain_timeout
                while True:
                    remaining = deadline - time.monotonic()
                    message = await self._pubsub.get_message(timeout=max(0.0, remaining))
                    if message is not None and message["type"] in _ENDS and _text(message["data"]) == token:
                        waiting -= 1
                        if waiting == 0:
                            break
                        continue
                    if message is None and remaining <= 0:
                        self._lost("drain timeout")
                        return applied
                    applied += self._apply(message)
                self._check_reconnect()
            except OUTAGE_ERRORS as exc:
                reraise_unless_outage(exc)
                self._lost("drain")
        return applied

    async def _mark(self, token: str) -> int:
        """Send drain()'s end markers; returns how many will come back (see the module docstring)."""
        if not self._cluster:
            await self._pubsub.ping(token)
            return 1
        client = self.backend.client
        primaries = client.get_primaries()
        for node in primaries:
            await client.execute_command("PUBLISH", self.backend.channel, token, target_nodes=node)
        return len(primaries)

    # -- lifecycle -------------------------------------------------------------------------------
    async def aclose(self) -> None:
        """Stop listening; the Redis tier stays as it is."""
        async with self._lock:
            try:
                await self._pubsub.unsubscribe()
            except OUTAGE_ERRORS:
                pass  # closing: whatever the reason, the subscription is gone
            await self._pubsub.aclose()
        await self.remote.aclose()

    async def __aenter__(self) -> AsyncNearCache:
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    # -- counters --------------------------------------------------------------------------------
    @property
    def counters(self) -> dict[str, int]:
        """The local tier: ``hits`` served from the LRU, ``misses`` sent to Redis, ``invalidations``
        applied. The Redis tier's counters are ``remote.stats``."""
        self._tally_hits()
        return self._rec.counts()

    def metrics(self) -> CacheMetrics:
        self._tally_hits()
        return super().metrics()

    def subscribe(self, listener: Callable, *kinds: str) -> Callable[[], None]:
        unsubscribe = super().subscribe(listener, *kinds)
        self._hits_heard = self._rec.events.wants("hit")

        def undo() -> None:
            unsubscribe()
            self._hits_heard = self._rec.events.wants("hit")

        return undo

    # -- internals -------------------------------------------------------------------------------
    def _tally_hits(self) -> None:
        # Local hits are counted in a plain int on the hot path (no lock: under heavy thread
        # contention an increment can be lost, never a value) and moved to the recorder here.
        n, self._hot_hits = self._hot_hits, 0
        if n:
            self._rec.add("hit", n)

    def _watch_reconnects(self, pubsub) -> None:
        connection = getattr(pubsub, "connection", None)
        register = getattr(connection, "register_connect_callback", None)
        if callable(register):
            register(self._on_connect)

    def _on_connect(self, connection) -> None:
        self._connects += 1

    def _local_entry(self, value: Any) -> Entry | None:
        ttl = self.local_ttl
        if value is None:
            if self.remote.config.negative_ttl is None:
                return None
            ttl = min(ttl, self.remote.config.negative_ttl)
        return Entry(value, self._clock(), ttl)

    def _apply(self, message) -> int:
        """Apply one pub/sub message; returns how many invalidations it carried."""
        if message is None or message.get("type") != "message":
            return 0
        if _text(message["data"]).startswith(MARK):  # another near-cache's drain() on a cluster
            return 0
        if _text(message["channel"]) == self.backend.clear_channel:
            self.local.clear()
        else:
            self.local.delete(_text(message["data"]))
        self._rec.record("invalidate", _text(message["data"]))
        return 1

    def _check_reconnect(self) -> None:
        if self._connects != self._seen_connects:
            self._seen_connects = self._connects
            self._lost("reconnect")

    def _lost(self, why: str) -> None:
        self.local.clear()
        self._rec.record("backend_error", None, op=why)
