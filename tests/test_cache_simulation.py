"""Lesson 03's cache simulations (highload.cache.simulation), without plotly: the numbers the
HitRatioLab and StampedeVisualizer draw, impl=, and argument errors."""

from __future__ import annotations

import asyncio
from collections import OrderedDict

import pytest

from highload.cache import CacheAside
from highload.cache.simulation import (
    PROTECTIONS,
    Row,
    simulate_hit_ratio,
    simulate_stampede,
    stampede,
    zipf_weights,
)
from highload.clock import ManualClock

QUICK = {"reads": 6000}  # 2 simulated minutes: enough for every trend below


class DictCacheAside:
    """A learner's correct cache-aside: an OrderedDict LRU with a ttl, and the exercise's stats."""

    def __init__(self, loader, ttl, max_entries=None, clock=None):
        self.loader, self.ttl, self.max_entries, self.clock = loader, ttl, max_entries, clock
        self.entries = OrderedDict()
        self.stats = {"hits": 0, "misses": 0, "loads": 0}

    def get(self, key):
        now = self.clock()
        if key in self.entries and now - self.entries[key][1] < self.ttl:
            self.entries.move_to_end(key)
            self.stats["hits"] += 1
            return self.entries[key][0]
        self.stats["misses"] += 1
        value = self.loader(key)
        self.stats["loads"] += 1
        self.entries[key] = (value, self.clock())
        self.entries.move_to_end(key)
        while self.max_entries is not None and len(self.entries) > self.max_entries:
            self.entries.popitem(last=False)
        return value

    def invalidate(self, key):
        return self.entries.pop(key, None) is not None


# -- hit ratio: the numbers -------------------------------------------------------------------------


def test_zipf_weights_sum_to_one_and_follow_the_law():
    w = zipf_weights(1000, 1.0)
    assert sum(w) == pytest.approx(1)
    assert w[1] == pytest.approx(w[0] / 2) and w[9] == pytest.approx(w[0] / 10)
    assert zipf_weights(4, 0) == [0.25] * 4
    assert sum(zipf_weights(1000, 1.5)[:10]) > sum(w[:10]) > sum(zipf_weights(1000, 0.5)[:10])


def test_hit_ratio_rises_with_cache_size():
    ratios = [simulate_hit_ratio(cache_size=size, **QUICK).hit_ratio for size in (10, 100, 1000)]
    assert ratios[0] < ratios[1] - 0.2 and ratios[1] < ratios[2] - 0.1, ratios


def test_hit_ratio_rises_with_key_popularity():
    ratios = [simulate_hit_ratio(zipf_s=s, **QUICK).hit_ratio for s in (0.0, 0.5, 1.0, 1.5)]
    assert ratios == sorted(ratios) and ratios[-1] > ratios[0] + 0.5, ratios


def test_stale_reads_grow_with_ttl_at_a_fixed_update_rate():
    stale = [simulate_hit_ratio(ttl=ttl, update_rate=5, **QUICK).stale for ttl in (2, 20, 120)]
    assert 0 < stale[0] < stale[1] < stale[2], stale


def test_no_updates_or_invalidation_on_update_means_no_stale_reads():
    assert simulate_hit_ratio(update_rate=0, **QUICK).stale == 0
    told = simulate_hit_ratio(update_rate=5, ttl=120, invalidate_on_update=True, **QUICK)
    assert told.stale == 0 and told.updates > 0
    # ...paid for with a few more misses than the cache that is never told.
    assert told.loads > simulate_hit_ratio(update_rate=5, ttl=120, **QUICK).loads


def test_loads_are_the_misses_and_match_the_real_caches_own_stats():
    r = simulate_hit_ratio(**QUICK)
    assert r.loads == r.reads - r.hits
    assert r.stats == {"hits": r.hits, "misses": r.loads, "loads": r.loads}
    assert r.db_load == pytest.approx(r.loads / r.duration)
    per_slice = r.duration / len(r.times)
    assert sum(r.loads_per_second_over_time) * per_slice == pytest.approx(r.loads)
    assert r.hit_ratio_over_time[0] < r.hit_ratio_over_time[-1], "the cold start misses most"
    assert r.times[-1] == pytest.approx(r.duration)


def test_the_same_seed_gives_the_same_replay_and_another_seed_another():
    assert simulate_hit_ratio(seed=3, **QUICK) == simulate_hit_ratio(seed=3, **QUICK)
    assert simulate_hit_ratio(seed=3, **QUICK).hits != simulate_hit_ratio(seed=4, **QUICK).hits


def test_a_learners_correct_cache_gives_the_same_numbers_as_cache_aside():
    for kwargs in ({}, {"cache_size": 10, "ttl": 5}, {"invalidate_on_update": True, "update_rate": 8}):
        mine = simulate_hit_ratio(impl=DictCacheAside, **kwargs, **QUICK)
        real = simulate_hit_ratio(**kwargs, **QUICK)
        assert (mine.hits, mine.loads, mine.stale) == (real.hits, real.loads, real.stale), kwargs


def test_impl_is_built_with_the_exercise_contract():
    made = []

    class Spy(CacheAside):
        def __init__(self, loader, ttl, max_entries=None, clock=None):
            made.append((ttl, max_entries, clock))
            super().__init__(loader, ttl, max_entries, clock)

    simulate_hit_ratio(cache_size=20, ttl=30, impl=Spy, **QUICK)
    (ttl, size, clock), = made
    assert (ttl, size) == (30, 20) and isinstance(clock, ManualClock)
    assert Row("item:1", 0) == ("item:1", 0)


