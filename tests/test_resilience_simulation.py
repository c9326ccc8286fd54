"""Lesson 09's simulations (highload.resilience.simulation), without plotly: failure schedules,
calls replayed through a real breaker, and retry storms with and without jitter."""

from __future__ import annotations

import pytest

from highload.clock import ManualClock
from highload.resilience import CircuitBreaker
from highload.resilience.simulation import (
    REJECT_LATENCY,
    SCHEDULES,
    failure_rate_at,
    parse_schedule,
    retry_storm,
    simulate_breaker,
)

OUTAGE = [(0, 0), (10, 1), (20, 0)]  # down from t = 10 to t = 20
SETTINGS = {"failure_threshold": 3, "success_threshold": 2, "open_timeout": 5, "half_open_max_calls": 1}


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
