"""Lesson 00's capacity plan (highload.capacity_plan), without plotly: the numbers the
CapacityCalculator draws, a learner's impl, and argument errors."""

from __future__ import annotations

import math

import pytest

from highload import capacity_plan as module
from highload.capacity import required_servers
from highload.capacity_plan import plan_capacity, traffic_grid

DAY = 86_400
URL_SHORTENER = {"requests_per_day": 2_000_000_000, "peak_factor": 5, "capacity_per_server": 10_000,
                 "headroom": 0.3}


def test_plan_for_the_url_shortener():
    plan = plan_capacity(**URL_SHORTENER)
    assert plan.average_rps == pytest.approx(23_148.148, abs=1e-3)
    assert plan.peak_rps == pytest.approx(115_740.741, abs=1e-3)
    assert plan.servers == 17  # 115,741 / 7,000 = 16.5 -> 17
    assert plan.servers_for_average == 3  # 23,148 / 10,000 = 2.3 -> 3
    assert plan.usable_rps == pytest.approx(17 * 7_000)
    assert plan.fleet_rps == pytest.approx(170_000)
    assert plan.peak_utilisation == pytest.approx(115_740.741 / 170_000)


def test_curves_are_the_impls_answers_across_the_traffic_range():
    plan = plan_capacity(**URL_SHORTENER)
    assert plan.traffic == tuple(sorted(plan.traffic))
    assert plan.traffic[0] == 1e6 and plan.traffic[-1] == pytest.approx(1e11)
    assert 2_000_000_000 in plan.traffic  # the marker sits on the line
    assert plan.curve == tuple(required_servers(t, 5, 10_000, 0.3) for t in plan.traffic)
    assert plan.average_curve == tuple(required_servers(t, 1, 10_000) for t in plan.traffic)
    assert all(a <= b for a, b in zip(plan.curve, plan.curve[1:], strict=False))
    assert all(avg <= peak for avg, peak in zip(plan.average_curve, plan.curve, strict=True))
    assert plan.curve[0] == 1 and plan.curve[-1] == required_servers(1e11, 5, 10_000, 0.3)


def test_traffic_grid_spans_decades_and_takes_extra_points():
    grid = traffic_grid(1e6, 1e8, extra=[3e6])
    assert len(grid) == 2 * module.POINTS_PER_DECADE + 2
    assert grid[0] == 1e6 and grid[-1] == pytest.approx(1e8)
    assert 3e6 in grid and grid == tuple(sorted(grid))
    with pytest.raises(ValueError, match="high"):
        traffic_grid(1e8, 1e6)


def test_the_plan_is_the_impls_answer_even_when_it_is_wrong():
    def floor_servers(requests_per_day, peak_factor, capacity_per_server, headroom=0.0):
        return math.floor(requests_per_day / DAY * peak_factor / (capacity_per_server * (1 - headroom)))

    plan = plan_capacity(**URL_SHORTENER, impl=floor_servers)
    assert plan.servers == 16 and plan.servers_for_average == 2
    assert plan.curve == tuple(floor_servers(t, 5, 10_000, 0.3) for t in plan.traffic)


def test_an_impl_that_returns_a_float_is_refused():
    with pytest.raises(TypeError, match="must return an int number of servers"):
        plan_capacity(**URL_SHORTENER, impl=lambda r, p, c, h=0.0: r / DAY * p / (c * (1 - h)))


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"requests_per_day": 0}, ValueError, "requests_per_day"),
        ({"requests_per_day": math.inf}, ValueError, "requests_per_day"),
        ({"requests_per_day": "lots"}, TypeError, "requests_per_day"),
        ({"peak_factor": 0}, ValueError, "peak_factor"),
        ({"peak_factor": True}, TypeError, "peak_factor"),
        ({"capacity_per_server": 0}, ValueError, "capacity_per_server"),
        ({"headroom": 1}, ValueError, "headroom"),
        ({"headroom": -0.1}, ValueError, "headroom"),
        ({"impl": 3}, TypeError, "impl"),
        ({"traffic": [1e6, 0]}, ValueError, "traffic"),
    ],
)
def test_plan_capacity_rejects_bad_arguments_naming_them(kwargs, error, name):
    with pytest.raises(error, match=name):
        plan_capacity(**{**URL_SHORTENER, **kwargs})
