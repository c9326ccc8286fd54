"""Lesson 03's cache widgets, driven directly (no browser): the numbers, the redraws, impl=, errors."""

from __future__ import annotations

import asyncio
import html
from collections import OrderedDict

import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("plotly")

import ipywidgets  # noqa: E402

from highload.cache import CacheAside  # noqa: E402
from highload.clock import ManualClock  # noqa: E402
from highload.widgets import HitRatioLab, StampedeVisualizer  # noqa: E402
from highload.widgets.cache import (  # noqa: E402
    PROTECTIONS,
    Row,
    simulate_hit_ratio,
    simulate_stampede,
    stampede,
    zipf_weights,
)

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


# -- hit ratio: the widget ---------------------------------------------------------------------------


def test_lab_draws_the_replays_numbers():
    lab = HitRatioLab(**QUICK)
    hit, reads, loads, stale = lab.figure.data
    shown, r = lab.numbers(), lab.result
    assert list(hit.x) == shown["times"] == list(r.times)
    assert list(hit.y) == list(r.hit_ratio_over_time)
    assert list(reads.y) == [50.0] * len(r.times)
    assert list(loads.y) == list(r.loads_per_second_over_time)
    assert list(stale.y) == list(r.stale_share_over_time)
    assert f"{r.hit_ratio:.1%}" in lab.figure.layout.title.text
    assert "hottest keys" in lab.summary.value and f"{r.loads:,}" in lab.summary.value
    assert "CacheAside" in lab.figure.layout.title.text


def test_moving_a_slider_replays_and_redraws():
    lab = HitRatioLab(**QUICK)
    before = lab.result
    assert isinstance(lab.controls["zipf_s"], ipywidgets.FloatSlider)  # the browser test drags it
    lab.controls["zipf_s"].value = 1.5
    assert lab.result.hit_ratio > before.hit_ratio + 0.2
    assert list(lab.figure.data[0].y) == list(lab.result.hit_ratio_over_time) != list(before.hit_ratio_over_time)
    assert "Zipf s = 1.5" in lab.figure.layout.title.text
    lab.controls["cache_size"].value = 1000
    assert lab.settings()["cache_size"] == 1000 and lab.result.hit_ratio > 0.9
    lab.controls["ttl"].value = 300
    lab.controls["update_rate"].value = 10
    stale = lab.result.stale
    lab.controls["invalidate_on_update"].value = True
    assert stale > 0 and lab.result.stale == 0 and list(lab.figure.data[3].y) == [0.0] * len(lab.result.times)


def test_lab_adds_the_given_size_and_ttl_to_its_slider_stops():
    lab = HitRatioLab(cache_size=37, ttl=45, **QUICK)
    assert lab.settings()["cache_size"] == 37 and lab.settings()["ttl"] == 45
    assert lab.result == simulate_hit_ratio(cache_size=37, ttl=45, **QUICK)


def test_lab_runs_the_learners_impl():
    lab = HitRatioLab(impl=DictCacheAside, **QUICK)
    assert lab.result == simulate_hit_ratio(impl=DictCacheAside, **QUICK)
    assert lab.impl_error == "" and "DictCacheAside" in lab.figure.layout.title.text
    assert lab.result.stats["loads"] == lab.result.loads


class Unfinished:
    def __init__(self, loader, ttl, max_entries=None, clock=None):
        raise NotImplementedError("write __init__ first")


class GetRaises(DictCacheAside):
    def get(self, key):
        if self.stats["misses"] >= 3:
            raise KeyError(key)
        return super().get(key)


class ForgetsTheKey(DictCacheAside):
    def get(self, key):
        return self.loader("item:0")


class CountsWrong(DictCacheAside):
    def get(self, key):
        value = super().get(key)
        self.stats["loads"] = 0
        return value


@pytest.mark.parametrize(("impl", "error", "message"), [
    (Unfinished, NotImplementedError, "NotImplementedError: write __init__ first"),
    (GetRaises, KeyError, "KeyError"),
    (ForgetsTheKey, ValueError, "it must return what loader"),
    (type("NoGet", (), {"__init__": lambda self, *a, **k: None}), TypeError, "has no get(key)"),
])
def test_a_broken_impl_shows_its_error_instead_of_raising(impl, error, message):
    lab = HitRatioLab(impl=impl, **QUICK)
    assert lab.result is None and message in lab.impl_error
    assert f"{impl.__name__} raised" in lab.summary.value
    assert html.escape(message) in lab.summary.value
    assert all(len(t.y) == 0 for t in lab.figure.data) and lab.figure.layout.title.text == ""
    lab.controls["zipf_s"].value = 0.5  # still alive
    assert lab.result is None and message in lab.impl_error
    with pytest.raises(error):  # the pure function lets it propagate
        simulate_hit_ratio(impl=impl, **QUICK)


