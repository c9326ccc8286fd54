"""The exercise contracts, clause by clause, on every backend: memory, fakeredis, a real
redis-server and a real Redis Cluster (redis-py's ``RedisCluster``), each sync and asyncio.

Asyncio caches are driven from the same test bodies through :class:`Driven`, which runs
each coroutine to completion on one event loop per test, so one set of clauses proves
all six targets. Time is a ManualClock moved in steps of 0.25 s.
"""

from __future__ import annotations

import asyncio
import inspect
import uuid

import fakeredis
import pytest
import redis
import redis.asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from highload.cache import (
    AsyncCacheAside,
    AsyncRedisBackend,
    AsyncRedisBuffer,
    AsyncWriteBackCache,
    AsyncWriteThroughCache,
    CacheAside,
    MemoryBackend,
    MemoryBuffer,
    RedisBackend,
    RedisBuffer,
    WriteBackCache,
    WriteThroughCache,
)
from highload.clock import ManualClock

pytestmark = pytest.mark.redis

TARGETS = ["memory", "memory-async", "fakeredis", "fakeredis-async", "redis-server", "redis-server-async",
           "redis-cluster", "redis-cluster-async"]


class Driven:
    """An asyncio cache behind a sync face: each coroutine method runs to completion on ``loop``,
    and so does an awaitable property (``dirty_count``)."""

    def __init__(self, target, loop: asyncio.AbstractEventLoop) -> None:
        self._target, self._loop = target, loop

    def __getattr__(self, name):
        attr = getattr(self._target, name)
        if inspect.iscoroutinefunction(attr):
            return lambda *a, **k: self._loop.run_until_complete(attr(*a, **k))
        if inspect.isawaitable(attr):
            return self._loop.run_until_complete(attr)
        return attr


class Target:
    """Builds the caches of one target (backend x sync/async) and cleans up after the test."""

    def __init__(self, request, name: str) -> None:
        self.name = name
        self.asynchronous = name.endswith("-async")
        self.kind = name.removesuffix("-async")
        self.prefix = f"test:cache:{uuid.uuid4().hex}:"
        self.loop = asyncio.new_event_loop() if self.asynchronous else None
        self.client = self.sync_client = None  # sync_client: the same data, for side doors in tests
        if self.kind == "fakeredis":
            server = fakeredis.FakeServer()
            self.sync_client = fakeredis.FakeRedis(server=server)
            self.client = fakeredis.FakeAsyncRedis(server=server) if self.asynchronous else self.sync_client
        elif self.kind == "redis-server":
            url = request.getfixturevalue("redis_url")
            self.sync_client = redis.Redis.from_url(url)
            self.client = redis.asyncio.Redis.from_url(url) if self.asynchronous else self.sync_client
        elif self.kind == "redis-cluster":
            from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster

            cluster = request.getfixturevalue("redis_cluster")
            self.sync_client = cluster.client(decode_responses=False)
            nodes = self.sync_client.get_primaries()
            self.client = self.sync_client if not self.asynchronous else AsyncRedisCluster(
                host=nodes[0].host, port=nodes[0].port, socket_connect_timeout=2, socket_timeout=5)

    def close(self) -> None:
        if self.sync_client is not None and self.sync_client is not self.client:
            self.sync_client.close()
        if self.client is not None:
            if self.asynchronous:
                self.loop.run_until_complete(self.client.aclose())
            else:
                self.client.close()
        if self.loop is not None:
            self.loop.close()

    def drive(self, cache):
        return Driven(cache, self.loop) if self.asynchronous else cache

    def backend(self):
        if self.kind == "memory":
            return None
        cls = AsyncRedisBackend if self.asynchronous else RedisBackend
        return cls(self.client, prefix=self.prefix)

    def aside(self, loader, ttl, clock, **kw):
        if self.asynchronous:
            plain = loader

            async def loader(key):  # a coroutine loader, as asyncio code would pass
                result = plain(key)
                return await result if inspect.isawaitable(result) else result

        cls = AsyncCacheAside if self.asynchronous else CacheAside
        return self.drive(cls(loader, ttl, clock=clock, backend=self.backend(), **{"name": "t", **kw}))

    def through(self, store, **kw):
        cls = AsyncWriteThroughCache if self.asynchronous else WriteThroughCache
        return self.drive(cls(store, backend=self.backend(), **{"name": "t", **kw}))

    def back(self, store, flush_interval, clock, buffer=None, **kw):
        if self.kind != "memory":
            buffer = (AsyncRedisBuffer if self.asynchronous else RedisBuffer)(self.client, prefix=self.prefix)
        cls = AsyncWriteBackCache if self.asynchronous else WriteBackCache
        return self.drive(cls(store, flush_interval, clock, buffer=buffer, **{"name": "t", **kw}))


