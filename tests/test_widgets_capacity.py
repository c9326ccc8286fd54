"""The capacity calculator of lesson 00: its numbers, its redraws, and a learner's impl inside it.

No browser here: these drive the widget object directly (tests/test_browser.py checks rendering).
"""

from __future__ import annotations

import math

import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("plotly")

from highload.capacity import required_servers  # noqa: E402
from highload.widgets import CapacityCalculator  # noqa: E402
from highload.widgets import capacity as module  # noqa: E402
from highload.widgets._panel import PLOTLY_MIME  # noqa: E402
from highload.widgets.capacity import per_day, plan_capacity  # noqa: E402

DAY = 86_400
URL_SHORTENER = {"requests_per_day": 2_000_000_000, "peak_factor": 5, "capacity_per_server": 10_000,
                 "headroom": 0.3}


def _floor_servers(requests_per_day, peak_factor, capacity_per_server, headroom=0.0):
    """A classic wrong answer: rounds the fraction of a server down."""
    return math.floor(requests_per_day / DAY * peak_factor / (capacity_per_server * (1 - headroom)))


def _one_too_many(requests_per_day, peak_factor, capacity_per_server, headroom=0.0):
    return required_servers(requests_per_day, peak_factor, capacity_per_server, headroom) + 1


# -- the numbers ----------------------------------------------------------------------------------


# The plan's own numbers are tested in tests/test_capacity_plan.py, without plotly.


def test_per_day_reads_as_words():
    assert per_day(2_000_000_000) == "2 billion"
    assert per_day(10_000_000) == "10 million"
    assert per_day(86_400) == "86,400"


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"requests_per_day": 0}, ValueError, "requests_per_day"),
        ({"requests_per_day": math.inf}, ValueError, "requests_per_day"),
        ({"requests_per_day": "lots"}, TypeError, "requests_per_day"),
        ({"peak_factor": 0}, ValueError, "peak_factor"),
        ({"peak_factor": True}, TypeError, "peak_factor"),
        ({"capacity_per_server": 0}, ValueError, "capacity_per_server"),
        ({"capacity_per_server": -10}, ValueError, "capacity_per_server"),
        ({"headroom": 1}, ValueError, "headroom"),
        ({"headroom": -0.1}, ValueError, "headroom"),
        ({"impl": 3}, TypeError, "impl"),
    ],
)
def test_bad_arguments_raise_naming_the_parameter_and_value(kwargs, error, name):
    args = {**URL_SHORTENER, **kwargs}
    with pytest.raises(error, match=name) as raised:
        CapacityCalculator(**args)
    assert repr(next(iter(kwargs.values()))) in str(raised.value)
    with pytest.raises(error, match=name):
        plan_capacity(**args)


# -- the widget -----------------------------------------------------------------------------------


def test_widget_shows_average_peak_and_servers():
    calc = CapacityCalculator()
    assert calc.plan == plan_capacity(**URL_SHORTENER)
    text = calc.summary.value
    assert "2 billion requests/day" in text
    assert "<b>23,148</b> req/s" in text and "<b>115,741</b> req/s" in text
    assert "<b>17 servers</b>" in text and "70% busy" in text
    peak_line, average_line, here, bars = calc.figure.data
    assert list(here.x) == [2_000_000_000] and list(here.y) == [17]
    assert list(peak_line.y) == list(calc.plan.curve)
    assert list(average_line.y) == list(calc.plan.average_curve)
    assert list(bars.y) == pytest.approx([23_148.148, 115_740.741, 119_000, 170_000], abs=1e-3)
    assert "⚠" not in text
    assert calc.figure.layout.title.text.endswith("= 17")


def test_moving_a_slider_redraws_the_figure_and_the_readout():
    calc = CapacityCalculator()
    curve_before, text_before = tuple(calc.figure.data[0].y), calc.summary.value
    calc.controls["peak_factor"].value = 10
    assert calc.plan.servers == required_servers(2_000_000_000, 10, 10_000, 0.3) == 34
    assert list(calc.figure.data[2].y) == [34]
    assert tuple(calc.figure.data[0].y) != curve_before
    assert calc.summary.value != text_before and "<b>34 servers</b>" in calc.summary.value
    assert tuple(calc.figure.data[1].y) == calc.plan.average_curve  # the average ignores the peak

    calc.controls["headroom"].value = 0.0
    assert calc.plan.servers == 24  # 231,481 / 10,000 = 23.1 -> 24
    assert calc.figure.data[3].y[2] == pytest.approx(calc.figure.data[3].y[3])  # usable = flat out

    calc.controls["requests_per_day"].value = 1e9
    assert list(calc.figure.data[2].x) == [1e9]
    assert 1e9 in calc.figure.data[0].x and 2e9 not in calc.figure.data[0].x


