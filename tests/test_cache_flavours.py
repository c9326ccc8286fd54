"""Sync and asyncio caches behave alike (async follows sync), and their backends and buffers
satisfy the typed Protocols of their kind."""

from __future__ import annotations

import asyncio
import inspect

import fakeredis
import pytest
import redis.exceptions

from highload.cache import (
    AsyncCacheAside,
    AsyncCacheBackend,
    AsyncMemoryBackend,
    AsyncMemoryBuffer,
    AsyncRedisBackend,
    AsyncRedisBuffer,
    AsyncWriteBackCache,
    AsyncWriteBuffer,
    AsyncWriteThroughCache,
    CacheAside,
    CacheBackend,
    MemoryBackend,
    MemoryBuffer,
    RedisBackend,
    RedisBuffer,
    WriteBackCache,
    WriteBuffer,
    WriteThroughCache,
)
from highload.cache.entry import LATER
from highload.clock import ManualClock

BACKEND_CALLS = ("lookup", "token", "peek", "fill", "put", "delete", "clear", "acquire", "release", "wait_unlocked")
BUFFER_CALLS = ("write", "read", "dirty", "clean", "dirty_count", "discard")


def run(value):
    return asyncio.run(value) if inspect.iscoroutine(value) else value


# -- protocols -------------------------------------------------------------------------------------


def test_every_backend_satisfies_its_flavours_protocol():
    server = fakeredis.FakeServer()
    for backend in (MemoryBackend(), RedisBackend(fakeredis.FakeRedis(server=server))):
        assert isinstance(backend, CacheBackend)
        assert not any(inspect.iscoroutinefunction(getattr(backend, m)) for m in BACKEND_CALLS)
    for backend in (AsyncMemoryBackend(), AsyncRedisBackend(fakeredis.FakeAsyncRedis(server=server))):
        assert isinstance(backend, AsyncCacheBackend)
        assert all(inspect.iscoroutinefunction(getattr(backend, m)) for m in BACKEND_CALLS)
    assert not isinstance(object(), CacheBackend)


def test_every_buffer_satisfies_its_flavours_protocol():
    server = fakeredis.FakeServer()
    for buffer in (MemoryBuffer(), RedisBuffer(fakeredis.FakeRedis(server=server))):
        assert isinstance(buffer, WriteBuffer)
        assert not any(inspect.iscoroutinefunction(getattr(buffer, m)) for m in BUFFER_CALLS)
    for buffer in (AsyncMemoryBuffer(), AsyncRedisBuffer(fakeredis.FakeAsyncRedis(server=server))):
        assert isinstance(buffer, AsyncWriteBuffer)
        assert all(inspect.iscoroutinefunction(getattr(buffer, m)) for m in BUFFER_CALLS)


def test_an_asyncio_cache_shares_the_entries_of_a_sync_memory_backend():
    memory = MemoryBackend(10)
    sync = CacheAside(lambda k: "loaded", 60, clock=ManualClock(), backend=memory, name="t")
    sync.set("k", "from sync")
    cache = AsyncCacheAside(lambda k: "loaded", 60, clock=ManualClock(), backend=memory, name="t")
    assert isinstance(cache.backend, AsyncMemoryBackend)
    assert asyncio.run(cache.get("k")) == "from sync"
    asyncio.run(cache.invalidate("k"))
    assert "k" not in memory


# -- async follows sync ----------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [CacheAside, AsyncCacheAside])
def test_get_takes_a_loader_for_this_call(cls):
    cache = cls(lambda k: "default", 60, clock=ManualClock())
    assert run(cache.get("k", lambda k: "given")) == "given"
    assert run(cache.get("k")) == "given", "and caches what it loaded"


@pytest.mark.parametrize("cls", [WriteBackCache, AsyncWriteBackCache])
def test_dirty_count_is_a_property_in_both_flavours(cls):
    assert isinstance(inspect.getattr_static(cls, "dirty_count"), property)

    async def scenario():
        cache = cls({}, 60, ManualClock())
        for key in "aab":
            run(cache.write(key, 1)) if cls is WriteBackCache else await cache.write(key, 1)
        count = cache.dirty_count
        return await count if inspect.isawaitable(count) else count

    assert asyncio.run(scenario()) == 2


