"""Cache stampedes at expiry, proven without timing.

A hot key expires while N readers arrive together (a barrier releases them at once; the
clock is a ManualClock set exactly to the expiry). The loader itself synchronizes:

* without protection it waits on a barrier of N parties, so the test passes only if all N
  readers are inside the loader at the same time: N loads;
* with single-flight it waits until the other N-1 readers have reported (through the
  cache's own "coalesced" events) that they are waiting for it: exactly 1 load;
* XFetch, with a seeded rng, refreshes before the expiry, so the readers all hit.

Barrier and semaphore timeouts are safety nets that turn a hang into a failure, never
assertions about how long anything took.
"""

from __future__ import annotations

import asyncio
import threading

import fakeredis
import pytest

from highload.cache import AsyncCacheAside, CacheAside, Entry, MemoryBackend, RedisBackend
from highload.clock import ManualClock
from highload.testing import all_at_once

N = 16
TTL = 10
WAIT = 30  # seconds before a broken synchronization fails the test instead of hanging it


def readers_at_once(cache, n: int = N, key: str = "hot"):
    """n threads released together, each calling cache.get(key) once: (results, exceptions)."""
    try:
        return all_at_once(lambda: cache.get(key), threads=n, timeout=WAIT), []
    except ExceptionGroup as group:
        return [], list(group.exceptions)


class HotLoader:
    """Counts loads; after priming, each load first waits on ``gate`` (set by the test)."""

    def __init__(self) -> None:
        self.loads = 0
        self.lock = threading.Lock()
        self.gate = None

    def __call__(self, key):
        with self.lock:
            self.loads += 1
            n = self.loads
        if self.gate is not None:
            self.gate()
        return f"{key}#{n}"


@pytest.fixture(params=["memory", "fakeredis"])
def backend(request):
    if request.param == "memory":
        return None
    return RedisBackend(fakeredis.FakeRedis(server=fakeredis.FakeServer()), prefix="stampede:")


def test_without_protection_every_reader_at_expiry_loads(backend):
    clock, loader = ManualClock(), HotLoader()
    cache = CacheAside(loader, TTL, clock=clock, backend=backend, name="t")
    assert cache.get("hot") == "hot#1"
    inside = threading.Barrier(N, timeout=WAIT)
    loader.gate = inside.wait  # passes only when all N loads are in flight together
    clock.set(TTL)
    results, errors = readers_at_once(cache)
    assert errors == []
    assert loader.loads == 1 + N
    assert cache.stats["misses"] == 1 + N
    assert len(results) == N


def test_single_flight_runs_one_load_for_all_readers_at_expiry(backend):
    clock, loader = ManualClock(), HotLoader()
    cache = CacheAside(loader, TTL, clock=clock, backend=backend, single_flight=True, name="t")
    cache.get("hot")
    waiting = threading.Semaphore(0)
    cache.subscribe(lambda event: waiting.release(), "coalesced")

    def everyone_else_is_waiting():
        for _ in range(N - 1):
            assert waiting.acquire(timeout=WAIT), "not every reader joined the load"

    loader.gate = everyone_else_is_waiting
    clock.set(TTL)
    results, errors = readers_at_once(cache)
    assert errors == []
    assert loader.loads == 2
    assert results == ["hot#2"] * N
    assert cache.counters["coalesced"] == N - 1


def test_single_flight_shares_a_loader_error_with_every_waiting_reader():
    clock, loader = ManualClock(), HotLoader()
    cache = CacheAside(loader, TTL, clock=clock, single_flight=True)
    waiting = threading.Semaphore(0)
    cache.subscribe(lambda event: waiting.release(), "coalesced")

    def fail_after_everyone_waits():
        for _ in range(N - 1):
            assert waiting.acquire(timeout=WAIT)
        raise ConnectionError("db down")

    loader.gate = fail_after_everyone_waits
    results, errors = readers_at_once(cache)
    assert results == []
    assert len(errors) == N and all(isinstance(e, ConnectionError) for e in errors)
    assert loader.loads == 1
    loader.gate = None
    assert cache.get("hot") == "hot#2"  # nothing was cached, and the flight was cleared


class PausingBackend(MemoryBackend):
    """Runs ``after_lookup`` once, right after the next lookup: a deterministic interleaving."""

    after_lookup = None

    def lookup(self, key):
        result = super().lookup(key)
        hook, self.after_lookup = self.after_lookup, None
        if hook is not None:
            hook()
        return result


def test_single_flight_does_not_reload_a_key_a_finished_flight_filled():
    """A reader that missed just before another flight finished must not load again."""
    clock, loader, backend = ManualClock(), HotLoader(), PausingBackend()
    cache = CacheAside(loader, TTL, clock=clock, backend=backend, single_flight=True, name="t")
    # Between this reader's miss and its own flight, another reader loads and fills the key.
    backend.after_lookup = lambda: cache.get("hot")
    assert cache.get("hot") == "hot#1"
    assert loader.loads == 1


def _xfetch_cache(rng, beta=1.0):
    """Priming takes 2 s of clock time (delta = 2): stored at t=2, expiring at t=12."""
    clock, loads = ManualClock(), []

    def loader(key):
        if not loads:
            clock.advance(2)
        loads.append(clock())
        return f"{key}#{len(loads)}"

    cache = CacheAside(loader, TTL, clock=clock, xfetch_beta=beta, rng=rng)
    cache.get("hot")
    return cache, clock, loads


