"""Plausible wrong answers to the cache-strategies exercise (cache_aside and write_policies suites).

``GoodCacheAside``, ``GoodWriteBack`` and ``GoodWriteThrough`` are standalone correct answers
(they never import highload). Each broken variant differs from them in exactly one mistake a
student might make. The write_policies suite takes a module-like target: ``GOOD_POLICIES`` is a
namespace with both classes, and ``policies(...)`` swaps one of them.
"""

from __future__ import annotations

import time
import types
from collections import OrderedDict

# -- cache-aside ----------------------------------------------------------------------------------


class GoodCacheAside:
    def __init__(self, loader, ttl, max_entries=None, clock=time.monotonic):
        if not ttl > 0:
            raise ValueError(f"ttl must be > 0, got {ttl!r}")
        if max_entries is not None and max_entries < 1:
            raise ValueError(f"max_entries must be >= 1, got {max_entries!r}")
        self.loader, self.ttl, self.max_entries, self.clock = loader, ttl, max_entries, clock
        self.entries = OrderedDict()  # key -> (value, loaded_at), least recently used first
        self.stats = {"hits": 0, "misses": 0, "loads": 0}

    def _fresh(self, loaded_at, now):
        return now - loaded_at < self.ttl

    def _touch(self, key):
        self.entries.move_to_end(key)

    def _lookup(self, key):
        entry = self.entries.get(key)
        if entry is not None and self._fresh(entry[1], self.clock()):
            self._touch(key)
            return True, entry[0]
        return False, None

    def _load(self, key):
        value = self.loader(key)
        self.stats["loads"] += 1
        return value, self.clock()

    def _store(self, key, value, loaded_at):
        if value is None:
            return
        self.entries[key] = (value, loaded_at)
        self.entries.move_to_end(key)
        self._evict()

    def _evict(self):
        while self.max_entries is not None and len(self.entries) > self.max_entries:
            self.entries.popitem(last=False)

    def get(self, key):
        found, value = self._lookup(key)
        if found:
            self.stats["hits"] += 1
            return value
        self.stats["misses"] += 1
        value, loaded_at = self._load(key)
        self._store(key, value, loaded_at)
        return value

    def invalidate(self, key):
        self.entries.pop(key, None)


class AgeFromBeforeLoad(GoodCacheAside):
    """Stamps the entry with the time the get started, so a slow load eats into its ttl."""

    def _load(self, key):
        started = self.clock()
        value = self.loader(key)
        self.stats["loads"] += 1
        return value, started


class FreshAtExactlyTtl(GoodCacheAside):
    def _fresh(self, loaded_at, now):
        return now - loaded_at <= self.ttl


class CachesNone(GoodCacheAside):
    def _store(self, key, value, loaded_at):
        self.entries[key] = (value, loaded_at)
        self.entries.move_to_end(key)
        self._evict()

    def _lookup(self, key):
        if key in self.entries and self._fresh(self.entries[key][1], self.clock()):
            self._touch(key)
            return True, self.entries[key][0]
        return False, None


class FalsyNotCached(GoodCacheAside):
    def _store(self, key, value, loaded_at):
        if value:
            super()._store(key, value, loaded_at)


class LruByInsertion(GoodCacheAside):
    """Evicts the oldest *loaded* entry (FIFO): a hit does not count as a use."""

    def _touch(self, key):
        pass


class NoEviction(GoodCacheAside):
    def _evict(self):
        pass


class EvictsBeforeReplacing(GoodCacheAside):
    """Makes room for every load, even one that replaces an entry already in the cache."""

    def _store(self, key, value, loaded_at):
        if value is None:
            return
        if self.max_entries is not None and len(self.entries) >= self.max_entries:
            self.entries.popitem(last=False)
        self.entries[key] = (value, loaded_at)
        self.entries.move_to_end(key)


class SlidingTtl(GoodCacheAside):
    """Every hit restarts the entry's age."""

    def _lookup(self, key):
        found, value = super()._lookup(key)
        if found:
            self.entries[key] = (value, self.clock())
        return found, value