class _TokenDown(MemoryBackend):
    """A backend whose entries are found stale and whose token read finds Redis down."""

    outage_errors = (redis.exceptions.ConnectionError,)

    def lookup(self, key):
        return None, LATER

    def token(self, key):
        raise redis.exceptions.ConnectionError("down")


class _AsyncTokenDown(AsyncMemoryBackend):
    outage_errors = (redis.exceptions.ConnectionError,)

    async def lookup(self, key):
        return None, LATER

    async def token(self, key):
        raise redis.exceptions.ConnectionError("down")


@pytest.mark.parametrize("cls, backend", [(WriteThroughCache, _TokenDown), (AsyncWriteThroughCache, _AsyncTokenDown)])
def test_write_through_records_a_token_outage_and_reads_the_store(cls, backend):
    cache = cls({"k": "stored"}, backend=backend(), read_through=True, clock=ManualClock())
    assert run(cache.read("k")) == "stored"
    assert cache.counters["backend_errors"] == 1


@pytest.mark.parametrize("cls, backend", [(CacheAside, _TokenDown), (AsyncCacheAside, _AsyncTokenDown)])
def test_cache_aside_records_a_token_outage_and_loads(cls, backend):
    cache = cls(lambda k: "loaded", 60, backend=backend(), clock=ManualClock())
    assert run(cache.get("k")) == "loaded"
    assert cache.counters["backend_errors"] == 1


def test_async_write_through_serialises_writes_of_one_key():
    """A store write that yields must not let a later write's cache update be overwritten by an
    earlier one: the cache ends with the value the store ended with."""

    async def scenario():
        gate = asyncio.Event()

        class SlowFirstWrite:
            def __init__(self):
                self.data = {}

            async def aread(self, key):
                return self.data[key]

            async def awrite(self, key, value):
                self.data[key] = value
                if value == 1:
                    await gate.wait()  # the first write's cache update comes late

            async def adelete(self, key):
                del self.data[key]

        store = SlowFirstWrite()
        cache = AsyncWriteThroughCache(store, clock=ManualClock())
        first = asyncio.ensure_future(cache.write("k", 1))
        await asyncio.sleep(0)
        second = asyncio.ensure_future(cache.write("k", 2))
        await asyncio.sleep(0)
        gate.set()
        await asyncio.gather(first, second)
        return store.data["k"], (await cache.peek("k")).value

    assert asyncio.run(scenario()) == (2, 2)


def test_a_sync_cache_refuses_a_coroutine_loader_instead_of_caching_the_coroutine():
    async def load(key):
        return key

    cache = CacheAside(load, 60, clock=ManualClock())
    with pytest.raises(TypeError, match="returned a coroutine: use the Async"):
        cache.get("k")
    assert cache.peek("k") is None


def test_async_stale_refreshes_run_on_a_given_executor():
    clock = ManualClock()
    submitted = []

    class Spawner:
        def submit(self, fn):
            submitted.append(fn)
            return asyncio.ensure_future(fn())

    async def scenario():
        loads = iter(["old", "new"])
        cache = AsyncCacheAside(lambda k: next(loads), 10, clock=clock, stale_while_revalidate=5,
                                executor=Spawner())
        await cache.get("k")
        clock.advance(12)
        stale = await cache.get("k")
        await cache.wait_refreshes()
        return stale, await cache.get("k")

    assert asyncio.run(scenario()) == ("old", "new")
    assert len(submitted) == 1


@pytest.mark.parametrize("cls", [CacheAside, AsyncCacheAside])
def test_executor_without_submit_is_refused(cls):
    with pytest.raises(TypeError, match=r"executor must have submit\(fn\), got 3"):
        cls(lambda k: k, 60, executor=3)
