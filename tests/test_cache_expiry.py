"""Expiry and invalidation beyond the contract: TTL jitter, negative caching and
stale-while-revalidate, on memory and Redis, sync and asyncio."""

from __future__ import annotations

import asyncio
import statistics
import uuid

import fakeredis
import pytest
import redis

from highload.cache import (
    AsyncCacheAside,
    AsyncRedisBackend,
    CacheAside,
    CacheConfig,
    Entry,
    RedisBackend,
)
from highload.clock import ManualClock

pytestmark = pytest.mark.redis


@pytest.fixture(params=["memory", "fakeredis", "redis-server"])
def backend(request):
    """None (the default memory backend), or Redis on fakeredis or the private redis-server."""
    if request.param == "memory":
        yield None
        return
    if request.param == "fakeredis":
        client = fakeredis.FakeRedis(server=fakeredis.FakeServer())
    else:
        client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
    yield RedisBackend(client, prefix=f"test:expiry:{uuid.uuid4().hex}:")
    client.close()


class ManualExecutor:
    """Keeps submitted refreshes until the test runs them: background work, deterministically."""

    def __init__(self) -> None:
        self.tasks = []

    def submit(self, fn):
        self.tasks.append(fn)

    def run(self) -> int:
        tasks, self.tasks = self.tasks, []
        for fn in tasks:
            fn()
        return len(tasks)


def counting_loader():
    calls = []

    def loader(key):
        calls.append(key)
        return f"{key}#{len(calls)}"

    return loader, calls


# -- jitter ---------------------------------------------------------------------------------------

def _ttls(seed, jitter=0.5, n=400):
    cache = CacheAside(lambda k: k, 8, clock=ManualClock(), jitter=jitter, rng=seed)
    for i in range(n):
        cache.get(f"k{i}")
    return [cache.peek(f"k{i}").ttl for i in range(n)]


def test_jitter_only_shortens_and_stays_within_its_fraction():
    ttls = _ttls(seed=3)
    assert all(4 < t <= 8 for t in ttls)
    assert abs(statistics.mean(ttls) - 6) < 0.25  # uniform over (4, 8]: mean 6
    assert len(set(ttls)) > 300  # spread out, so keys filled together expire apart


def test_jitter_is_reproducible_per_seed_and_differs_between_seeds():
    assert _ttls(seed=11) == _ttls(seed=11)
    assert _ttls(seed=11) != _ttls(seed=12)


def test_no_jitter_means_every_entry_lives_exactly_ttl():
    assert set(_ttls(seed=1, jitter=0)) == {8}


def test_a_jittered_entry_expires_at_its_own_ttl(backend):
    clock = ManualClock()
    loader, calls = counting_loader()
    cache = CacheAside(loader, 8, clock=clock, backend=backend, jitter=0.5, rng=5, name="t")
    cache.get("k")
    ttl = cache.peek("k").ttl
    assert 4 < ttl <= 8
    clock.set(ttl - 0.001)
    cache.get("k")
    assert len(calls) == 1
    clock.set(ttl)
    cache.get("k")
    assert len(calls) == 2


# -- negative caching ------------------------------------------------------------------------------

def test_negative_caching_remembers_not_found_for_negative_ttl(backend):
    clock = ManualClock()
    calls = []

    def loader(key):
        calls.append(key)
        return None

    cache = CacheAside(loader, 60, clock=clock, backend=backend, negative_ttl=2, name="t")
    assert cache.get("ghost") is None
    clock.set(1.75)
    assert cache.get("ghost") is None
    assert len(calls) == 1 and cache.stats["hits"] == 1
    clock.set(2)
    assert cache.get("ghost") is None
    assert len(calls) == 2


def test_negative_entries_use_negative_ttl_not_ttl_or_jitter():
    cache = CacheAside(lambda k: None, 60, clock=ManualClock(), negative_ttl=2, jitter=0.5, rng=1)
    cache.get("ghost")
    assert cache.peek("ghost").ttl == 2


def test_a_write_replaces_a_negative_entry(backend):
    store = {}
    cache = CacheAside(store.get, 60, clock=ManualClock(), backend=backend, negative_ttl=30, store=store, name="t")
    assert cache.get("new") is None
    cache.write("new", "created")
    assert cache.get("new") == "created"


# -- stale-while-revalidate ------------------------------------------------------------------------