def test_an_impl_error_says_which_call_failed():
    lab = HitRatioLab(impl=GetRaises, **QUICK)
    assert "in GetRaises.get(" in lab.impl_error and "at read #" in lab.impl_error


def test_stats_that_disagree_with_the_loader_are_pointed_out():
    lab = HitRatioLab(impl=CountsWrong, **QUICK)
    assert lab.result is not None
    assert "CountsWrong.stats</b> says loads=0" in lab.summary.value


def test_lab_rejects_bad_arguments_naming_them():
    for kwargs, error, name in [
        ({"zipf_s": -0.5}, ValueError, "zipf_s"), ({"zipf_s": 9}, ValueError, "zipf_s"),
        ({"cache_size": 0}, ValueError, "cache_size"), ({"ttl": -1}, ValueError, "ttl"),
        ({"update_rate": -2}, ValueError, "update_rate"), ({"keys": 0}, ValueError, "keys"),
        ({"seed": 0.5}, TypeError, "seed"), ({"impl": "CacheAside"}, TypeError, "impl"),
        ({"reads": 10}, ValueError, "reads"),
    ]:
        with pytest.raises(error, match=name):
            HitRatioLab(**kwargs)


def test_lab_displays_as_a_widget_with_the_figure_inside():
    lab = HitRatioLab(**QUICK)
    bundle = lab._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"] == "HitRatioLab(CacheAside)"
    assert lab.figure in lab.widget.children


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


# -- stampede: the widget ----------------------------------------------------------------------------


def traces(viz, meta):
    return {t.name: t for t in viz.figure.data if t.meta == meta}


def test_visualizer_draws_queries_and_waits_per_protection():
    viz = StampedeVisualizer(readers=50)
    assert set(viz.results) == {"none", "lock", "xfetch"}
    queries, waits = traces(viz, "queries"), traces(viz, "waits")
    assert queries["none"].y[-1] == 50 and queries["lock"].y[-1] == 1
    assert min(queries["xfetch"].x[1:]) < 0
    for name, r in viz.results.items():
        assert list(waits[name].x) == [w.start for w in r.waits]
        assert list(waits[name].y) == [w.wait for w in r.waits]
    assert queries["xfetch + lock"].y == () and waits["xfetch + lock"].y == ()
    assert [t.name for t in viz.figure.data if t.showlegend] == ["none", "lock", "xfetch"]
    assert "50 readers" in viz.figure.layout.title.text
    assert "DB queries" in viz.summary.value and ">50<" in viz.summary.value


def test_moving_the_readers_slider_reruns():
    viz = StampedeVisualizer(readers=50)
    assert isinstance(viz.controls["readers"], ipywidgets.IntSlider)
    viz.controls["readers"].value = 20
    assert traces(viz, "queries")["none"].y[-1] == 20 and viz.results["none"].loads == 20
    assert "20 readers" in viz.figure.layout.title.text
    viz.controls["db_latency"].value = 1.0
    assert viz.results["lock"].worst_wait == pytest.approx(1.0)


def test_checkboxes_pick_the_protections_and_none_ticked_says_so():
    viz = StampedeVisualizer(readers=10, protection=["lock"])
    assert set(viz.results) == {"lock"}
    viz.picks["xfetch + lock"].value = True
    assert set(viz.results) == {"lock", "xfetch + lock"}
    for box in viz.picks.values():
        box.value = False
    assert viz.results is None and "tick at least one protection" in viz.summary.value
    assert all(len(t.y) == 0 for t in viz.figure.data)


def test_visualizer_rejects_bad_arguments_naming_them():
    for kwargs, error, name in [
        ({"readers": 0}, ValueError, "readers"), ({"readers": "many"}, TypeError, "readers"),
        ({"protection": ["magic"]}, ValueError, "protection"), ({"protection": []}, ValueError, "protection"),
        ({"seed": 1.5}, TypeError, "seed"), ({"db_latency": -1}, ValueError, "db_latency"),
        ({"xfetch_beta": 0}, ValueError, "xfetch_beta"), ({"protection": 3}, TypeError, "protection"),
    ]:
        with pytest.raises(error, match=name):
            StampedeVisualizer(**kwargs)


def test_visualizer_displays_as_a_widget():
    viz = StampedeVisualizer(readers=5)
    bundle = viz._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"] == "StampedeVisualizer(none, lock, xfetch)"
