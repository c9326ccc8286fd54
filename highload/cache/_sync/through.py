# Generated from highload/cache/_async/through.py by `python scripts/unasync.py`: edit that file and regenerate, not this one.
"""Write-through: every write goes to the store first, then to the cache, so the cache never
holds a value the store refused."""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from typing import Any

from highload import _validate
from highload.outages import reraise_unless_outage

from .._core import check_clock, scoped
from .._flavour import Lock
from ..entry import LATER, Entry
from ..events import Recorder
from ..metrics import Observed
from ..stores import StoreAccess, StoreLike
from .backends import pick_backend

__all__ = ["WriteThroughCache"]

# Writes of one key are serialised on one of this many locks (keys share a lock by hash).
_STRIPES = 64


class WriteThroughCache(Observed):
    """A cache that is written together with its store.

    Exercise contract: ``write(key, value)`` writes to ``store``, then the cache; if the
    store raises, the cache keeps its old value and the error propagates. ``read(key)``
    serves the cache first, then the store, and raises ``KeyError`` for a key in
    neither; a read that falls through to the store does not fill the cache (unless
    ``read_through=True``).

    Keywords: ``ttl`` (default: never expire), ``backend`` (memory by default, or an
    :class:`RedisBackend`, whose writes also invalidate near-caches), ``max_entries``
    (memory only), ``clock``, ``name``. ``store`` is a MutableMapping (on asyncio also a
    store with ``aread``/``awrite``/``adelete``). Writes of one key from this process (threads, or tasks) are serialised,
    so the cache ends with the value the store ended with; across processes a lost race is
    bounded by ``ttl``. A Redis outage fails reads open (they go to the store); a write
    whose store write succeeded but whose cache write failed raises, and the old entry may
    live until its ttl.
    """

    def __init__(self, store: StoreLike, *, ttl: float | None = None, backend=None,
                 max_entries: int | None = None, clock: Callable[[], float] | None = None,
                 name: str | None = None, read_through: bool = False) -> None:
        self._store = StoreAccess(store)
        self.store = store
        # as CacheAside's: at most 10 years or inf (a Redis backend stores it; 1e308 overflowed there)
        self.ttl = math.inf if ttl is None else _validate.seconds("ttl", ttl, allow_inf=True)
        self.backend, self.name = scoped(pick_backend(backend, max_entries, self), name, "write-through")
        if not isinstance(read_through, bool):
            raise TypeError(f"read_through must be True or False, got {read_through!r}")
        self.read_through = read_through
        self._clock = check_clock(self.backend.default_clock if clock is None else clock)
        self._outage = self.backend.outage_errors
        self._rec = Recorder(self.name, self._clock)
        self._stripes = [Lock() for _ in range(_STRIPES)]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, backend={self.backend!r})"

    def read(self, key: Hashable) -> Any:
        """The cached value if fresh, else the store's (``KeyError`` if it has none)."""
        try:
            entry, token = self.backend.lookup(key)
        except self._outage as exc:
            reraise_unless_outage(exc)
            self._rec.record("backend_error", key, op="lookup")
            entry, token = None, None
        if entry is not None and entry.is_fresh(self._clock()):
            self._rec.record("hit", key)
            return entry.value
        self._rec.record("miss", key)
        if self.read_through and token is LATER:  # read before the store, never after
            try:
                token = self.backend.token(key)
            except self._outage as exc:
                reraise_unless_outage(exc)
                self._rec.record("backend_error", key, op="token")
                token = None
        value = self._store.read(key)
        if self.read_through and token is not None:
            try:
                self.backend.fill(key, self._entry(value), token)
            except self._outage as exc:
                reraise_unless_outage(exc)
                self._rec.record("backend_error", key, op="fill")
        return value

    def write(self, key: Hashable, value: Any) -> None:
        """Write ``value`` to the store, then to the cache."""
        with self._stripe(key):
            self._store.write(key, value)
            with self._outage_raised(key, "put"):
                self.backend.put(key, self._entry(value))
        self._rec.record("write", key)

    def delete(self, key: Hashable) -> None:
        """Delete from the store (``KeyError`` if absent), then from the cache."""
        with self._stripe(key):
            self._store.delete(key)
            self.invalidate(key)

    def invalidate(self, key: Hashable) -> bool:
        """Drop the cached entry only; the store keeps the value."""
        with self._outage_raised(key, "invalidate"):
            existed = self.backend.delete(key)
        self._rec.record("invalidate", key)
        return bool(existed)

    def peek(self, key: Hashable) -> Entry | None:
        """The stored entry (fresh or not), without counting."""
        return self.backend.peek(key)

    def _stripe(self, key: Hashable) -> Lock:
        return self._stripes[hash(key) % _STRIPES]

    def _entry(self, value: Any) -> Entry:
        return Entry(value, self._clock(), self.ttl)
