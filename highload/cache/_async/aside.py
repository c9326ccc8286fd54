"""Cache-aside / read-through: serve from the cache, load on a miss, with stampede protection."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Hashable
from typing import Any

from highload.outages import reraise_unless_outage

from .._core import EARLY, HIT, STALE, ReadThroughBase
from .._flavour import AsyncRefresher, acall
from ..config import CacheConfig
from ..entry import LATER, Entry
from ..flight import BUSY, AsyncSingleFlight
from ..stores import AsyncStoreAccess, AsyncStoreLike
from .backends import pick_backend

__all__ = ["AsyncCacheAside"]


class AsyncCacheAside(ReadThroughBase):
    """A read-through cache in front of ``loader``.

    >>> cache = AsyncCacheAside(db.users.load, ttl=60)  # in memory
    >>> await cache.get("u1")  # a miss: loads, caches, returns
    >>> await cache.get("u1")  # a hit

    Exercise contract: ``get(key)`` returns a cached value younger than ``ttl``
    (age < ttl, counted from the clock reading taken after the loader returned),
    otherwise calls ``loader(key)`` once, caches and returns the result; ``None`` is
    returned but not cached (unless ``negative_ttl`` is set). ``invalidate(key)`` drops
    an entry; ``stats`` counts ``hits``, ``misses`` and ``loads``; with ``max_entries``
    the least recently used entry is evicted first.

    Everything else is a keyword: ``backend=AsyncRedisBackend(...)`` to share entries across
    processes; ``store=`` (a MutableMapping; on asyncio also a store with ``aread``,
    ``awrite`` and ``adelete``) for :meth:`write`, which updates the store and then
    invalidates; and the :class:`CacheConfig` settings (``jitter``, ``negative_ttl``,
    ``stale_while_revalidate``, ``xfetch_beta``, ``single_flight``, ``lock_ttl``,
    ``lock_wait``) as keywords or as ``config=``. ``rng`` (a seed or ``random.Random``)
    drives jitter and XFetch. Stale-while-revalidate refreshes run
    in the background, one per key, on ``executor`` (anything with ``submit(fn)``): by default
    on a small thread pool of the cache's own (on asyncio, as tasks on the running loop);
    :meth:`aclose` waits for them. On asyncio the loader may be a coroutine function or a
    plain one, and single-flight shares one task per key instead of one thread's call.

    Redis outage policy (fail-open for reads): an unreachable Redis makes a read a miss
    that calls the loader; the fill and the lock are skipped and a ``backend_error``
    event is recorded. Writes and invalidations raise.
    """

    def __init__(
        self,
        loader: Callable[[Any], Any] | None = None,
        ttl: float | None = None,
        max_entries: int | None = None,
        clock: Callable[[], float] | None = None,
        *,
        backend=None,
        store: AsyncStoreLike | None = None,
        name: str | None = None,
        rng=None,
        executor=None,
        config: CacheConfig | None = None,
        **options: Any,
    ) -> None:
        self._setup(loader, ttl, config, options, pick_backend(backend, max_entries, self), clock, name, rng)
        self.store = store
        self._store = None if store is None else AsyncStoreAccess(store)
        self._flight = AsyncSingleFlight()
        self._refresher = AsyncRefresher(executor, f"cache-{self.name}-refresh")

    # -- reads -----------------------------------------------------------------------------------
    async def get(self, key: Hashable, loader: Callable[[Any], Any] | None = None) -> Any:
        """The value for ``key``: cached if fresh, else loaded with ``loader`` (default: the
        cache's own)."""
        try:
            entry, token = await self.backend.lookup(key)
        except self._outage as exc:
            reraise_unless_outage(exc)
            self._rec.record("backend_error", key, op="lookup")
            entry, token = None, None  # fail open: a miss, and no fill (the token is unknown)
        now = self._clock()
        # The plain hit is decided here, before the general dispatch: it is what a cache mostly does.
        if entry is not None and now - entry.created < entry.ttl and not self.config.xfetch_beta:
            self._rec.record_hit(key)
            return entry.value
        return await self._get_slow(key, loader, entry, token, now)

    get_or_load = get

    async def _get_slow(self, key: Hashable, loader, entry: Entry | None, token: Any, now: float) -> Any:
        load = self._loader_for(loader)
        action = self._decide(entry, now)
        if action is HIT:
            self._rec.record("hit", key)
            return entry.value
        if action is STALE:
            self._rec.record("stale", key)
            self._revalidate(key, load, entry)
            return entry.value
        if action is EARLY:
            if not self.config.single_flight:
                self._rec.record("early_refresh", key)
                return await self._load(key, load, token)
            value = await self._flight.try_do(key, lambda: self._refresh(key, load, entry, early=True))
            if value is BUSY:
                self._rec.record("hit", key)
                return entry.value
            return value
        self._rec.record("miss", key)
        if self.config.single_flight:
            return await self._flight.do(key, lambda: self._load_exclusive(key, load),
                                         on_wait=lambda: self._rec.record("coalesced", key))
        return await self._load(key, load, token)

    async def peek(self, key: Hashable) -> Entry | None:
        """The stored entry (fresh or not) without loading, counting or touching recency."""
        return await self.backend.peek(key)

    # -- writes ----------------------------------------------------------------------------------
    async def set(self, key: Hashable, value: Any) -> None:
        """Put ``value`` in the cache now (a ``None`` invalidates unless negative caching is on)."""
        entry = self._written(value)
        with self._outage_raised(key, "set"):
            if entry is None:
                await self.backend.delete(key)
            else:
                await self.backend.put(key, entry)
        self._rec.record("write", key)

    async def invalidate(self, key: Hashable) -> bool:
        """Drop ``key`` (and cancel loads of it in flight); True if it was cached."""
        with self._outage_raised(key, "invalidate"):
            existed = await self.backend.delete(key)
        self._rec.record("invalidate", key)
        return bool(existed)

    async def write(self, key: Hashable, value: Any) -> None:
        """Invalidate on write: update ``store`` first, then drop the cached entry.

        If the store raises, the cache is left as it was and the error propagates.
        """
        await self._require_store().write(key, value)
        self._rec.record("write", key)
        await self.invalidate(key)

    async def delete(self, key: Hashable) -> None:
        """Delete ``key`` from ``store``, then from the cache."""
        await self._require_store().delete(key)
        await self.invalidate(key)

    async def clear(self) -> None:
        """Drop every entry."""
        await self.backend.clear()

    # -- lifecycle -------------------------------------------------------------------------------
    async def wait_refreshes(self) -> None:
        """Wait until background (stale-while-revalidate) refreshes started so far have finished."""
        await self._refresher.wait()

    async def aclose(self) -> None:
        """Finish background refreshes (and stop the cache's own thread pool, if it has one)."""
        await self._refresher.aclose()

    async def __aenter__(self) -> AsyncCacheAside:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    # -- internals -------------------------------------------------------------------------------
    async def _lookup(self, key: Hashable) -> tuple[Entry | None, Any]:
        try:
            return await self.backend.lookup(key)
        except self._outage as exc:
            reraise_unless_outage(exc)
            self._rec.record("backend_error", key, op="lookup")
            return None, None  # fail open: a miss, and no fill (the token is unknown)

    async def _fill(self, key: Hashable, entry: Entry, token: Any) -> None:
        if token is None:
            return
        try:
            await self.backend.fill(key, entry, token)
        except self._outage as exc:
            reraise_unless_outage(exc)
            self._rec.record("backend_error", key, op="fill")

    async def _token(self, key: Hashable) -> Any:
        try:
            return await self.backend.token(key)
        except self._outage as exc:
            reraise_unless_outage(exc)
            self._rec.record("backend_error", key, op="token")
            return None

    async def _load(self, key: Hashable, load: Callable[[Any], Any], token: Any) -> Any:
        if token is LATER:  # read before the loader runs, never after
            token = await self._token(key)
        started = self._clock()
        try:
            value = await acall(load, key)
        except Exception:
            self._rec.record("load_error", key, duration=self._clock() - started)
            raise
        finished = self._clock()
        self._rec.record("load", key, duration=finished - started)
        entry = self._entry(value, started, finished)
        if entry is not None:
            await self._fill(key, entry, token)
        return value

    async def _load_exclusive(self, key: Hashable, load: Callable[[Any], Any]) -> Any:
        # The in-process leader of a miss. Look again first: a flight that finished after
        # this caller's lookup may already have filled the key.
        if self.backend.distributed:
            return await self._load_locked(key, load)
        entry, token = await self._lookup(key)
        if entry is not None and entry.is_fresh(self._clock()):
            return entry.value
        return await self._load(key, load, token)

    async def _load_locked(self, key: Hashable, load: Callable[[Any], Any]) -> Any:
        # Across processes: one SET NX PX lock per key; the others wait to be told it is released.
        owner = uuid.uuid4().hex
        deadline = time.monotonic() + self.config.wait_for_lock
        while True:
            try:
                acquired = await self.backend.acquire(key, owner, self.config.lock_ttl)
            except self._outage as exc:
                reraise_unless_outage(exc)
                self._rec.record("backend_error", key, op="acquire")
                return await self._load(key, load, None)
            if acquired:
                try:
                    entry, token = await self._lookup(key)
                    if entry is not None and entry.is_fresh(self._clock()):
                        return entry.value
                    return await self._load(key, load, token)
                finally:
                    await self._unlock(key, owner)
            self._rec.record("lock_wait", key)
            released = await self._wait_unlocked(key, deadline - time.monotonic())
            entry, token = await self._lookup(key)
            if entry is not None and entry.is_fresh(self._clock()):
                return entry.value
            if not released:  # waited long enough: load without the lock
                return await self._load(key, load, token)

    async def _wait_unlocked(self, key: Hashable, remaining: float) -> bool:
        if remaining <= 0:
            return False
        try:
            return await self.backend.wait_unlocked(key, remaining)
        except self._outage as exc:
            reraise_unless_outage(exc)
            self._rec.record("backend_error", key, op="wait")
            return False

    async def _try_lock(self, key: Hashable) -> str | None | bool:
        """None: no lock needed (or Redis is down); False: another process holds it; else our token."""
        if not self.backend.distributed:
            return None
        owner = uuid.uuid4().hex
        try:
            return owner if await self.backend.acquire(key, owner, self.config.lock_ttl) else False
        except self._outage as exc:
            reraise_unless_outage(exc)
            self._rec.record("backend_error", key, op="acquire")
            return None

    async def _unlock(self, key: Hashable, owner) -> None:
        if isinstance(owner, str):
            try:
                await self.backend.release(key, owner)
            except self._outage as exc:
                reraise_unless_outage(exc)
                self._rec.record("backend_error", key, op="release")

    async def _refresh(self, key: Hashable, load: Callable[[Any], Any], seen: Entry, *, early: bool) -> Any:
        """Reload ``key`` unless another process is on it (BUSY) or already has (its value)."""
        owner = await self._try_lock(key)
        if owner is False:
            return BUSY
        try:
            entry, token = await self._lookup(key)
            if entry is not None and entry.created > seen.created and entry.is_fresh(self._clock()):
                self._rec.record("hit", key)
                return entry.value
            if early:
                self._rec.record("early_refresh", key)
            return await self._load(key, load, token)
        finally:
            await self._unlock(key, owner)

    def _revalidate(self, key: Hashable, load: Callable[[Any], Any], seen: Entry) -> None:
        """Start one background refresh of ``key`` unless one is already running."""
        self._refresher.start(key, lambda: self._flight.try_do(
            key, lambda: self._refresh(key, load, seen, early=False)))
