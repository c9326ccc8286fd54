"""The asyncio twin of :class:`~highload.cache.aside.CacheAside`: the same behaviour as coroutines."""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
import uuid
from collections.abc import Callable, Hashable
from typing import Any

from ._core import EARLY, HIT, STALE, ReadThroughBase
from .config import CacheConfig
from .entry import LATER, Entry
from .flight import BUSY, AsyncSingleFlight
from .stores import adelete, awrite

__all__ = ["AsyncCacheAside"]

log = logging.getLogger("highload.cache")


async def _call(load: Callable[[Any], Any], key: Hashable) -> Any:
    value = load(key)
    return await value if inspect.isawaitable(value) else value


class AsyncCacheAside(ReadThroughBase):
    """A read-through cache for asyncio code; ``loader`` may be a coroutine function or a plain one.

    Same arguments and behaviour as :class:`CacheAside`, with ``backend`` a
    :class:`MemoryBackend` (the default) or an :class:`AsyncRedisBackend`, and ``store`` a
    MutableMapping or an async store (``aread``/``awrite``/``adelete``). In-process
    single-flight shares one task per key; stale-while-revalidate refreshes run as tasks,
    awaited by :meth:`wait_refreshes` and :meth:`aclose`.
    """

    _asynchronous = True

    def __init__(
        self,
        loader: Callable[[Any], Any] | None = None,
        ttl: float | None = None,
        max_entries: int | None = None,
        clock: Callable[[], float] | None = None,
        *,
        backend=None,
        store=None,
        name: str = "cache",
        rng=None,
        config: CacheConfig | None = None,
        **options: Any,
    ) -> None:
        self._setup(loader, ttl, max_entries, clock, backend, store, name, rng, config, options)
        self._flight = AsyncSingleFlight()
        self._refreshing: dict[Hashable, asyncio.Task] = {}

    # -- reads -----------------------------------------------------------------------------------
    async def get(self, key: Hashable) -> Any:
        return await self.get_or_load(key)

    async def get_or_load(self, key: Hashable, loader: Callable[[Any], Any] | None = None) -> Any:
        load = self._loader_for(loader)
        entry, token = await self._lookup(key)
        action = self._decide(entry, self._clock())
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
        return await self.backend.peek(key)

    # -- writes ----------------------------------------------------------------------------------
    async def set(self, key: Hashable, value: Any) -> None:
        entry = self._written(value)
        with self._outage_raised(key, "set"):
            if entry is None:
                await self.backend.delete(key)
            else:
                await self.backend.put(key, entry)
        self._rec.record("write", key)

    async def invalidate(self, key: Hashable) -> bool:
        with self._outage_raised(key, "invalidate"):
            existed = await self.backend.delete(key)
        self._rec.record("invalidate", key)
        return bool(existed)

    async def write(self, key: Hashable, value: Any) -> None:
        """Update ``store`` first, then drop the cached entry; a store error leaves the cache as is."""
        await awrite(self._require_store(), key, value)
        self._rec.record("write", key)
        await self.invalidate(key)

    async def delete(self, key: Hashable) -> None:
        await adelete(self._require_store(), key)
        await self.invalidate(key)

    async def clear(self) -> None:
        await self.backend.clear()

    # -- lifecycle -------------------------------------------------------------------------------
    async def wait_refreshes(self) -> None:
        """Wait for the background refreshes started so far."""
        pending = list(self._refreshing.values())
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    async def aclose(self) -> None:
        await self.wait_refreshes()

    async def __aenter__(self) -> AsyncCacheAside:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    # -- internals -------------------------------------------------------------------------------
    async def _lookup(self, key: Hashable) -> tuple[Entry | None, Any]:
        try:
            return await self.backend.lookup(key)
        except self._outage:
            self._rec.record("backend_error", key, op="lookup")
            return None, None

    async def _fill(self, key: Hashable, entry: Entry, token: Any) -> None:
        if token is None:
            return
        try:
            await self.backend.fill(key, entry, token)
        except self._outage:
            self._rec.record("backend_error", key, op="fill")

    async def _token(self, key: Hashable) -> Any:
        try:
            return await self.backend.token(key)
        except self._outage:
            self._rec.record("backend_error", key, op="token")
            return None

    async def _load(self, key: Hashable, load: Callable[[Any], Any], token: Any) -> Any:
        if token is LATER:  # read before the loader runs, never after
            token = await self._token(key)
        started = self._clock()
        try:
            value = await _call(load, key)
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
        if self.backend.distributed:
            return await self._load_locked(key, load)
        entry, token = await self._lookup(key)
        if entry is not None and entry.is_fresh(self._clock()):
            return entry.value
        return await self._load(key, load, token)

    async def _load_locked(self, key: Hashable, load: Callable[[Any], Any]) -> Any:
        owner = uuid.uuid4().hex
        deadline = time.monotonic() + self.config.wait_for_lock
        while True:
            try:
                acquired = await self.backend.acquire(key, owner, self.config.lock_ttl)
            except self._outage:
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
            if not released:
                return await self._load(key, load, token)

    async def _wait_unlocked(self, key: Hashable, remaining: float) -> bool:
        if remaining <= 0:
            return False
        try:
            return await self.backend.wait_unlocked(key, remaining)
        except self._outage:
            self._rec.record("backend_error", key, op="wait")
            return False

    async def _try_lock(self, key: Hashable) -> str | None | bool:
        if not self.backend.distributed:
            return None
        owner = uuid.uuid4().hex
        try:
            return owner if await self.backend.acquire(key, owner, self.config.lock_ttl) else False
        except self._outage:
            self._rec.record("backend_error", key, op="acquire")
            return None

    async def _unlock(self, key: Hashable, owner) -> None:
        if isinstance(owner, str):
            try:
                await self.backend.release(key, owner)
            except self._outage:
                self._rec.record("backend_error", key, op="release")

    async def _refresh(self, key: Hashable, load: Callable[[Any], Any], seen: Entry, *, early: bool) -> Any:
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
        if key in self._refreshing:
            return

        async def refresh() -> None:
            try:
                await self._flight.try_do(key, lambda: self._refresh(key, load, seen, early=False))
            except Exception:
                log.warning("background refresh of %r failed", key, exc_info=True)
            finally:
                self._refreshing.pop(key, None)

        self._refreshing[key] = asyncio.ensure_future(refresh())