@pytest.fixture(params=TARGETS)
def target(request):
    t = Target(request, request.param)
    yield t
    t.close()


def dirty(cache) -> int:
    """``dirty_count``: a property on every target (awaited on asyncio, by :class:`Driven`)."""
    return cache.dirty_count


class Loader:
    """Returns ``"<key>#<n>"`` for the n-th load of any key, so every reload is visible."""

    def __init__(self, clock: ManualClock | None = None, takes: float = 0.0) -> None:
        self.calls: list = []
        self.clock, self.takes = clock, takes

    def __call__(self, key):
        self.calls.append(key)
        if self.takes:
            self.clock.advance(self.takes)
        return f"{key}#{len(self.calls)}"


# -- CacheAside ----------------------------------------------------------------------------------

def test_miss_calls_loader_once_and_returns_its_value(target):
    loader = Loader()
    cache = target.aside(loader, 10, ManualClock())
    assert cache.get("a") == "a#1"
    assert loader.calls == ["a"]


def test_hit_within_ttl_returns_cached_value_without_loading(target):
    clock, loader = ManualClock(), Loader()
    cache = target.aside(loader, 10, clock)
    cache.get("a")
    clock.advance(9.75)
    assert cache.get("a") == "a#1"
    assert loader.calls == ["a"]


def test_entry_of_age_exactly_ttl_is_reloaded(target):
    clock, loader = ManualClock(), Loader()
    cache = target.aside(loader, 10, clock)
    cache.get("a")
    clock.advance(10)
    assert cache.get("a") == "a#2"
    assert cache.get("a") == "a#2"
    assert loader.calls == ["a", "a"]


def test_age_counts_from_the_clock_reading_after_the_loader_returns(target):
    clock = ManualClock()
    loader = Loader(clock, takes=2)  # each load takes 2 s of clock time: stored at t=2
    cache = target.aside(loader, 4, clock)
    cache.get("a")
    clock.set(5.75)  # age 3.75 from t=2 (but 5.75 from when the load began)
    assert cache.get("a") == "a#1"
    clock.set(6)
    assert cache.get("a") == "a#2"


def test_none_is_returned_but_not_cached(target):
    calls = []

    def loader(key):
        calls.append(key)
        return None

    cache = target.aside(loader, 10, ManualClock())
    assert cache.get("ghost") is None
    assert cache.get("ghost") is None
    assert calls == ["ghost", "ghost"]
    assert cache.stats["loads"] == 2


def test_invalidate_drops_the_entry(target):
    loader = Loader()
    cache = target.aside(loader, 10, ManualClock())
    cache.get("a")
    cache.get("b")
    assert cache.invalidate("a") is True
    assert cache.invalidate("a") is False
    assert cache.get("a") == "a#3"
    assert cache.get("b") == "b#2"


def test_stats_count_hits_misses_and_loads_after_every_call(target):
    clock = ManualClock()
    cache = target.aside(Loader(), 10, clock)
    seen = []
    for step in ("a", "a", "b", "a", "advance", "a"):
        if step == "advance":
            clock.advance(10)
            continue
        cache.get(step)
        s = cache.stats
        seen.append((s["hits"], s["misses"], s["loads"]))
    assert seen == [(0, 1, 1), (1, 1, 1), (1, 2, 2), (2, 2, 2), (2, 3, 3)]


def test_loader_error_propagates_and_caches_nothing(target):
    calls = []

    def loader(key):
        calls.append(key)
        if len(calls) == 1:
            raise LookupError("database down")
        return "fine"

    cache = target.aside(loader, 10, ManualClock())
    with pytest.raises(LookupError, match="database down"):
        cache.get("a")
    assert cache.get("a") == "fine"
    assert cache.counters["load_errors"] == 1 and cache.stats["loads"] == 1