def _walk_to_expiry(cache, clock, loads, step=0.25):
    """Read once every ``step`` until the first early refresh; returns its time (or None)."""
    while clock() + step < 2 + TTL:
        clock.advance(step)
        cache.get("hot")
        if len(loads) > 1:
            return loads[1]
    return None


def test_xfetch_with_a_seeded_rng_refreshes_before_expiry_and_readers_then_hit():
    cache, clock, loads = _xfetch_cache(rng=7)
    refreshed = _walk_to_expiry(cache, clock, loads)
    assert refreshed is not None and 2 < refreshed < 12
    assert cache.counters["early_refreshes"] == 1
    # The refresh took no clock time (delta 0), so it will not refresh early again: at the
    # old expiry every reader hits the refreshed entry.
    clock.set(12)
    results, errors = readers_at_once(cache)
    assert errors == [] and results == ["hot#2"] * N
    assert len(loads) == 2


def test_xfetch_is_reproducible_with_the_same_seed():
    times = []
    for _ in range(2):
        cache, clock, loads = _xfetch_cache(rng=2024)
        times.append(_walk_to_expiry(cache, clock, loads))
    assert times[0] == times[1] is not None


def test_xfetch_refreshes_before_expiry_for_every_seed_and_earlier_with_larger_beta():
    def refresh_times(beta):
        out = []
        for seed in range(100):
            cache, clock, loads = _xfetch_cache(rng=seed, beta=beta)
            out.append(_walk_to_expiry(cache, clock, loads))
        return out

    gentle, eager = refresh_times(1.0), refresh_times(4.0)
    assert all(t is not None and 2 < t < 12 for t in gentle + eager)
    assert sum(eager) / len(eager) < sum(gentle) / len(gentle)


def test_xfetch_off_reloads_only_at_expiry():
    cache, clock, loads = _xfetch_cache(rng=7, beta=0)
    assert _walk_to_expiry(cache, clock, loads) is None
    clock.set(12)
    cache.get("hot")
    assert loads[1] == 12


def test_xfetch_with_single_flight_serves_the_cached_value_while_a_refresh_runs():
    clock = ManualClock()
    started, release, results = threading.Event(), threading.Event(), []

    def slow_loader(key):
        started.set()
        assert release.wait(WAIT)
        return "refreshed"

    cache = CacheAside(slow_loader, TTL, clock=clock, xfetch_beta=1.0, rng=1, single_flight=True)
    # A huge recompute time makes XFetch fire on every read of this entry.
    cache.backend.put("hot", Entry("cached", created=0.0, ttl=TTL, delta=1e6))
    clock.set(TTL - 0.25)
    first = threading.Thread(target=lambda: results.append(cache.get("hot")))
    first.start()
    assert started.wait(WAIT)  # the first reader is refreshing early...
    assert cache.get("hot") == "cached"  # ...so this one is served the cached value at once
    release.set()
    first.join(WAIT)
    assert results == ["refreshed"]
    assert cache.counters["early_refreshes"] == 1 and cache.stats["loads"] == 1
    assert cache.get("hot") == "refreshed"


# -- asyncio --------------------------------------------------------------------------------------

def test_async_without_protection_every_task_at_expiry_loads():
    async def main():
        clock, loads = ManualClock(), []
        inside = asyncio.Barrier(N)

        async def loader(key):
            loads.append(key)
            if len(loads) > 1:
                await asyncio.wait_for(inside.wait(), WAIT)
            return len(loads)

        cache = AsyncCacheAside(loader, TTL, clock=clock)
        await cache.get("hot")
        clock.set(TTL)
        await asyncio.gather(*(cache.get("hot") for _ in range(N)))
        return len(loads)

    assert asyncio.run(main()) == 1 + N


def test_async_single_flight_runs_one_load_for_all_tasks_at_expiry():
    async def main():
        clock, loads = ManualClock(), []
        everyone = asyncio.Event()
        joined = []

        async def loader(key):
            loads.append(key)
            if len(loads) > 1:
                await asyncio.wait_for(everyone.wait(), WAIT)
            return f"v{len(loads)}"

        cache = AsyncCacheAside(loader, TTL, clock=clock, single_flight=True)

        def on_join(event):
            joined.append(event)
            if len(joined) == N - 1:
                everyone.set()

        cache.subscribe(on_join, "coalesced")
        await cache.get("hot")
        clock.set(TTL)
        results = await asyncio.gather(*(cache.get("hot") for _ in range(N)))
        return loads, results

    loads, results = asyncio.run(main())
    assert len(loads) == 2
    assert results == ["v2"] * N


def test_async_single_flight_survives_the_first_caller_being_cancelled():
    async def main():
        started, release, joined = asyncio.Event(), asyncio.Event(), asyncio.Event()

        async def loader(key):
            started.set()
            await release.wait()
            return "loaded"

        cache = AsyncCacheAside(loader, TTL, clock=ManualClock(), single_flight=True)
        cache.subscribe(lambda event: joined.set(), "coalesced")
        first = asyncio.ensure_future(cache.get("k"))
        await started.wait()  # the first caller's shared load is running
        second = asyncio.ensure_future(cache.get("k"))
        await joined.wait()  # the second caller waits for it
        first.cancel()
        release.set()
        return await second, await asyncio.gather(first, return_exceptions=True), cache.stats["loads"]

    value, (first,), loads = asyncio.run(main())
    assert value == "loaded" and isinstance(first, asyncio.CancelledError) and loads == 1
