"""Cache-aside / read-through: serve from the cache, load on a miss, with stampede protection."""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
import uuid
from collections.abc import Callable, Hashable, MutableMapping
from typing import Any

from ._core import EARLY, HIT, STALE, ReadThroughBase
from .config import CacheConfig
from .entry import LATER, Entry
from .flight import BUSY, SingleFlight

__all__ = ["CacheAside"]

log = logging.getLogger("highload.cache")


class CacheAside(ReadThroughBase):
    """A read-through cache in front of ``loader``.

    >>> cache = CacheAside(db.users.load, ttl=60)          # in memory
    >>> cache.get("u1")                                     # miss: loads, caches, returns
    >>> cache.get("u1")                                     # hit

    Exercise contract: ``get(key)`` returns a cached value younger than ``ttl``
    (age < ttl, counted from the clock reading taken after the loader returned),
    otherwise calls ``loader(key)`` once, caches and returns the result; ``None`` is
    returned but not cached (unless ``negative_ttl`` is set). ``invalidate(key)`` drops
    an entry; ``stats`` counts ``hits``, ``misses`` and ``loads``; with ``max_entries``
    the least recently used entry is evicted first.

    Everything else is a keyword: ``backend=RedisBackend(...)`` to share entries across
    processes; ``store=`` (a MutableMapping) for :meth:`write`, which updates the store and
    then invalidates; and the :class:`CacheConfig` settings (``jitter``, ``negative_ttl``,
    ``stale_while_revalidate``, ``xfetch_beta``, ``single_flight``, ``lock_ttl``,
    ``lock_wait``) as keywords or as ``config=``. ``rng`` (a seed or ``random.Random``)
    drives jitter and XFetch. Stale-while-revalidate refreshes run on ``executor``
    (default: a small thread pool, shut down by :meth:`close`).

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
        store: MutableMapping | None = None,
        name: str = "cache",
        rng=None,
        executor: concurrent.futures.Executor | None = None,
        config: CacheConfig | None = None,
        **options: Any,
    ) -> None:
        self._setup(loader, ttl, max_entries, clock, backend, store, name, rng, config, options)
        if executor is not None and not callable(getattr(executor, "submit", None)):
            raise TypeError(f"executor must have submit(fn), got {executor!r}")
        self._executor = executor
        self._own_executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._flight = SingleFlight()
        self._lock = threading.Lock()
        self._refreshing: set[Hashable] = set()
        self._futures: set[concurrent.futures.Future] = set()

    # -- reads -----------------------------------------------------------------------------------
    def get(self, key: Hashable, loader: Callable[[Any], Any] | None = None) -> Any:
        """The value for ``key``: cached if fresh, else loaded with ``loader`` (default: the
        cache's own)."""
        try:
            entry, token = self.backend.lookup(key)
        except self._outage:
            self._rec.record("backend_error", key, op="lookup")
            entry, token = None, None  # fail open: a miss, and no fill (the token is unknown)
        now = self._clock()
        # The plain hit is decided here, before the general dispatch: it is what a cache mostly does.
        if entry is not None and now - entry.created < entry.ttl and not self.config.xfetch_beta:
            self._rec.record_hit(key)
            return entry.value
        return self._get_slow(key, loader, entry, token, now)

    get_or_load = get

    def _get_slow(self, key: Hashable, loader, entry: Entry | None, token: Any, now: float) -> Any:
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
                return self._load(key, load, token)
            value = self._flight.try_do(key, lambda: self._refresh(key, load, entry, early=True))
            if value is BUSY:
                self._rec.record("hit", key)
                return entry.value
            return value
        self._rec.record("miss", key)
        if self.config.single_flight:
            return self._flight.do(key, lambda: self._load_exclusive(key, load),
                                   on_wait=lambda: self._rec.record("coalesced", key))
        return self._load(key, load, token)

    def peek(self, key: Hashable) -> Entry | None:
        """The stored entry (fresh or not) without loading, counting or touching recency."""
        return self.backend.peek(key)

    # -- writes ----------------------------------------------------------------------------------
    def set(self, key: Hashable, value: Any) -> None:
        """Put ``value`` in the cache now (a ``None`` invalidates unless negative caching is on)."""
        entry = self._written(value)
        with self._outage_raised(key, "set"):
            if entry is None:
                self.backend.delete(key)
            else:
                self.backend.put(key, entry)
        self._rec.record("write", key)

    def invalidate(self, key: Hashable) -> bool:
        """Drop ``key`` (and cancel loads of it in flight); True if it was cached."""
        with self._outage_raised(key, "invalidate"):
            existed = self.backend.delete(key)
        self._rec.record("invalidate", key)
        return bool(existed)

    def write(self, key: Hashable, value: Any) -> None:
        """Invalidate on write: update ``store`` first, then drop the cached entry.

        If the store raises, the cache is left as it was and the error propagates.
        """
        self._require_store()[key] = value
        self._rec.record("write", key)
        self.invalidate(key)

    def delete(self, key: Hashable) -> None:
        """Delete ``key`` from ``store``, then from the cache."""
        del self._require_store()[key]
        self.invalidate(key)

    def clear(self) -> None:
        """Drop every entry."""
        self.backend.clear()

    # -- lifecycle -------------------------------------------------------------------------------
    def wait_refreshes(self) -> None:
        """Block until background (stale-while-revalidate) refreshes started so far have finished."""
        with self._lock:
            pending = list(self._futures)
        concurrent.futures.wait(pending)

    def close(self) -> None:
        """Finish background refreshes and stop the cache's own thread pool."""
        if self._own_executor is not None:
            self._own_executor.shutdown(wait=True)
            self._own_executor = None

    def __enter__(self) -> CacheAside:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- internals -------------------------------------------------------------------------------
    def _lookup(self, key: Hashable) -> tuple[Entry | None, Any]:
        try:
            return self.backend.lookup(key)
        except self._outage:
            self._rec.record("backend_error", key, op="lookup")
            return None, None  # fail open: a miss, and no fill (the token is unknown)

    def _fill(self, key: Hashable, entry: Entry, token: Any) -> None:
        if token is None:
            return
        try:
            self.backend.fill(key, entry, token)
        except self._outage:
            self._rec.record("backend_error", key, op="fill")

    def _token(self, key: Hashable) -> Any:
        try:
            return self.backend.token(key)
        except self._outage:
            self._rec.record("backend_error", key, op="token")
            return None

    def _load(self, key: Hashable, load: Callable[[Any], Any], token: Any) -> Any:
        if token is LATER:  # read before the loader runs, never after
            token = self._token(key)
        started = self._clock()
        try:
            value = load(key)
        except Exception:
            self._rec.record("load_error", key, duration=self._clock() - started)
            raise
        finished = self._clock()
        self._rec.record("load", key, duration=finished - started)
        entry = self._entry(value, started, finished)
        if entry is not None:
            self._fill(key, entry, token)
        return value

    def _load_exclusive(self, key: Hashable, load: Callable[[Any], Any]) -> Any:
        # The in-process leader of a miss. Look again first: a flight that finished after
        # this caller's lookup may already have filled the key.
        if self.backend.distributed:
            return self._load_locked(key, load)
        entry, token = self._lookup(key)
        if entry is not None and entry.is_fresh(self._clock()):
            return entry.value
        return self._load(key, load, token)

    def _load_locked(self, key: Hashable, load: Callable[[Any], Any]) -> Any:
        # Across processes: one SET NX PX lock per key; the others wait to be told it is released.
        owner = uuid.uuid4().hex
        deadline = time.monotonic() + self.config.wait_for_lock
        while True:
            try:
                acquired = self.backend.acquire(key, owner, self.config.lock_ttl)
            except self._outage:
                self._rec.record("backend_error", key, op="acquire")
                return self._load(key, load, None)
            if acquired:
                try:
                    entry, token = self._lookup(key)
                    if entry is not None and entry.is_fresh(self._clock()):
                        return entry.value
                    return self._load(key, load, token)
                finally:
                    self._unlock(key, owner)
            self._rec.record("lock_wait", key)
            released = self._wait_unlocked(key, deadline - time.monotonic())
            entry, token = self._lookup(key)
            if entry is not None and entry.is_fresh(self._clock()):
                return entry.value
            if not released:  # waited long enough: load without the lock
                return self._load(key, load, token)

    def _wait_unlocked(self, key: Hashable, remaining: float) -> bool:
        if remaining <= 0:
            return False
        try:
            return self.backend.wait_unlocked(key, remaining)
        except self._outage:
            self._rec.record("backend_error", key, op="wait")
            return False

    def _try_lock(self, key: Hashable) -> str | None | bool:
        """None: no lock needed (or Redis is down); False: another process holds it; else our token."""
        if not self.backend.distributed:
            return None
        owner = uuid.uuid4().hex
        try:
            return owner if self.backend.acquire(key, owner, self.config.lock_ttl) else False
        except self._outage:
            self._rec.record("backend_error", key, op="acquire")
            return None

    def _unlock(self, key: Hashable, owner) -> None:
        if isinstance(owner, str):
            try:
                self.backend.release(key, owner)
            except self._outage:
                self._rec.record("backend_error", key, op="release")

    def _refresh(self, key: Hashable, load: Callable[[Any], Any], seen: Entry, *, early: bool) -> Any:
        """Reload ``key`` unless another process is on it (BUSY) or already has (its value)."""
        owner = self._try_lock(key)
        if owner is False:
            return BUSY
        try:
            entry, token = self._lookup(key)
            if entry is not None and entry.created > seen.created and entry.is_fresh(self._clock()):
                self._rec.record("hit", key)
                return entry.value
            if early:
                self._rec.record("early_refresh", key)
            return self._load(key, load, token)
        finally:
            self._unlock(key, owner)

    def _revalidate(self, key: Hashable, load: Callable[[Any], Any], seen: Entry) -> None:
        """Start one background refresh of ``key`` unless one is already running."""
        with self._lock:
            if key in self._refreshing:
                return
            self._refreshing.add(key)

        def refresh() -> None:
            try:
                self._flight.try_do(key, lambda: self._refresh(key, load, seen, early=False))
            except Exception:  # recorded as load_error; the stale value keeps being served
                log.warning("background refresh of %r failed", key, exc_info=True)
            finally:
                with self._lock:
                    self._refreshing.discard(key)

        try:
            future = self._pool().submit(refresh)
        except BaseException:
            with self._lock:
                self._refreshing.discard(key)
            raise
        if isinstance(future, concurrent.futures.Future):
            with self._lock:
                self._futures.add(future)
            future.add_done_callback(self._forget)

    def _forget(self, future: concurrent.futures.Future) -> None:
        with self._lock:
            self._futures.discard(future)

    def _pool(self):
        if self._executor is not None:
            return self._executor
        with self._lock:
            if self._own_executor is None:
                self._own_executor = concurrent.futures.ThreadPoolExecutor(
                    max_workers=4, thread_name_prefix=f"cache-{self.name}-refresh"
                )
            return self._own_executor
