"""Lesson 09's widgets: the breaker timeline and the retry storm, driven directly (no browser)."""

from __future__ import annotations

import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("plotly")

from highload.clock import ManualClock  # noqa: E402
from highload.lab.openresty_breaker import OpenRestyBreaker  # noqa: E402
from highload.resilience import CircuitBreaker  # noqa: E402
from highload.widgets import BreakerTimeline, RetryStorm  # noqa: E402

OUTAGE = [(0, 0), (10, 1), (20, 0)]  # down from t = 10 to t = 20
SETTINGS = {"failure_threshold": 3, "success_threshold": 2, "open_timeout": 5, "half_open_max_calls": 1}


def traces(viz):
    return {t.name: t for t in viz.figure.data}


# The simulations' own numbers are tested in tests/test_resilience_simulation.py, without plotly.


# -- the timeline widget ------------------------------------------------------------------------


def test_timeline_draws_state_bands_and_markers_from_the_run():
    viz = BreakerTimeline(schedule=OUTAGE, duration=30, rate=4, **SETTINGS)
    t = traces(viz)
    run = viz.run
    assert len(t["success"].x) == run.successes
    assert len(t["failure (timed out)"].x) == run.failures
    assert len(t["rejected (fail fast)"].x) == run.rejections
    open_band = [x for x in t["open"].x if x is not None]
    assert min(open_band) == 10.5 and max(open_band) == 20.5
    assert [x for x in t["half-open"].x if x is not None] == [20.5, 20.75, 20.75, 20.5, 20.5]
    assert "<b>CircuitBreaker</b>" in viz.summary.value
    assert f"{run.rejections} rejected" in viz.summary.value
    assert viz.controls["schedule"].value == "custom" and viz.controls["custom"].value == "0:0, 10:1, 20:0"


def test_moving_a_slider_replays_and_changes_the_figure():
    viz = BreakerTimeline(schedule=OUTAGE, duration=30, rate=4, **SETTINGS)
    before = traces(viz)["rejected (fail fast)"].x
    viz.controls["open_timeout"].value = 1.0  # probe every second: fewer rejections
    after = traces(viz)["rejected (fail fast)"].x
    assert len(after) < len(before)
    assert viz.run.opened > 2
    assert "open_timeout=1" in viz.figure.layout.title.text


def test_schedule_controls_drive_the_downstream():
    viz = BreakerTimeline(schedule="outage 20-35 s")
    assert viz.run.outcomes.count("failure") + viz.run.rejections > 0
    viz.controls["custom"].value = "0:0"
    assert viz.controls["schedule"].value == "custom"
    assert viz.run.outcomes == ("success",) * 300
    assert [x for x in traces(viz)["open"].x if x is not None] == []
    viz.controls["custom"].value = "0:maybe"
    assert "maybe" in viz.summary.value and viz.run is None


def test_timeline_drives_the_given_impl():
    made = []

    class Counting(CircuitBreaker):
        def __init__(self, **kwargs):
            made.append(kwargs)
            super().__init__(**kwargs)

    viz = BreakerTimeline(Counting, failure_threshold=7)
    assert made[-1]["failure_threshold"] == 7 and isinstance(made[-1]["clock"], ManualClock)
    assert "Counting" in viz.summary.value
    viz.controls["success_threshold"].value = 4
    assert len(made) == 2 and made[-1]["success_threshold"] == 4


def test_timeline_shows_the_openresty_breaker_stuck_half_open():
    viz = BreakerTimeline(OpenRestyBreaker, failure_threshold=3, success_threshold=5,
                          half_open_max_calls=2)
    run = viz.run
    assert run.bands[-1][2] == "half_open" and run.bands[-1][1] == 60
    assert run.outcomes[-50:] == ("rejected",) * 50, "the downstream is long healthy, yet every call is refused"
    assert BreakerTimeline(failure_threshold=3, success_threshold=5, half_open_max_calls=2).run.bands[-1][2] \
        == "closed"


def test_a_broken_impl_shows_its_error_instead_of_raising():
    class Unfinished:
        def __init__(self, failure_threshold=5, success_threshold=2, open_timeout=30.0,
                     half_open_max_calls=1, clock=None):
            self.state = "closed"

        def call(self, fn, *args, **kwargs):
            raise NotImplementedError("write call() first")

    viz = BreakerTimeline(Unfinished)
    assert "NotImplementedError" in viz.summary.value and "write call() first" in viz.summary.value
    assert "t=0 s" in viz.summary.value
    assert viz.run is None and all(len(t.x) == 0 for t in viz.figure.data)
    viz.controls["failure_threshold"].value = 2  # still alive
    assert "NotImplementedError" in viz.summary.value


def test_rejecting_with_another_exception_or_a_bad_state_is_reported():
    class WrongError(CircuitBreaker):
        def call(self, fn, *args, **kwargs):
            if self.state == "open":
                raise RuntimeError("circuit open")
            return super().call(fn, *args, **kwargs)

    viz = BreakerTimeline(WrongError)
    assert "RuntimeError: circuit open" in viz.summary.value

    class Shouting(CircuitBreaker):
        @property
        def state(self):
            return "CLOSED-ISH"

    assert ".state must be one of" in BreakerTimeline(Shouting).summary.value


def test_timeline_displays_as_a_widget_with_the_figure_inside():
    viz = BreakerTimeline()
    assert "application/vnd.jupyter.widget-view+json" in viz._repr_mimebundle_()
    assert viz.chart in viz.widget.children
    assert set(viz.controls) >= {"failure_threshold", "success_threshold", "open_timeout",
                                 "half_open_max_calls", "schedule"}


# -- the retry storm widget ----------------------------------------------------------------------


def test_retry_storm_widget_redraws_when_a_slider_moves():
    viz = RetryStorm(clients=100, seed=0)
    lines = traces(viz)
    assert set(lines) == {"no jitter", "full jitter", "decorrelated jitter", "server capacity", "server back"}
    assert max(lines["no jitter"].y) == 100
    assert sum(lines["full jitter"].y[:-1]) == viz.runs["full jitter"].requests
    assert list(lines["server capacity"].y) == [20, 20]
    viz.controls["clients"].value = 200
    assert max(traces(viz)["no jitter"].y) == 200
    viz.controls["capacity"].value = 50
    assert list(traces(viz)["server capacity"].y) == [50, 50]
    assert "peak after recovery" in viz.summary.value
    assert viz.chart in viz.widget.children
    assert "application/vnd.jupyter.widget-view+json" in viz._repr_mimebundle_()
