"""Lesson 03's cache widgets, driven directly (no browser): the numbers, the redraws, impl=, errors."""

from __future__ import annotations

import html

import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("plotly")

import ipywidgets  # noqa: E402

from highload.widgets import HitRatioLab, StampedeVisualizer  # noqa: E402
from highload.widgets.cache import simulate_hit_ratio  # noqa: E402
from tests.test_cache_simulation import QUICK, DictCacheAside  # noqa: E402

# The engines' own numbers are tested in tests/test_cache_simulation.py, without plotly.


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
    assert lab.chart in lab.widget.children


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