def test_float_noise_from_a_slider_does_not_add_a_server():
    # 6,500 req/s on 1,000 req/s servers kept 35% free is exactly 10 servers.
    calc = CapacityCalculator(requests_per_day=DAY * 6_500, peak_factor=1, capacity_per_server=1_000,
                              headroom=0.3)
    calc.controls["headroom"].value = 0.35000000000000003  # what a browser slider can send
    assert calc.plan.headroom == 0.35
    assert calc.plan.servers == 10


def test_widget_drives_the_given_impl():
    calls = []

    def counting(requests_per_day, peak_factor, capacity_per_server, headroom=0.0):
        calls.append((requests_per_day, peak_factor, capacity_per_server, headroom))
        return required_servers(requests_per_day, peak_factor, capacity_per_server, headroom)

    calc = CapacityCalculator(impl=counting)
    n = len(calc.plan.traffic)
    assert len(calls) == 2 + 2 * n  # the point, sized for the average, and both curves
    assert (2_000_000_000, 5, 10_000, 0.3) in calls
    assert "<b>counting</b>" in calc.summary.value
    calc.controls["capacity_per_server"].value = 5_000
    assert len(calls) == 2 * (2 + 2 * n)
    assert calls[-1][2] == 5_000 and calc.plan.servers == 34


def test_a_learners_wrong_count_is_drawn_and_flagged():
    short = CapacityCalculator(impl=_floor_servers)
    assert short.plan.servers == 16
    assert list(short.figure.data[2].y) == [16]
    assert "short of the 115,741 req/s peak" in short.summary.value
    assert short.figure.data[3].marker.color[2] == module.SHORT

    extra = CapacityCalculator(impl=_one_too_many)
    assert extra.plan.servers == 18
    assert "17 servers would already serve" in extra.summary.value


def test_a_broken_impl_shows_its_error_instead_of_raising():
    def unfinished(requests_per_day, peak_factor, capacity_per_server, headroom=0.0):
        raise NotImplementedError("write required_servers first")

    calc = CapacityCalculator(impl=unfinished)
    assert calc.plan is None
    assert "unfinished raised" in calc.summary.value
    assert "NotImplementedError: write required_servers first" in calc.summary.value
    assert all(len(trace.y) == 0 for trace in calc.figure.data)
    calc.controls["peak_factor"].value = 8  # still alive
    assert "NotImplementedError" in calc.summary.value and calc.plan is None


def test_an_impl_that_returns_a_float_is_reported():
    calc = CapacityCalculator(impl=lambda r, p, c, h=0.0: r / DAY * p / (c * (1 - h)))
    assert calc.plan is None
    assert "TypeError" in calc.summary.value and "must return an int" in calc.summary.value


def test_a_fixed_impl_recovers_after_an_error():
    broken = {"on": True}

    def flaky(requests_per_day, peak_factor, capacity_per_server, headroom=0.0):
        if broken["on"]:
            raise ZeroDivisionError("division by zero")
        return required_servers(requests_per_day, peak_factor, capacity_per_server, headroom)

    calc = CapacityCalculator(impl=flaky)
    assert "ZeroDivisionError" in calc.summary.value
    broken["on"] = False
    calc.controls["peak_factor"].value = 5.5
    assert calc.plan is not None and "raised" not in calc.summary.value
    assert len(calc.figure.data[0].y) == len(calc.plan.traffic)


@pytest.mark.parametrize(
    "args",
    [(5e11, 30, 50, 0.95), (5e4, 0.5, 2e5, 0.0)],
    ids=["above the slider ranges", "below the slider ranges"],
)
def test_sliders_cover_values_outside_their_default_ranges(args):
    calc = CapacityCalculator(*args)
    assert tuple(calc.settings().values()) == pytest.approx(args)
    assert calc.plan.servers == required_servers(*args)


def test_widget_displays_with_the_figure_inside():
    calc = CapacityCalculator()
    bundle = calc._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"] == "CapacityCalculator(required_servers)"
    assert calc.chart in calc.widget.children and calc.summary in calc.widget.children
    assert set(calc.controls) == {"requests_per_day", "peak_factor", "capacity_per_server", "headroom"}


def test_no_redraw_resets_the_your_traffic_marker_colour():
    """The chart the learner sees keeps "your traffic" orange from the first draw on, and the
    bars take their own colours."""
    calc = CapacityCalculator(**URL_SHORTENER)
    shown = []
    for peak in (5.0, 7.5, 2.0):
        calc.controls["peak_factor"].value = peak
        shown.append(calc.chart.outputs[0]["data"][PLOTLY_MIME]["data"])
    for traces in shown:
        by_name = {trace["name"]: trace for trace in traces}
        assert by_name["your traffic"]["marker"]["color"] == module.PEAK
        assert len(by_name["req/s"]["marker"]["color"]) == 4
