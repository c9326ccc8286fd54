"""Lesson 01's LoadBalancerRace, driven directly (no browser): the race, the charts, impl=, errors."""

from __future__ import annotations

import html

import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("plotly")
pytest.importorskip("simpy")

import ipywidgets  # noqa: E402

from highload.balancing import LeastConnections, RoundRobin, simulate  # noqa: E402
from highload.widgets import LoadBalancerRace  # noqa: E402
from highload.widgets.balancing import (  # noqa: E402
    ALGORITHMS,
    YOURS,
    parse_speeds,
    race,
    race_impl,
    weights_for,
)
from tests.broken_scaling import GoodLeastConnections, GoodSWRR, ReleaseResetsToZero  # noqa: E402

UNEVEN = (1, 1, 4)


def bars(viz, meta):
    """``{entry name: trace}`` for one chart: meta "share" (left) or "latency" (right)."""
    return {t.name: t for t in viz.figure.data if t.meta == meta}


def capacity(viz):
    return next(t for t in viz.figure.data if t.meta == "capacity")


# -- the race -----------------------------------------------------------------------------------


def test_least_connections_and_p2c_beat_round_robin_on_uneven_servers_at_high_load():
    results = race(("round robin", "least connections", "power of two"), UNEVEN, load=0.9, seed=0)
    rr, lc, p2c = results["round robin"], results["least connections"], results["power of two"]
    # Round robin sends each slow server 1.8 req/s; it can serve 1: its queue grows all run long.
    assert lc.p99 < rr.p99 / 5
    assert p2c.p99 < rr.p99 / 5
    assert max(rr.counts) - min(rr.counts) <= 1, "round robin splits evenly, whatever the speeds"
    assert lc.counts[2] > lc.counts[0] + lc.counts[1], "least connections sends the fast server the most"


def test_every_entry_faces_the_same_requests_and_the_seed_fixes_the_numbers():
    results = race(ALGORITHMS, UNEVEN, load=0.7, requests=500, seed=3)
    assert len({r.requests for r in results.values()}) == 1
    assert results == race(ALGORITHMS, UNEVEN, load=0.7, requests=500, seed=3)
    assert results["least connections"] != race(["least connections"], UNEVEN, 0.7, requests=500,
                                                seed=4)["least connections"]


def test_the_race_is_the_package_simulation_at_load_times_capacity():
    result = race(["round robin"], (2, 2), load=0.5, requests=300, seed=5)["round robin"]
    direct = simulate(RoundRobin, (2, 2), arrival_rate=2.0, duration=150, seed=5)
    assert result.counts == (direct.counts["s0"], direct.counts["s1"])
    assert result.percentiles == (direct.p50, direct.p95, direct.p99)
    assert sum(result.shares) == pytest.approx(1)


def test_weighted_round_robin_uses_weights_proportional_to_speed():
    assert weights_for([1, 1, 4]) == {"s0": 1, "s1": 1, "s2": 4}
    assert weights_for([0.5, 1.5]) == {"s0": 1, "s1": 3}
    assert weights_for([3, 3]) == {"s0": 1, "s1": 1}
    wrr = race(["weighted round robin"], UNEVEN, load=0.9, requests=600)["weighted round robin"]
    assert wrr.counts[2] == pytest.approx(4 * wrr.counts[0], abs=4)


def test_parse_speeds_reads_comma_separated_numbers_and_says_what_it_wants():
    assert parse_speeds("1, 1,4 ; 2.5") == (1, 1, 4, 2.5)
    for bad in ("", "1, fast", "1, 0", "-2", ", ".join(["1"] * 13)):
        with pytest.raises(ValueError, match="server speeds are comma-separated"):
            parse_speeds(bad)


@pytest.mark.parametrize(("kwargs", "error", "name"), [
    ({"algorithms": ["random"]}, ValueError, "algorithms"),
    ({"algorithms": []}, ValueError, "algorithms"),
    ({"server_speeds": []}, ValueError, "server_speeds"),
    ({"server_speeds": [1, 0]}, ValueError, "server_speeds"),
    ({"server_speeds": [1, float("inf")]}, ValueError, "server_speeds"),
    ({"server_speeds": "1, 1, 4"}, TypeError, "server_speeds"),
    ({"server_speeds": [1, "4"]}, TypeError, "server_speeds"),
    ({"load": 0}, ValueError, "load"),
    ({"load": "high"}, TypeError, "load"),
    ({"seed": 1.5}, TypeError, "seed"),
    ({"requests": 5}, ValueError, "requests"),
])
def test_race_rejects_bad_arguments_naming_them(kwargs, error, name):
    with pytest.raises(error, match=name):
        race(**kwargs)


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
    assert viz.figure in viz.widget.children


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


def test_race_accepts_the_real_class_and_impl_together():
    results = race(["least connections"], UNEVEN, 0.9, impl=LeastConnections, requests=400)
    assert results[YOURS].counts == results["least connections"].counts
