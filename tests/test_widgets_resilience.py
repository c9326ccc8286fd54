"""Lesson 09's widgets: the breaker timeline and the retry storm, driven directly (no browser)."""

from __future__ import annotations

import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("plotly")

from highload.clock import ManualClock  # noqa: E402
from highload.lab.openresty_breaker import OpenRestyBreaker  # noqa: E402
from highload.resilience import CircuitBreaker  # noqa: E402
from highload.widgets import BreakerTimeline, RetryStorm  # noqa: E402
from highload.widgets.resilience import (  # noqa: E402
    SCHEDULES,
    failure_rate_at,
    parse_schedule,
    retry_storm,
    simulate_breaker,
)
from highload.widgets.resilience.timeline import REJECT_LATENCY  # noqa: E402

OUTAGE = [(0, 0), (10, 1), (20, 0)]  # down from t = 10 to t = 20
SETTINGS = {"failure_threshold": 3, "success_threshold": 2, "open_timeout": 5, "half_open_max_calls": 1}


def traces(viz):
    return {t.name: t for t in viz.figure.data}


# -- schedules ----------------------------------------------------------------------------------


def test_parse_schedule_accepts_presets_text_and_pairs():
    assert parse_schedule("outage 20-35 s") == SCHEDULES["outage 20-35 s"]
    assert parse_schedule("20:1, 0:0; 35:50%") == ((0, 0), (20, 1), (35, 0.5))
    assert parse_schedule([(5, 0.25)]) == ((5.0, 0.25),)


@pytest.mark.parametrize("bad", ["", "20", "20:x", "20:1.5", "-1:0", [(0, 2)], [(0,)]])
def test_parse_schedule_rejects_bad_steps_saying_what_it_wants(bad):
    with pytest.raises(ValueError, match="schedule"):
        parse_schedule(bad)


def test_failure_rate_holds_until_the_next_step_and_is_zero_before_the_first():
    steps = parse_schedule("5:1, 10:0.5")
    assert [failure_rate_at(steps, t) for t in (0, 4.99, 5, 9.99, 10, 99)] == [0, 0, 1, 1, 0.5, 0.5]


# -- the simulation -----------------------------------------------------------------------------


def test_bands_follow_the_real_breakers_transitions():
    # 4 calls/s: every time is a multiple of 0.25, exact in binary, so no rounding decides a boundary.
    run = simulate_breaker(schedule=OUTAGE, duration=30, rate=4, **SETTINGS)
    # failures at 10, 10.25, 10.5 -> open at 10.5; the trial at 15.5 fails -> open again;
    # the trial at 20.5 succeeds, the call at 20.75 too -> closed.
    assert run.transitions == (
        (10.5, "closed", "open"), (15.5, "open", "half_open"), (15.5, "half_open", "open"),
        (20.5, "open", "half_open"), (20.75, "half_open", "closed"),
    )
    assert run.bands == ((0, 10.5, "closed"), (10.5, 20.5, "open"), (20.5, 20.75, "half_open"),
                         (20.75, 30, "closed"))
    assert run.opened == 2

    # The same calls, by hand, through a CircuitBreaker on a ManualClock.
    def downstream(down):
        if down:
            raise OSError("down")

    clock = ManualClock()
    breaker = CircuitBreaker(**SETTINGS, clock=clock)
    states = []
    for t, down in zip(run.times, run.down, strict=True):
        clock.set(t)
        try:
            breaker.call(downstream, down)
        except Exception:
            pass
        states.append(breaker.state)
        assert run.state_at(t) == states[-1], f"the band at t={t} shows the breaker's state after the call"
    assert tuple(states) == run.states


def test_outcomes_and_latencies_tell_success_failure_and_rejection_apart():
    run = simulate_breaker(schedule=OUTAGE, duration=30, rate=4, call_timeout=3, **SETTINGS)
    assert run.outcomes[:40] == ("success",) * 40
    assert run.outcomes[40:43] == ("failure",) * 3
    assert run.outcomes[43] == "rejected"
    assert len(run.times) == 120 and run.successes + run.failures + run.rejections == 120
    for outcome, latency in zip(run.outcomes, run.latencies, strict=True):
        if outcome == "failure":
            assert latency == 3
        elif outcome == "rejected":
            assert latency == REJECT_LATENCY
        else:
            assert 0.03 <= latency <= 0.08
    assert run.worker_seconds < run.worker_seconds_unprotected
    assert sum(run.down) == 40  # 10 s down at 4 calls/s, whatever the breaker did


def test_the_same_seed_gives_the_same_run_and_the_downstream_ignores_the_breaker():
    noisy = {"schedule": "10% errors", "duration": 30}
    a = simulate_breaker(seed=3, **noisy)
    assert a == simulate_breaker(seed=3, **noisy)
    assert a.down != simulate_breaker(seed=4, **noisy).down
    strict = simulate_breaker(seed=3, failure_threshold=1, **noisy)
    assert strict.down == a.down, "the downstream's failures are drawn for every call"
    assert strict.rejections > a.rejections


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
    assert viz.figure in viz.widget.children
    assert set(viz.controls) >= {"failure_threshold", "success_threshold", "open_timeout",
                                 "half_open_max_calls", "schedule"}


# -- retry storms -------------------------------------------------------------------------------


def test_no_jitter_floods_the_recovered_server_and_jitter_spreads_the_load():
    runs = retry_storm(clients=100, failure_until=10, capacity=20, seed=0)
    none, full, deco = runs["no jitter"], runs["full jitter"], runs["decorrelated jitter"]
    assert none.peak_after_recovery == 100, "every client retries in the same bucket"
    assert full.peak_after_recovery < 20 and deco.peak_after_recovery < 20
    assert none.peak_after_recovery > full.peak_after_recovery
    assert full.succeeded == 100 and none.succeeded < 100
    assert full.last_success < none.last_success


def test_storm_totals_are_conserved():
    for run in retry_storm(clients=57, capacity=7, seed=5).values():
        assert run.clients == 57
        assert run.requests == sum(run.load)
        assert sum(run.served) == run.succeeded
        assert all(s <= 7 for s in run.served), "the server never serves more than its capacity"
        assert all(s == 0 for i, s in enumerate(run.served) if i * run.bucket < 10)
        failed_requests = run.requests - run.succeeded
        assert failed_requests >= run.gave_up


def test_storm_is_deterministic_per_seed():
    assert retry_storm(seed=1) == retry_storm(seed=1)
    assert retry_storm(seed=1)["full jitter"] != retry_storm(seed=2)["full jitter"]
    assert retry_storm(seed=1)["no jitter"].load == retry_storm(seed=1)["no jitter"].load


@pytest.mark.parametrize(("kwargs", "name"), [({"clients": 0}, "clients"), ({"strategies": ["lucky"]}, "strategies"),
                                              ({"duration": 0}, "duration"), ({"failure_until": -1}, "failure_until")])
def test_storm_rejects_bad_arguments_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=name):
        retry_storm(**kwargs)


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
    assert viz.figure in viz.widget.children
    assert "application/vnd.jupyter.widget-view+json" in viz._repr_mimebundle_()