def test_get_or_load_uses_the_loader_it_is_given(target):
    cache = target.aside(Loader(), 10, ManualClock())
    assert cache.get_or_load("a", lambda k: f"explicit {k}") == "explicit a"
    assert cache.get("a") == "explicit a"


def test_write_updates_the_store_then_invalidates(target):
    store = {"a": "old"}
    cache = target.aside(store.__getitem__, 10, ManualClock(), store=store)
    assert cache.get("a") == "old"
    cache.write("a", "new")
    assert store["a"] == "new"
    assert cache.get("a") == "new"
    assert cache.stats["loads"] == 2


def test_a_write_during_a_load_keeps_the_loaded_value_out_of_the_cache(target):
    """The cache-aside race: a load that began before a write must not cache its old row."""
    store = {"a": "v1"}
    holder = {}

    async def after(pending, value):
        await pending
        return value

    def loader(key):
        value = store[key]
        store[key] = "v2"  # a writer updates the row while this load is in flight...
        pending = holder["invalidate"](key)  # ...and invalidates, as cache-aside writers do
        return after(pending, value) if inspect.isawaitable(pending) else value

    cache = target.aside(loader, 10, ManualClock())
    holder["invalidate"] = cache._target.invalidate if target.asynchronous else cache.invalidate
    assert cache.get("a") == "v1"  # the caller still gets what it loaded
    assert cache.peek("a") is None  # but it was not cached over the newer write


def test_lru_evicts_the_least_recently_used_entry_first():
    cache = CacheAside(Loader(), 100, max_entries=2, clock=ManualClock())
    cache.get("a")
    cache.get("b")
    cache.get("a")  # a is now more recently used than b
    cache.get("c")  # evicts b
    assert cache.backend.keys() == ["a", "c"]
    assert cache.get("a") == "a#1"
    assert cache.get("b") == "b#4"


def test_async_lru_evicts_the_least_recently_used_entry_first():
    async def main():
        cache = AsyncCacheAside(Loader(), 100, 2, ManualClock())
        for key in ("a", "b", "a", "c"):
            await cache.get(key)
        return cache.backend.keys(), await cache.get("b")

    assert asyncio.run(main()) == (["a", "c"], "b#4")


@pytest.mark.parametrize("bad", [0, -1, -0.25])
def test_ttl_must_be_positive(bad):
    with pytest.raises(ValueError, match=rf"ttl must be > 0, got {bad}"):
        CacheAside(Loader(), bad)


@pytest.mark.parametrize("bad", [0, -3])
def test_max_entries_must_be_at_least_one(bad):
    with pytest.raises(ValueError, match=rf"max_entries must be >= 1, got {bad}"):
        CacheAside(Loader(), 10, bad)


# -- WriteThroughCache ---------------------------------------------------------------------------

class FlakyStore(dict):
    """A dict that refuses to store the value ``"poison"``."""

    def __setitem__(self, key, value):
        if value == "poison":
            raise OSError("disk full")
        super().__setitem__(key, value)


def test_write_through_writes_store_then_cache(target):
    store = {}
    cache = target.through(store)
    cache.write("a", 1)
    assert store == {"a": 1}
    assert cache.read("a") == 1
    assert cache.stats["hits"] == 1 and cache.stats["misses"] == 0


def test_write_through_failed_store_write_leaves_cache_unchanged(target):
    store = FlakyStore()
    cache = target.through(store)
    cache.write("a", "good")
    with pytest.raises(OSError, match="disk full"):
        cache.write("a", "poison")
    assert store["a"] == "good"
    assert cache.peek("a").value == "good"
    assert cache.read("a") == "good"


def test_write_through_failed_first_write_caches_nothing(target):
    cache = target.through(FlakyStore())
    with pytest.raises(OSError):
        cache.write("a", "poison")
    assert cache.peek("a") is None
    with pytest.raises(KeyError):
        cache.read("a")