class ExpiredCountsAsHit(GoodCacheAside):
    """Counts any get that finds an entry as a hit, fresh or not."""

    def get(self, key):
        if key in self.entries:
            self.stats["hits"] += 1
            found, value = self._lookup(key)
            if found:
                return value
        else:
            self.stats["misses"] += 1
        value, loaded_at = self._load(key)
        self._store(key, value, loaded_at)
        return value


class WallClock(GoodCacheAside):
    """Reads time.monotonic() instead of the injected clock."""

    def __init__(self, loader, ttl, max_entries=None, clock=time.monotonic):
        super().__init__(loader, ttl, max_entries, clock=time.monotonic)


class InvalidateIgnored(GoodCacheAside):
    def invalidate(self, key):
        pass


class AsideNotValidated(GoodCacheAside):
    def __init__(self, loader, ttl, max_entries=None, clock=time.monotonic):
        self.loader, self.ttl, self.max_entries, self.clock = loader, ttl, max_entries, clock
        self.entries = OrderedDict()
        self.stats = {"hits": 0, "misses": 0, "loads": 0}


BROKEN_ASIDE = [AgeFromBeforeLoad, FreshAtExactlyTtl, CachesNone, FalsyNotCached, LruByInsertion, NoEviction,
                EvictsBeforeReplacing, SlidingTtl, ExpiredCountsAsHit, WallClock, InvalidateIgnored,
                AsideNotValidated]


# -- write-back -----------------------------------------------------------------------------------


class GoodWriteBack:
    def __init__(self, store, flush_interval, clock=time.monotonic):
        self.store, self.flush_interval, self.clock = store, flush_interval, clock
        self.cache = {}
        self.dirty = set()
        self.last_flush = clock()

    def _maybe_flush(self):
        if self.clock() - self.last_flush >= self.flush_interval:
            self.flush()

    def _mark(self, key, value):
        self.cache[key] = value
        self.dirty.add(key)

    def write(self, key, value):
        self._maybe_flush()
        self._mark(key, value)

    def _fall_through(self, key):
        return self.store[key]

    def read(self, key):
        self._maybe_flush()
        if key in self.cache:
            return self.cache[key]
        return self._fall_through(key)

    def flush(self):
        self.last_flush = self.clock()
        for key in self.dirty:
            self.store[key] = self.cache[key]
        written = len(self.dirty)
        self.dirty.clear()
        return written

    @property
    def dirty_count(self):
        return len(self.dirty)


class FlushDoesNotRestartInterval(GoodWriteBack):
    """Flushes on a fixed schedule from construction: a manual flush does not move it."""

    def _maybe_flush(self):
        if self.clock() - self.last_flush >= self.flush_interval:
            self.flush()
            self.last_flush += self.flush_interval

    def flush(self):
        last = self.last_flush
        written = super().flush()
        self.last_flush = last
        return written


class FlushCountsCleanKeys(GoodWriteBack):
    def flush(self):
        super().flush()
        return len(self.cache)


class FlushRewritesCleanKeys(GoodWriteBack):
    """Writes every cached key on each flush (and returns the number that were dirty)."""

    def flush(self):
        written = len(self.dirty)
        self.last_flush = self.clock()
        for key, value in self.cache.items():
            self.store[key] = value
        self.dirty.clear()
        return written


class FlushKeepsKeysDirty(GoodWriteBack):
    def flush(self):
        self.last_flush = self.clock()
        for key in self.dirty:
            self.store[key] = self.cache[key]
        return len(self.dirty)


class BackCachesStoreReads(GoodWriteBack):
    def _fall_through(self, key):
        self.cache[key] = self.store[key]
        return self.cache[key]


class BackWritesTheStore(GoodWriteBack):
    """Writes through to the store at once (so the flush has nothing to do)."""

    def write(self, key, value):
        self._maybe_flush()
        self.cache[key] = value
        self.store[key] = value


