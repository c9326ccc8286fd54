"""Lesson 01's balancer race (highload.balancing.race), without plotly: the numbers the
LoadBalancerRace draws, the learner's balancer, and argument errors."""

from __future__ import annotations

import pytest

pytest.importorskip("simpy")

from highload.balancing import LeastConnections, RoundRobin, simulate  # noqa: E402
from highload.balancing.race import (  # noqa: E402
    ALGORITHMS,
    YOURS,
    parse_speeds,
    race,
    race_impl,
    weights_for,
)
from tests.broken_scaling import GoodLeastConnections, ReleaseResetsToZero  # noqa: E402

UNEVEN = (1, 1, 4)


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


# -- the learner's balancer ---------------------------------------------------------------------


def test_a_learners_least_connections_makes_the_same_picks_as_the_real_one():
    mine = race_impl(GoodLeastConnections, UNEVEN, 0.9, requests=400)
    real = race(["least connections"], UNEVEN, 0.9, requests=400)["least connections"]
    assert (mine.name, mine.counts, mine.percentiles, mine.note) == (YOURS, real.counts, real.percentiles, "")


def test_an_impl_error_propagates_with_a_note_saying_which_call_failed():
    with pytest.raises(ValueError) as info:
        race_impl(ReleaseResetsToZero, UNEVEN, 0.9, requests=400)
    assert any("in ReleaseResetsToZero.release(" in note for note in info.value.__notes__)


def test_connections_never_given_back_are_noted_not_raised():
    class NeverReleases(GoodLeastConnections):
        def release(self, server):
            pass

    assert "active() is not 0" in race_impl(NeverReleases, UNEVEN, 0.9, requests=400).note


def test_race_accepts_the_real_class_and_impl_together():
    results = race(["least connections"], UNEVEN, 0.9, impl=LeastConnections, requests=400)
    assert results[YOURS].counts == results["least connections"].counts