def test_write_through_read_falls_through_to_store_without_caching(target):
    store = {"a": "from store"}
    cache = target.through(store)
    assert cache.read("a") == "from store"
    assert cache.peek("a") is None
    store["a"] = "changed"
    assert cache.read("a") == "changed"
    assert cache.stats["misses"] == 2


def test_write_through_read_of_unknown_key_raises_keyerror(target):
    with pytest.raises(KeyError):
        target.through({}).read("nope")


def test_write_through_serves_cache_before_store(target):
    store = {}
    cache = target.through(store)
    cache.write("a", 1)
    store["a"] = 2  # someone bypassed the cache
    assert cache.read("a") == 1


# -- WriteBackCache ------------------------------------------------------------------------------

def test_write_back_write_updates_cache_only_and_marks_dirty(target):
    store = {}
    cache = target.back(store, 10, ManualClock())
    cache.write("a", 1)
    cache.write("b", 2)
    assert store == {}
    assert dirty(cache) == 2
    assert cache.read("a") == 1


def test_write_back_flush_writes_each_dirty_key_once_last_write_wins(target):
    store = {}
    cache = target.back(store, 10, ManualClock())
    cache.write("a", 1)
    cache.write("a", 2)
    cache.write("b", 3)
    assert cache.flush() == 2
    assert store == {"a": 2, "b": 3}
    assert dirty(cache) == 0
    assert cache.flush() == 0


def test_write_back_read_serves_cache_then_store_else_keyerror(target):
    store = {"s": "stored"}
    cache = target.back(store, 10, ManualClock())
    cache.write("c", "cached")
    assert cache.read("c") == "cached"
    assert cache.read("s") == "stored"
    with pytest.raises(KeyError):
        cache.read("nowhere")


def test_write_back_read_from_store_does_not_fill_cache(target):
    store = {"s": 1}
    cache = target.back(store, 10, ManualClock())
    assert cache.read("s") == 1
    store["s"] = 2
    assert cache.read("s") == 2
    assert dirty(cache) == 0


def test_write_back_flushes_before_an_operation_once_the_interval_has_passed(target):
    clock = ManualClock(100)  # the first interval starts at construction, not at 0
    store = {}
    cache = target.back(store, 4, clock)
    cache.write("a", 1)
    clock.set(103.75)
    cache.write("b", 2)  # 3.75 s since construction: no flush
    assert store == {}
    clock.set(104)
    cache.write("c", 3)  # 4 s: flush a and b first, then buffer c
    assert store == {"a": 1, "b": 2}
    assert dirty(cache) == 1
    clock.set(107.75)
    cache.read("a")  # 3.75 s since that flush
    assert dirty(cache) == 1
    clock.set(108)
    cache.read("a")  # reads trigger it too
    assert store == {"a": 1, "b": 2, "c": 3}
    assert dirty(cache) == 0


def test_write_back_explicit_flush_restarts_the_interval(target):
    clock = ManualClock()
    store = {}
    cache = target.back(store, 4, clock)
    clock.set(3)
    cache.flush()
    cache.write("a", 1)
    clock.set(6.75)  # 6.75 s since construction, 3.75 s since the flush
    cache.write("b", 2)
    assert store == {}
    clock.set(7)
    cache.read("b")
    assert store == {"a": 1, "b": 2}


def test_write_back_flushes_by_size(target):
    store = {}
    cache = target.back(store, 1000, ManualClock(), max_dirty=3)
    cache.write("a", 1)
    cache.write("b", 2)
    assert store == {}
    cache.write("c", 3)
    assert store == {"a": 1, "b": 2, "c": 3}
    assert dirty(cache) == 0


def test_write_back_close_flushes(target):
    store = {}
    cache = target.back(store, 1000, ManualClock())
    cache.write("a", 1)
    (cache.aclose if target.asynchronous else cache.close)()
    assert store == {"a": 1}