def test_stale_entry_is_served_at_once_while_one_background_refresh_runs(backend):
    clock, pool = ManualClock(), ManualExecutor()
    loader, calls = counting_loader()
    cache = CacheAside(loader, 10, clock=clock, backend=backend, stale_while_revalidate=5, executor=pool, name="t")
    assert cache.get("k") == "k#1"
    clock.set(10)
    assert [cache.get("k") for _ in range(3)] == ["k#1"] * 3  # stale, three times, no waiting
    assert len(calls) == 1 and len(pool.tasks) == 1  # one refresh scheduled, not three
    assert cache.counters["stale_hits"] == 3
    assert pool.run() == 1
    assert calls == ["k", "k"]
    assert cache.get("k") == "k#2"
    assert cache.stats["hits"] == 1


def test_stale_window_ends_at_ttl_plus_stale_while_revalidate(backend):
    clock, pool = ManualClock(), ManualExecutor()
    loader, calls = counting_loader()
    cache = CacheAside(loader, 10, clock=clock, backend=backend, stale_while_revalidate=5, executor=pool, name="t")
    cache.get("k")
    clock.set(14.75)
    assert cache.get("k") == "k#1"
    pool.tasks.clear()  # that refresh never runs
    clock.set(15)
    assert cache.get("k") == "k#2"  # too old to serve: a blocking load
    assert cache.stats["misses"] == 2


def test_failed_background_refresh_keeps_serving_stale_and_tries_again():
    clock, pool = ManualClock(), ManualExecutor()
    outcomes = iter(["v1", RuntimeError("db down"), "v2"])

    def loader(key):
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    cache = CacheAside(loader, 10, clock=clock, stale_while_revalidate=5, executor=pool)
    cache.get("k")
    clock.set(11)
    assert cache.get("k") == "v1"
    pool.run()  # fails
    assert cache.counters["load_errors"] == 1
    assert cache.get("k") == "v1"  # still stale, and a new refresh is scheduled
    assert pool.run() == 1
    assert cache.get("k") == "v2"


def test_stale_while_revalidate_with_the_default_thread_pool():
    clock = ManualClock()
    loader, calls = counting_loader()
    with CacheAside(loader, 10, clock=clock, stale_while_revalidate=5) as cache:
        cache.get("k")
        clock.set(12)
        assert cache.get("k") == "k#1"
        cache.wait_refreshes()
        assert cache.get("k") == "k#2"
    assert len(calls) == 2


def test_a_write_during_a_background_refresh_wins():
    clock, pool = ManualClock(), ManualExecutor()
    store = {"k": "v1"}
    holder = {}

    def loader(key):
        value = store[key]
        if holder:
            holder.pop("during")()  # a write lands while the refresh is loading
        return value

    cache = CacheAside(loader, 10, clock=clock, stale_while_revalidate=5, executor=pool, store=store)
    cache.get("k")
    clock.set(11)
    cache.get("k")
    holder["during"] = lambda: cache.write("k", "v2")
    pool.run()
    assert cache.get("k") == "v2"


def test_async_stale_while_revalidate_refreshes_in_a_task():
    async def main():
        clock = ManualClock()
        calls = []

        async def loader(key):
            calls.append(key)
            return len(calls)

        cache = AsyncCacheAside(loader, 10, clock=clock, stale_while_revalidate=5,
                                backend=AsyncRedisBackend(fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer())), name="t")
        first = await cache.get("k")
        clock.set(10)
        stale = [await cache.get("k"), await cache.get("k")]
        await cache.wait_refreshes()
        fresh = await cache.get("k")
        return first, stale, fresh, cache.counters["stale_hits"], len(calls)

    assert asyncio.run(main()) == (1, [1, 1], 2, 2, 2)


# -- set and config --------------------------------------------------------------------------------

def test_set_stores_a_value_with_the_configured_ttl(backend):
    clock = ManualClock(5)
    cache = CacheAside(lambda k: "loaded", 10, clock=clock, backend=backend, name="t")
    cache.set("k", "set")
    assert cache.peek("k") == Entry("set", 5.0, 10.0, 0.0, 0.0)
    clock.set(14.75)
    assert cache.get("k") == "set"
    clock.set(15)
    assert cache.get("k") == "loaded"


def test_a_config_object_configures_the_cache():
    config = CacheConfig(ttl=10, single_flight=True, negative_ttl=1)
    cache = CacheAside(lambda k: None, config=config, clock=ManualClock())
    assert cache.config is config
    cache.get("x")
    cache.get("x")
    assert cache.stats["loads"] == 1


def test_entries_store_their_load_time_as_delta():
    clock = ManualClock()

    def slow(key):
        clock.advance(0.75)
        return key

    cache = CacheAside(slow, 10, clock=clock)
    cache.get("k")
    assert cache.peek("k") == Entry("k", 0.75, 10.0, 0.0, 0.75)
