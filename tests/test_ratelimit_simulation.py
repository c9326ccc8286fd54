"""Lesson 08's rate-limit replays (highload.ratelimit.simulation), without plotly: traffic shapes,
replays through a real token bucket, and per-request decisions of any limiter."""

from __future__ import annotations

import pytest

from highload.ratelimit import RateLimiter, TokenBucket, TokenBucketPolicy
from highload.ratelimit.simulation import BURST_SPACING, decisions, replay, traffic

# -- traffic ------------------------------------------------------------------------------------


def test_steady_traffic_is_evenly_spaced_at_rate():
    times = traffic("steady", duration=10, rate=4)
    assert len(times) == 40
    assert times[0] == 0.0
    assert all(b - a == pytest.approx(0.25) for a, b in zip(times, times[1:], strict=False))
    assert times[-1] < 10


def test_bursty_traffic_sends_burst_every_period():
    times = traffic("bursty", duration=30, burst=5, period=10)
    assert len(times) == 15
    assert times[:5] == pytest.approx([0, 0.05, 0.10, 0.15, 0.20])
    assert times[5] == pytest.approx(10.0)
    assert times[10] == pytest.approx(20.0)
    assert times[1] - times[0] == pytest.approx(BURST_SPACING)


def test_random_traffic_is_deterministic_per_seed_and_near_rate():
    a = traffic("random", duration=1000, rate=2, seed=7)
    assert a == traffic("random", duration=1000, rate=2, seed=7)
    assert a != traffic("random", duration=1000, rate=2, seed=8)
    assert a == sorted(a) and 0 < a[0] and a[-1] < 1000
    assert 1800 < len(a) < 2200  # Poisson mean 2000, sd ~45: fixed seed, so never flaky


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"pattern": "spiky"}, "pattern"),
        ({"pattern": "steady", "duration": 0}, "duration"),
        ({"pattern": "steady", "rate": -1}, "rate"),
        ({"pattern": "bursty", "burst": 0}, "burst"),
        ({"pattern": "bursty", "period": 0}, "period"),
    ],
)
def test_traffic_rejects_bad_arguments_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=name):
        traffic(**kwargs)


# -- replay -------------------------------------------------------------------------------------


def test_replay_admits_exactly_capacity_of_a_simultaneous_burst():
    trace = replay(TokenBucket, [1.0] * 5, capacity=3, refill_rate=0, until=3)
    assert trace.allowed == (True, True, True, False, False)
    assert (trace.admitted, trace.rejected) == (3, 2)
    assert max(trace.levels) <= 3 and min(trace.levels) >= 0
    assert trace.levels[-1] == 0  # no refill: nothing comes back
    assert trace.request_levels == (3, 2, 1, 0, 0)


def test_replay_level_is_a_sawtooth_that_refills_between_requests():
    trace = replay(TokenBucket, [0, 0, 5], capacity=2, refill_rate=0.5, step=0.5)
    assert trace.allowed == (True, True, True)
    assert trace.sample_times == tuple(sorted(trace.sample_times))
    level_at = dict(zip(trace.sample_times, trace.levels, strict=False))
    assert level_at[2.0] == pytest.approx(1.0)  # refilled at 0.5 token/s after the burst
    assert trace.request_levels[2] == pytest.approx(2.0)  # full again by t = 5, not more
    assert all(0 <= v <= 2 for v in trace.levels)


def test_replay_rejects_bad_arguments_naming_them():
    with pytest.raises(ValueError, match="times"):
        replay(TokenBucket, [-1], capacity=1, refill_rate=1)
    with pytest.raises(ValueError, match="step"):
        replay(TokenBucket, [1], capacity=1, refill_rate=1, step=0)


# -- decisions ----------------------------------------------------------------------------------


def test_decisions_match_a_hand_run_and_accept_keyed_limiters():
    times = [0, 0, 0, 0.5, 1]
    single = decisions(lambda clock: TokenBucket(2, 1, clock=clock), times)
    keyed = decisions(lambda clock: RateLimiter(TokenBucketPolicy(2, 1), clock=clock), times)
    assert single == keyed == [True, True, False, False, True]
