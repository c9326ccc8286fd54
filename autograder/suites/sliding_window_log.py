"""Hidden suite: SlidingWindowLog(limit, window, clock) — one test per clause of the contract.

A request at t counts for times in (t - window, t]. Times move in steps of 0.25.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograder.suites._support import GRADING, Clock

pytestmark = pytest.mark.group("sliding_window")


def make(target, limit=2, window=4, start=1000.0):
    clock = Clock(start)
    return target(limit, window, clock=clock), clock


def test_admits_up_to_limit_then_rejects(target):
    log, _ = make(target, limit=3)
    assert [log.allow() for _ in range(4)] == [True, True, True, False], \
        "limit 3 admits exactly 3 requests in one window"


def test_allow_returns_a_plain_bool(target):
    log, _ = make(target, limit=1)
    assert type(log.allow()) is bool and type(log.allow()) is bool, "allow() must return True or False"


def test_request_stops_counting_exactly_one_window_later(target):
    log, clock = make(target, limit=1, window=4)
    assert log.allow()
    clock.advance(4)
    assert log.allow() is True, "a request at t counts only for (t - window, t]: at t + window it is gone"


def test_request_still_counts_just_before_the_window_ends(target):
    log, clock = make(target, limit=1, window=4)
    assert log.allow()
    clock.advance(3.75)
    assert log.allow() is False, "at t + window - 0.25 the request still counts"


def test_window_slides_instead_of_resetting(target):
    log, clock = make(target, limit=2, window=4, start=3.5)
    assert log.allow() and log.allow()
    clock.now = 4.25
    assert log.allow() is False, "a fixed window would reset at t=4; a sliding one still counts 3.5"
    clock.now = 7.5
    assert log.allow() is True, "at 7.5 both requests from 3.5 have left the window"


def test_rejected_requests_are_not_recorded(target):
    log, clock = make(target, limit=2, window=4, start=0.0)
    assert log.allow()  # t = 0
    clock.now = 1.0
    assert log.allow()  # t = 1
    clock.now = 2.0
    assert log.allow() is False
    clock.now = 4.0
    assert log.allow() is True, "t=0 left at 4; had the rejected t=2 been recorded, this would fail"
    assert log.allow() is False, "t=1 and t=4 now fill the limit"


def test_oldest_requests_leave_one_by_one(target):
    log, clock = make(target, limit=2, window=4, start=0.0)
    assert log.allow()
    clock.now = 2.0
    assert log.allow()
    clock.now = 4.0
    assert log.allow() is True, "t=0 has left"
    assert log.allow() is False, "t=2 and t=4 still count"
    clock.now = 6.0
    assert log.allow() is True, "t=2 has left"


def test_retry_after_is_zero_when_allowed_now(target):
    log, _ = make(target, limit=2)
    assert log.retry_after() == 0.0


def test_retry_after_is_time_until_oldest_leaves(target):
    log, clock = make(target, limit=2, window=4, start=0.0)
    assert log.allow()
    clock.now = 1.0
    assert log.allow()
    clock.now = 2.0
    assert log.retry_after() == 2.0, "the oldest (t=0) leaves at 4: 2.0 s from t=2"
    clock.now = 3.75
    assert log.retry_after() == 0.25


def test_waiting_retry_after_then_allows(target):
    log, clock = make(target, limit=3, window=8, start=0.5)
    for _ in range(3):
        assert log.allow()
        clock.advance(0.25)
    wait = log.retry_after()
    assert wait == 7.25
    clock.advance(wait)
    assert log.allow() is True, "after waiting retry_after() a request must pass"


def test_retry_after_records_nothing(target):
    log, _ = make(target, limit=2)
    for _ in range(3):
        log.retry_after()
    assert log.allow() and log.allow(), "retry_after must not count as a request"


def test_uses_the_injected_clock(target):
    log, clock = make(target, limit=1, window=2, start=90_000.0)
    assert log.allow()
    assert log.allow() is False
    clock.advance(2)
    assert log.allow() is True, "two seconds on the injected clock must free the slot"


@pytest.mark.parametrize("limit", [0, -1])
def test_limit_must_be_at_least_one(target, limit):
    with pytest.raises(ValueError):
        target(limit, 4, clock=Clock())


@pytest.mark.parametrize("window", [0, -1, -0.25])
def test_window_must_be_positive(target, window):
    with pytest.raises(ValueError):
        target(2, window, clock=Clock())


def test_logs_do_not_share_state(target):
    first, _ = make(target, limit=1)
    second, _ = make(target, limit=1)
    assert first.allow() and second.allow(), "each log must have its own requests"


@GRADING
@given(
    limit=st.integers(min_value=1, max_value=5),
    window=st.sampled_from([0.5, 1, 2, 4, 8]),
    steps=st.lists(st.one_of(st.just(0.0), st.integers(1, 12).map(lambda n: n * 0.25)), max_size=40),
    probes=st.lists(st.booleans(), max_size=40),
)
def test_matches_reference_model_on_random_sequences(target, limit, window, steps, probes):
    clock = Clock(1000.0)
    log = target(limit, window, clock=clock)
    admitted: list[float] = []
    for step, probe in zip(steps, probes + [False] * len(steps), strict=False):
        clock.advance(step)
        live = [t for t in admitted if t > clock.now - window]
        if probe:
            want = 0.0 if len(live) < limit else live[len(live) - limit] + window - clock.now
            assert abs(log.retry_after() - want) < 1e-9, f"retry_after() must be {want}"
        expected = len(live) < limit
        assert log.allow() is expected, f"with {len(live)} requests in the window, allow() must be {expected}"
        if expected:
            admitted.append(clock.now)
