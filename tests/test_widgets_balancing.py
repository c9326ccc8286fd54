"""Lesson 01's LoadBalancerRace, driven directly (no browser): the race, the charts, impl=, errors."""

from __future__ import annotations

import html

import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("plotly")
pytest.importorskip("simpy")

import ipywidgets  # noqa: E402

from highload.widgets import LoadBalancerRace  # noqa: E402
from highload.widgets.balancing import (  # noqa: E402
    YOURS,
    race_impl,
)
from tests.broken_scaling import GoodLeastConnections, GoodSWRR, ReleaseResetsToZero  # noqa: E402

UNEVEN = (1, 1, 4)


def bars(viz, meta):
    """``{entry name: trace}`` for one chart: meta "share" (left) or "latency" (right)."""
    return {t.name: t for t in viz.figure.data if t.meta == meta}


def capacity(viz):
    return next(t for t in viz.figure.data if t.meta == "capacity")


# The race's own numbers are tested in tests/test_balancing_race.py, without plotly.


# -- the widget ---------------------------------------------------------------------------------


def test_widget_draws_request_shares_capacity_and_percentiles():
    viz = LoadBalancerRace(server_speeds=UNEVEN, load=0.9, seed=0)
    shown, share, latency = viz.numbers(), bars(viz, "share"), bars(viz, "latency")
    assert set(viz.results) == {"round robin", "least connections", "power of two"}
    assert shown["servers"] == ["s0 (1/s)", "s1 (1/s)", "s2 (4/s)"]
    for name, result in viz.results.items():
        assert list(share[name].x) == shown["servers"]
        assert list(share[name].y) == pytest.approx(result.shares)
        assert list(latency[name].x) == ["p50", "p95", "p99"]
        assert list(latency[name].y) == [result.p50, result.p95, result.p99]
    assert list(capacity(viz).y) == pytest.approx([1 / 6, 1 / 6, 4 / 6])
    assert share["weighted round robin"].x == () and latency["weighted round robin"].y == ()
    # One legend entry per raced balancer (the share bars), plus the capacity diamonds.
    assert [t.name for t in viz.figure.data if t.showlegend] == [
        "round robin", "least connections", "power of two", "share of capacity"]
    assert viz.figure.layout.yaxis2.type == "log"
    assert "90% of capacity" in viz.figure.layout.title.text
    assert "least connections" in viz.summary.value and "p99" in viz.summary.value


def test_least_connections_p99_beats_round_robin_in_the_widget():
    viz = LoadBalancerRace(server_speeds=UNEVEN, load=0.9, seed=0)
    p99 = {name: y[2] for name, y in viz.numbers()["latency"].items()}
    assert p99["least connections"] < p99["round robin"] / 5
    assert list(bars(viz, "latency")["least connections"].y)[2] == p99["least connections"]


def test_moving_the_load_slider_reruns_the_race():
    viz = LoadBalancerRace(server_speeds=UNEVEN, load=0.9)
    before = list(bars(viz, "latency")["least connections"].y)
    assert isinstance(viz.controls["load"], ipywidgets.FloatSlider)  # the browser test drags it
    viz.controls["load"].value = 0.5
    after = list(bars(viz, "latency")["least connections"].y)
    assert after != before and after[2] < before[2], "less load, shorter queues"
    assert "50% of capacity" in viz.figure.layout.title.text


def test_typing_speeds_changes_the_servers_and_checkboxes_pick_entries():
    viz = LoadBalancerRace(server_speeds=UNEVEN, load=0.9)
    viz.controls["server_speeds"].value = "2, 2"
    assert list(bars(viz, "share")["round robin"].x) == ["s0 (2/s)", "s1 (2/s)"]
    assert list(capacity(viz).y) == [0.5, 0.5]
    viz.picks["weighted round robin"].value = True
    viz.picks["round robin"].value = False
    assert set(viz.results) == {"weighted round robin", "least connections", "power of two"}
    assert bars(viz, "latency")["round robin"].y == ()
    assert len(bars(viz, "latency")["weighted round robin"].y) == 3
    assert bars(viz, "share")["round robin"].showlegend is False


def test_bad_control_values_show_an_error_and_the_widget_recovers():
    viz = LoadBalancerRace()
    viz.controls["server_speeds"].value = "1, fast"
    assert viz.results is None
    assert "server speeds are comma-separated" in viz.summary.value
    assert all(len(t.y) == 0 for t in viz.figure.data)
    viz.controls["server_speeds"].value = "1, 3"
    assert viz.results is not None and len(bars(viz, "share")["round robin"].y) == 2
    for box in viz.picks.values():
        box.value = False
    assert viz.results is None and "tick at least one" in viz.summary.value