def test_write_back_write_during_flush_stays_dirty(target):
    holder = {}

    class RewritingStore(dict):
        def __setitem__(self, key, value):
            super().__setitem__(key, value)
            if key == "a" and value == 1:
                holder["rewrite"]()  # a write of "a" lands while the flush is running

    store = RewritingStore()
    shared = MemoryBuffer()  # on memory-async: a sync writer on the buffer the asyncio cache uses
    cache = target.back(store, 1000, ManualClock(), buffer=shared if target.kind == "memory" else None)
    if not target.asynchronous:
        holder["rewrite"] = lambda: cache.write("a", 2)
    elif target.kind == "memory":
        holder["rewrite"] = lambda: shared.write("a", 2)
    else:  # another client writing the same Redis buffer
        holder["rewrite"] = lambda: RedisBuffer(target.sync_client, prefix=target.prefix).scoped("t").write("a", 2)
    cache.write("a", 1)
    assert cache.flush() == 1
    assert store["a"] == 1
    assert dirty(cache) == 1
    assert cache.read("a") == 2
    cache.flush()
    assert store["a"] == 2


def test_write_back_store_failure_part_way_keeps_the_rest_dirty(target):
    class FailsOnB(dict):
        def __setitem__(self, key, value):
            if key == "b":
                raise OSError("store down")
            super().__setitem__(key, value)

    store = FailsOnB()
    cache = target.back(store, 1000, ManualClock())
    cache.write("a", 1)
    cache.write("b", 2)
    with pytest.raises(OSError, match="store down"):
        cache.flush()
    assert store == {"a": 1}
    assert dirty(cache) == 1


@pytest.mark.parametrize("bad", [0, -1])
def test_flush_interval_must_be_positive(bad):
    with pytest.raises(ValueError, match=rf"flush_interval must be > 0, got {bad}"):
        WriteBackCache({}, bad)


# -- model-based: random operation sequences against a tiny obviously-correct model --------------

class ModelAside:
    def __init__(self, ttl, max_entries):
        self.ttl, self.max_entries = ttl, max_entries
        self.entries: dict = {}  # key -> (value, created); insertion order = recency
        self.loads = self.hits = self.misses = 0

    def get(self, key, now):
        if key in self.entries and now - self.entries[key][1] < self.ttl:
            self.hits += 1
            self.entries[key] = self.entries.pop(key)
            return self.entries[key][0]
        self.misses += 1
        self.loads += 1
        value = f"{key}#{self.loads}"
        self.entries.pop(key, None)
        self.entries[key] = (value, now)
        if self.max_entries is not None and len(self.entries) > self.max_entries:
            del self.entries[next(iter(self.entries))]
        return value

    def invalidate(self, key):
        return self.entries.pop(key, None) is not None


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("get"), st.sampled_from("abcd")),
        st.tuples(st.just("invalidate"), st.sampled_from("abcd")),
        st.tuples(st.just("advance"), st.integers(0, 8)),
    ),
    max_size=40,
)


def _check_against_model(cache, clock, ttl, max_entries, ops):
    model = ModelAside(ttl, max_entries)
    for op, arg in ops:
        if op == "advance":
            clock.advance(arg * 0.25)
        elif op == "get":
            assert cache.get(arg) == model.get(arg, clock())
        else:
            assert cache.invalidate(arg) == model.invalidate(arg)
        stats = cache.stats
        assert (stats["hits"], stats["misses"], stats["loads"]) == (model.hits, model.misses, model.loads)


@settings(deadline=None, derandomize=True, database=None, max_examples=150)
@given(ttl=st.sampled_from([0.25, 1, 2]), max_entries=st.sampled_from([None, 1, 2, 3]), ops=OPS)
def test_memory_cache_aside_matches_the_model(ttl, max_entries, ops):
    clock = ManualClock()
    _check_against_model(CacheAside(Loader(), ttl, max_entries, clock), clock, ttl, max_entries, ops)


@settings(deadline=None, derandomize=True, database=None, max_examples=50,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ttl=st.sampled_from([0.25, 1, 2]), ops=OPS)
def test_redis_cache_aside_matches_the_model(ttl, ops):
    clock = ManualClock()
    backend = RedisBackend(fakeredis.FakeRedis(server=fakeredis.FakeServer()))
    _check_against_model(CacheAside(Loader(), ttl, clock=clock, backend=backend, name="t"), clock, ttl, None, ops)


def test_memory_backend_passed_explicitly_keeps_its_size():
    cache = CacheAside(Loader(), 10, clock=ManualClock(), backend=MemoryBackend(1), name="t")
    cache.get("a")
    cache.get("b")
    assert cache.backend.keys() == ["b"]