class FlushAfterTheInterval(GoodWriteBack):
    def _maybe_flush(self):
        if self.clock() - self.last_flush > self.flush_interval:
            self.flush()


class IntervalStartsAtFirstWrite(GoodWriteBack):
    def __init__(self, store, flush_interval, clock=time.monotonic):
        super().__init__(store, flush_interval, clock)
        self.last_flush = None

    def _maybe_flush(self):
        if self.last_flush is None:
            self.last_flush = self.clock()
        super()._maybe_flush()


class FlushAfterTheWrite(GoodWriteBack):
    """Applies the write first and flushes after it: the new write reaches the store too early."""

    def write(self, key, value):
        self._mark(key, value)
        self._maybe_flush()


class ReadDoesNotFlush(GoodWriteBack):
    def read(self, key):
        if key in self.cache:
            return self.cache[key]
        return self._fall_through(key)


class DirtyCountIsWrites(GoodWriteBack):
    def __init__(self, store, flush_interval, clock=time.monotonic):
        super().__init__(store, flush_interval, clock)
        self.writes = 0

    def _mark(self, key, value):
        super()._mark(key, value)
        self.writes += 1

    def flush(self):
        self.writes = 0
        return super().flush()

    @property
    def dirty_count(self):
        return self.writes


class DirtyCountIsAMethod(GoodWriteBack):
    def dirty_count(self):  # the mistake: a method, where the contract asks for an attribute
        return len(self.dirty)


class ReadMissingReturnsNone(GoodWriteBack):
    def _fall_through(self, key):
        return self.store.get(key)


BROKEN_WRITE_BACK = [FlushDoesNotRestartInterval, FlushCountsCleanKeys, FlushRewritesCleanKeys, FlushKeepsKeysDirty,
                     BackCachesStoreReads, BackWritesTheStore, FlushAfterTheInterval, IntervalStartsAtFirstWrite,
                     FlushAfterTheWrite, ReadDoesNotFlush, DirtyCountIsWrites, DirtyCountIsAMethod,
                     ReadMissingReturnsNone]


# -- write-through --------------------------------------------------------------------------------


class GoodWriteThrough:
    def __init__(self, store):
        self.store = store
        self.cache = {}

    def write(self, key, value):
        self.store[key] = value
        self.cache[key] = value

    def read(self, key):
        if key in self.cache:
            return self.cache[key]
        return self.store[key]


class CacheBeforeStore(GoodWriteThrough):
    def write(self, key, value):
        self.cache[key] = value
        self.store[key] = value


class SwallowsStoreError(GoodWriteThrough):
    def write(self, key, value):
        try:
            self.store[key] = value
        except Exception:
            return
        self.cache[key] = value


class ThroughCachesStoreReads(GoodWriteThrough):
    def read(self, key):
        if key not in self.cache:
            self.cache[key] = self.store[key]
        return self.cache[key]


class AlwaysReadsTheStore(GoodWriteThrough):
    def read(self, key):
        return self.store[key]


class NeverWritesTheStore(GoodWriteThrough):
    def write(self, key, value):
        self.cache[key] = value


class DropsEntryOnFailure(GoodWriteThrough):
    """On a store error, forgets the cached value instead of keeping the old one."""

    def write(self, key, value):
        self.cache.pop(key, None)
        super().write(key, value)


BROKEN_WRITE_THROUGH = [CacheBeforeStore, SwallowsStoreError, ThroughCachesStoreReads, AlwaysReadsTheStore,
                        NeverWritesTheStore, DropsEntryOnFailure]


def policies(write_back=GoodWriteBack, write_through=GoodWriteThrough):
    """A module-like target, as a notebook would pass it."""
    return types.SimpleNamespace(WriteBackCache=write_back, WriteThroughCache=write_through)


GOOD_POLICIES = policies()
#: The contract's names, so ``--target tests.broken_cache`` is a correct module target.
CacheAside, WriteBackCache, WriteThroughCache = GoodCacheAside, GoodWriteBack, GoodWriteThrough