def test_widget_rejects_bad_arguments_naming_them():
    with pytest.raises(ValueError, match="algorithms"):
        LoadBalancerRace(algorithms=["fastest"])
    with pytest.raises(ValueError, match="server_speeds"):
        LoadBalancerRace(server_speeds=[1, -1])
    with pytest.raises(ValueError, match="load"):
        LoadBalancerRace(load=-0.5)
    with pytest.raises(TypeError, match="seed"):
        LoadBalancerRace(seed="zero")
    with pytest.raises(TypeError, match="impl"):
        LoadBalancerRace(impl=42)


def test_widget_displays_as_a_widget_with_the_figure_inside():
    viz = LoadBalancerRace()
    bundle = viz._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"] == "LoadBalancerRace(round robin, least connections, power of two)"
    assert viz.chart in viz.widget.children


# -- the learner's balancer ---------------------------------------------------------------------


def test_a_least_connections_impl_is_raced_as_your_balancer():
    made = []

    class Mine(GoodLeastConnections):
        def __init__(self, servers):
            made.append(servers)
            super().__init__(servers)

    viz = LoadBalancerRace(server_speeds=UNEVEN, load=0.9, impl=Mine)
    assert made == [["s0", "s1", "s2"]]
    mine, real = viz.results[YOURS], viz.results["least connections"]
    # Same contract, same ties to the earliest server: the same picks on the same requests.
    assert (mine.counts, mine.percentiles) == (real.counts, real.percentiles)
    assert mine.note == "" and viz.impl_error == ""
    assert list(bars(viz, "latency")[YOURS].y) == list(mine.percentiles)
    viz.controls["load"].value = 0.6
    assert len(made) == 2 and viz.results[YOURS].p99 < mine.p99


def test_a_next_only_impl_gets_the_weights_and_matches_weighted_round_robin():
    made = []

    class Mine(GoodSWRR):
        def __init__(self, weights):
            made.append(dict(weights))
            super().__init__(weights)

    viz = LoadBalancerRace(["weighted round robin"], server_speeds=(1, 2, 3), impl=Mine)
    assert made == [{"s0": 1, "s1": 2, "s2": 3}]
    assert viz.results[YOURS].counts == viz.results["weighted round robin"].counts


def test_a_broken_impl_shows_its_error_instead_of_raising():
    class Unfinished:
        def __init__(self, servers):
            self.servers = servers

        def acquire(self):
            raise NotImplementedError("write acquire() first")

        def release(self, server):
            pass

    viz = LoadBalancerRace(impl=Unfinished)
    assert "Unfinished raised" in viz.summary.value
    assert "NotImplementedError: write acquire() first" in viz.summary.value
    assert "at request #1, in Unfinished.acquire()" in viz.summary.value
    assert YOURS not in viz.results and bars(viz, "latency")[YOURS].y == ()
    assert len(bars(viz, "latency")["round robin"].y) == 3, "the built-in entries still race"
    viz.controls["load"].value = 0.5  # still alive
    assert "NotImplementedError" in viz.summary.value


@pytest.mark.parametrize(("impl", "message"), [
    (type("Nothing", (), {"__init__": lambda self, servers: None}), "has neither"),
    (type("NoRelease", (), {"__init__": lambda self, servers: None, "acquire": lambda self: "s0"}),
     "no release(server)"),
    (type("Elsewhere", (GoodLeastConnections,), {"acquire": lambda self: "s9"}), "returned 's9'"),
])
def test_impls_that_break_the_contract_are_told_how(impl, message):
    viz = LoadBalancerRace(impl=impl)
    assert message in viz.impl_error and YOURS not in viz.results
    assert html.escape(message) in viz.summary.value
    with pytest.raises((TypeError, ValueError), match=message.split("(")[0]):
        race_impl(impl)


def test_a_release_that_raises_names_the_call():
    # Resetting to 0 on release makes the next release of that server find nothing to give back.
    viz = LoadBalancerRace(impl=ReleaseResetsToZero, load=0.9)
    assert viz.impl_error.startswith("ValueError: s")
    assert "in ReleaseResetsToZero.release(" in viz.impl_error
    assert YOURS not in viz.results


def test_connections_that_are_never_given_back_are_reported():
    class NeverReleases(GoodLeastConnections):
        def release(self, server):
            pass

    viz = LoadBalancerRace(impl=NeverReleases, load=0.9)
    assert viz.impl_error == ""
    assert "active() is not 0" in viz.results[YOURS].note
    assert "active() is not 0" in viz.summary.value
    # ...but it behaves like round robin: a count that only grows ignores speed.
    assert viz.results[YOURS].p99 > 5 * viz.results["least connections"].p99
