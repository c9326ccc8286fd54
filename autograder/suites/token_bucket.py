"""Hidden suite: TokenBucket(capacity, refill_rate, clock) — one test per clause of the contract.

Times move in steps of 0.25 and rates are small integers or powers of two, so every
boundary is exactly representable and two correct formulas always agree.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograder.suites._support import GRADING, Clock

basics = pytest.mark.group("basics")
refill = pytest.mark.group("refill")
retry = pytest.mark.group("retry_after")
edge = pytest.mark.group("edge")


def make(target, capacity=4, rate=1, start=1000.0):
    clock = Clock(start)
    return target(capacity, rate, clock=clock), clock


# -- basics -------------------------------------------------------------------------------------
@basics
def test_new_bucket_starts_full(target):
    bucket, _ = make(target, capacity=4, rate=1)
    assert [bucket.allow() for _ in range(5)] == [True, True, True, True, False], \
        "a new bucket of capacity 4 must admit exactly 4 requests at once"


@basics
def test_allow_returns_a_plain_bool(target):
    bucket, _ = make(target, capacity=1, rate=0)
    assert type(bucket.allow()) is bool and type(bucket.allow()) is bool, "allow() must return True or False"


@basics
def test_tokens_reports_the_current_level(target):
    bucket, _ = make(target, capacity=4, rate=1)
    assert bucket.tokens == 4, "a new bucket's tokens must equal its capacity"
    bucket.allow()
    assert bucket.tokens == 3, "one allowed request must remove exactly one token"


@basics
def test_cost_is_consumed_exactly(target):
    bucket, _ = make(target, capacity=4, rate=1)
    assert bucket.allow(2.5) is True, "a cost below the level must pass"
    assert bucket.tokens == 1.5, "allow(2.5) must remove exactly 2.5 tokens"


@basics
def test_cost_equal_to_level_is_allowed(target):
    bucket, _ = make(target, capacity=4, rate=1)
    assert bucket.allow(4) is True, "a cost equal to the level is reached, not exceeded: it must pass"
    assert bucket.tokens == 0, "the bucket must then be empty"


@basics
def test_rejected_call_consumes_nothing(target):
    bucket, _ = make(target, capacity=2, rate=1)
    assert bucket.allow(1.5) is True
    assert bucket.allow(1) is False, "0.5 tokens cannot pay for a cost of 1"
    assert bucket.tokens == 0.5, "a rejected call must leave the level unchanged"


@basics
def test_tokens_property_does_not_consume(target):
    bucket, _ = make(target, capacity=2, rate=0)
    for _ in range(3):
        assert bucket.tokens == 2, "reading tokens must not change the level"
    assert bucket.allow(2) is True


# -- refill -------------------------------------------------------------------------------------
@refill
def test_refills_continuously_at_refill_rate(target):
    bucket, clock = make(target, capacity=4, rate=2)
    assert bucket.allow(4)
    clock.advance(0.25)
    assert bucket.tokens == 0.5, "after 0.25 s at 2 tokens/s the level must be 0.5 (refill is continuous)"
    clock.advance(0.5)
    assert bucket.tokens == 1.5, "after 0.75 s at 2 tokens/s the level must be 1.5"


@refill
def test_refill_uses_the_injected_clock(target):
    bucket, clock = make(target, capacity=2, rate=1, start=50_000.0)
    assert bucket.allow(2)
    assert bucket.allow() is False, "no time has passed on the injected clock: no refill yet"
    clock.advance(1)
    assert bucket.allow() is True, "one second on the injected clock must refill one token"


@refill
def test_refill_is_capped_at_capacity(target):
    bucket, clock = make(target, capacity=4, rate=2)
    bucket.allow(1)
    clock.advance(3600)
    assert bucket.tokens == 4, "the level must never exceed capacity"
    assert [bucket.allow() for _ in range(5)] == [True] * 4 + [False], \
        "after a long idle only `capacity` requests may burst"


@refill
def test_allowed_exactly_when_one_token_has_refilled(target):
    bucket, clock = make(target, capacity=1, rate=4)
    assert bucket.allow()
    clock.advance(0.25)
    assert bucket.allow() is True, "at 4 tokens/s, one token is back after exactly 0.25 s"
    assert bucket.allow() is False, "and only one"


@refill
def test_rejected_just_before_the_token_is_back(target):
    bucket, clock = make(target, capacity=1, rate=1)
    assert bucket.allow()
    clock.advance(0.75)
    assert bucket.allow() is False, "0.75 of a token cannot pay for 1"
    clock.advance(0.25)
    assert bucket.allow() is True, "1.0 tokens after exactly one second"


@refill
def test_zero_refill_rate_never_refills(target):
    bucket, clock = make(target, capacity=2, rate=0)
    assert bucket.allow(2)
    clock.advance(10_000)
    assert bucket.allow() is False, "refill_rate 0 must never refill"


@refill
def test_sustained_rate_matches_refill_rate(target):
    bucket, clock = make(target, capacity=2, rate=2)
    admitted = 0
    for _ in range(40):  # 10 s of requests every 0.25 s, after the initial burst
        admitted += bucket.allow()
        clock.advance(0.25)
    # 3 from the burst while it drains, then one every 0.5 s from t = 1.0 to t = 9.5.
    assert admitted == 21, f"a capacity-2, 2/s bucket probed every 0.25 s for 10 s admits 21, got {admitted}"


# -- retry_after --------------------------------------------------------------------------------
@retry
def test_retry_after_is_zero_when_allowed_now(target):
    bucket, _ = make(target, capacity=4, rate=1)
    assert bucket.retry_after() == 0.0, "a full bucket must say 0.0"
    assert bucket.retry_after(4) == 0.0, "a cost equal to the level passes now: 0.0"


@retry
def test_retry_after_consumes_nothing(target):
    bucket, _ = make(target, capacity=2, rate=1)
    bucket.retry_after()
    bucket.retry_after(2)
    assert bucket.tokens == 2, "retry_after must not consume tokens"


@retry
def test_retry_after_is_missing_tokens_over_rate(target):
    bucket, _ = make(target, capacity=4, rate=2)
    assert bucket.allow(3.5)
    assert bucket.retry_after() == 0.25, "(1 - 0.5) / 2 = 0.25 s"
    assert bucket.retry_after(2.5) == 1.0, "(2.5 - 0.5) / 2 = 1.0 s"


@retry
def test_waiting_retry_after_then_allows(target):
    bucket, clock = make(target, capacity=2, rate=4)
    assert bucket.allow(2)
    wait = bucket.retry_after(1.5)
    assert wait == 0.375
    clock.advance(wait)
    assert bucket.allow(1.5) is True, "after waiting retry_after(cost) the same cost must pass"


@retry
def test_retry_after_infinite_when_cost_exceeds_capacity(target):
    bucket, _ = make(target, capacity=2, rate=1)
    assert bucket.retry_after(3) == math.inf, "a cost above capacity can never pass: math.inf"


@retry
def test_retry_after_infinite_when_rate_is_zero(target):
    bucket, _ = make(target, capacity=2, rate=0)
    assert bucket.allow(2)
    assert bucket.retry_after() == math.inf, "an empty bucket with refill_rate 0 never refills: math.inf"


@retry
def test_retry_after_zero_checked_before_infinite(target):
    bucket, _ = make(target, capacity=2, rate=0)
    assert bucket.retry_after() == 0.0, "a request that passes now is 0.0, even with refill_rate 0"


@retry
def test_retry_after_accounts_for_refill_so_far(target):
    bucket, clock = make(target, capacity=4, rate=1)
    assert bucket.allow(4)
    clock.advance(0.75)
    assert bucket.retry_after() == 0.25, "0.75 tokens are back, so only 0.25 s remain"


# -- edge cases and errors ----------------------------------------------------------------------
@edge
@pytest.mark.parametrize("capacity", [0, -1, -0.5])
def test_capacity_must_be_positive(target, capacity):
    with pytest.raises(ValueError):
        target(capacity, 1, clock=Clock())


@edge
def test_refill_rate_must_not_be_negative(target):
    with pytest.raises(ValueError):
        target(4, -1, clock=Clock())


@edge
def test_zero_refill_rate_is_valid(target):
    bucket = target(4, 0, clock=Clock())
    assert bucket.allow() is True, "refill_rate 0 is a valid, non-refilling bucket"


@edge
@pytest.mark.parametrize("cost", [0, -1, -0.25])
def test_cost_must_be_positive_in_allow(target, cost):
    bucket, _ = make(target)
    with pytest.raises(ValueError):
        bucket.allow(cost)


@edge
@pytest.mark.parametrize("cost", [0, -2])
def test_cost_must_be_positive_in_retry_after(target, cost):
    bucket, _ = make(target)
    with pytest.raises(ValueError):
        bucket.retry_after(cost)


@edge
def test_cost_above_capacity_is_never_allowed_and_consumes_nothing(target):
    bucket, clock = make(target, capacity=2, rate=1)
    assert bucket.allow(3) is False, "a cost above capacity must never pass"
    clock.advance(1000)
    assert bucket.allow(3) is False, "not even after a long wait"
    assert bucket.tokens == 2, "and it must consume nothing"


@edge
def test_clock_going_backwards_adds_nothing(target):
    bucket, clock = make(target, capacity=10, rate=1, start=10.0)
    assert bucket.allow(10)
    clock.now = 5.0
    assert bucket.tokens == 0, "a clock that steps back must not add tokens"
    clock.now = 10.0
    assert bucket.tokens == 0, "returning to the latest time seen must not add tokens either"
    clock.now = 11.0
    assert bucket.tokens == 1, "refill resumes once the clock passes the latest time seen"


@edge
def test_clock_going_backwards_removes_nothing(target):
    bucket, clock = make(target, capacity=4, rate=1, start=100.0)
    assert bucket.allow(2)
    clock.now = 90.0
    assert bucket.tokens == 2, "a clock that steps back must not remove tokens"
    clock.now = 100.5
    assert bucket.tokens == 2.5, "refill counts only time past the latest time already seen"


@edge
def test_buckets_do_not_share_state(target):
    first, _ = make(target, capacity=1, rate=0)
    second, _ = make(target, capacity=1, rate=0)
    assert first.allow() and second.allow(), "each bucket must have its own tokens"


_steps = st.lists(
    st.tuples(
        st.sampled_from(["allow", "retry_after", "tokens", "wait", "back"]),
        st.integers(min_value=1, max_value=12).map(lambda n: n * 0.25),
    ),
    max_size=40,
)


@edge
@GRADING
@given(capacity=st.sampled_from([1, 2, 4, 8]), rate=st.sampled_from([0, 0.5, 1, 2, 4]), steps=_steps)
def test_matches_reference_model_on_random_sequences(target, capacity, rate, steps):
    clock = Clock(1000.0)
    bucket = target(capacity, rate, clock=clock)
    level, latest = float(capacity), clock.now
    for op, amount in steps:
        if op == "wait":
            clock.advance(amount)
            continue
        if op == "back":
            clock.now -= amount
            continue
        if clock.now > latest:
            level, latest = min(capacity, level + (clock.now - latest) * rate), clock.now
        if op == "allow":
            expected = amount <= level
            assert bucket.allow(amount) is expected, f"allow({amount}) at level {level} must be {expected}"
            level -= amount if expected else 0
        elif op == "tokens":
            assert math.isclose(bucket.tokens, level, abs_tol=1e-9), f"tokens must be {level}"
        else:
            want = 0.0 if amount <= level else math.inf if amount > capacity or rate == 0 else (amount - level) / rate
            assert math.isclose(bucket.retry_after(amount), want, abs_tol=1e-9), \
                f"retry_after({amount}) at level {level} must be {want}"