@pytest.mark.parametrize(("kwargs", "error", "name"), [
    ({"zipf_s": -1}, ValueError, "zipf_s"),
    ({"zipf_s": "high"}, TypeError, "zipf_s"),
    ({"cache_size": 0}, ValueError, "cache_size"),
    ({"cache_size": 2.5}, TypeError, "cache_size"),
    ({"ttl": 0}, ValueError, "ttl"),
    ({"ttl": float("inf")}, ValueError, "ttl"),
    ({"update_rate": -1}, ValueError, "update_rate"),
    ({"keys": 0}, ValueError, "keys"),
    ({"reads": 0}, ValueError, "reads"),
    ({"seed": "zero"}, TypeError, "seed"),
    ({"invalidate_on_update": "yes"}, TypeError, "invalidate_on_update"),
    ({"impl": 42}, TypeError, "impl"),
])
def test_simulate_hit_ratio_rejects_bad_arguments_naming_them(kwargs, error, name):
    with pytest.raises(error, match=name):
        simulate_hit_ratio(**kwargs)



class _GetRaises(DictCacheAside):
    def get(self, key):
        if self.stats["misses"] >= 3:
            raise KeyError(key)
        return super().get(key)


def test_an_impl_error_propagates_with_a_note_saying_which_call_failed():
    with pytest.raises(KeyError) as info:
        simulate_hit_ratio(impl=_GetRaises, **QUICK)
    assert any("in _GetRaises.get(" in note and "at read #" in note for note in info.value.__notes__)


def test_an_impl_that_returns_another_keys_value_is_refused():
    class ForgetsTheKey(DictCacheAside):
        def get(self, key):
            return self.loader("item:0")

    with pytest.raises(ValueError, match="it must return what loader"):
        simulate_hit_ratio(impl=ForgetsTheKey, **QUICK)


# -- stampede: the numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize("readers", [1, 7, 50])
def test_without_protection_every_reader_queries_the_database(readers):
    r = simulate_stampede("none", readers)
    assert r.loads == readers
    assert all(0 <= t < r.db_latency for t in r.queries), "all of them in the first query time after expiry"
    assert {w.reader for w in r.waits} == set(range(readers))
    assert r.counters["loads"] == readers + 1  # the priming load, counted by the cache itself


def test_a_single_flight_lock_sends_one_query_for_everyone():
    r = simulate_stampede("lock", 50)
    assert r.loads == 1 and 0 <= r.first_query < r.db_latency
    assert r.counters["coalesced"] == 49, "the other 49 readers joined the leader's load"
    assert r.worst_wait == pytest.approx(r.db_latency)


def test_xfetch_refreshes_before_expiry_so_nobody_waits_after_it():
    r = simulate_stampede("xfetch", 50, xfetch_beta=1.0)
    assert r.first_query < 0 and r.loads_before_expiry == r.loads >= 1
    assert r.counters["early_refreshes"] == r.loads
    assert all(w.start < 0 for w in r.waits), "after the expiry every read is a hit"
    assert len({w.reader for w in r.waits}) == r.loads


def test_xfetch_with_the_lock_refreshes_exactly_once_before_expiry():
    r = simulate_stampede("xfetch + lock", 200, xfetch_beta=0.5)
    assert r.loads == 1 and r.first_query < 0


def test_the_numbers_come_from_the_real_xfetch_test(monkeypatch):
    monkeypatch.setattr("highload.cache._core.xfetch_due", lambda *args: False)
    r = simulate_stampede("xfetch", 20)
    assert r.loads == 20 and r.first_query >= 0, "without XFetch's test it is a plain stampede"


def test_queued_queries_make_the_stampede_slow():
    # 50 queries through 8 connections: the last one waits for about 50 / 8 query times.
    crowded = simulate_stampede("none", 50, 0.5, db_connections=8)
    roomy = simulate_stampede("none", 50, 0.5, db_connections=50)
    assert crowded.worst_wait > 5 * 0.5 and roomy.worst_wait == pytest.approx(0.5)
    assert crowded.wait_of(0) > 0


def test_earlier_refreshes_with_a_larger_beta():
    firsts = [simulate_stampede("xfetch", 50, xfetch_beta=b).first_query for b in (0.5, 1.0, 2.0)]
    assert firsts[0] > firsts[1] > firsts[2], firsts


def test_stampede_is_deterministic_and_shares_the_readers():
    a = stampede(PROTECTIONS, 30, seed=5)
    assert a == stampede(PROTECTIONS, 30, seed=5)
    assert a["none"].window == a["xfetch"].window
    assert stampede(["none"], 30, seed=6)["none"].reads != a["none"].reads


def test_stampede_runs_inside_a_running_event_loop_like_jupyters():
    async def inside():
        return simulate_stampede("lock", 10)

    assert asyncio.run(inside()).loads == 1


@pytest.mark.parametrize(("kwargs", "error", "name"), [
    ({"protection": "magic"}, ValueError, "protection"),
    ({"readers": 0}, ValueError, "readers"),
    ({"readers": 2.5}, TypeError, "readers"),
    ({"db_latency": 0}, ValueError, "db_latency"),
    ({"xfetch_beta": -1}, ValueError, "xfetch_beta"),
    ({"db_connections": 0}, ValueError, "db_connections"),
    ({"seed": "x"}, TypeError, "seed"),
])
def test_simulate_stampede_rejects_bad_arguments_naming_them(kwargs, error, name):
    with pytest.raises(error, match=name):
        simulate_stampede(**kwargs)
