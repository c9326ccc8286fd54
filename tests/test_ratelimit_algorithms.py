"""Each algorithm's behaviour pinned down by hand, plus decisions, headers and argument errors."""

from __future__ import annotations

import math
import threading

import fakeredis
import pytest

from highload.clock import ManualClock
from highload.ratelimit import (
    FREE,
    PREMIUM,
    Decision,
    FixedWindow,
    LeakyBucket,
    RateLimiter,
    RedisStorage,
    SlidingWindowCounter,
    SlidingWindowLog,
    TokenBucket,
    TokenBucketPolicy,
    monthly_quota,
    most_restrictive,
)


def test_token_bucket_decision_fields():
    clock = ManualClock()
    bucket = TokenBucket(4, 2, clock=clock)
    d = bucket.check(3)
    assert d == Decision(True, 4.0, 1, 0.0, 1.5, "default", 2.0)
    d = bucket.check(2)
    assert (d.allowed, d.remaining, d.retry_after, d.reset_after) == (False, 1, 0.5, 1.5)


def test_leaky_bucket_mirrors_the_token_bucket():
    clock = ManualClock()
    leaky, token = LeakyBucket(3, 1, clock=clock), TokenBucket(3, 1, clock=clock)
    pattern = []
    for step in [0, 0, 0, 0, 0.5, 0.5, 0.25, 2, 0, 0]:
        clock.advance(step)
        a, b = leaky.check(), token.check()
        assert (a.allowed, a.remaining, a.retry_after, a.reset_after) == (
            b.allowed, b.remaining, b.retry_after, b.reset_after)
        pattern.append(a.allowed)
    assert pattern == [True, True, True, False, False, True, False, True, True, False]
    assert leaky.level == 3 - token.tokens


def test_fixed_window_lets_twice_the_limit_through_around_an_edge():
    clock = ManualClock(9.5)
    window = FixedWindow(5, 10, clock=clock)
    assert all(window.allow() for _ in range(5))
    assert not window.allow()
    clock.set(10.5)  # one second later, but in the next window
    assert all(window.allow() for _ in range(5)), "the edge burst: 10 requests in 1 s pass"
    assert window.check().retry_after == 9.5


def test_sliding_window_log_refuses_the_edge_burst():
    clock = ManualClock(9.5)
    log = SlidingWindowLog(5, 10, clock=clock)
    assert all(log.allow() for _ in range(5))
    clock.set(10.5)
    assert not log.allow(), "the five requests from 9.5 still count at 10.5"
    assert log.retry_after() == 9.0


def test_sliding_window_counter_weights_the_previous_window():
    clock = ManualClock(0.0)
    counter = SlidingWindowCounter(10, 4, clock=clock)
    assert all(counter.allow() for _ in range(8))
    clock.set(5.0)  # 1/4 into the next window: estimate = 8 * 0.75 + 0 = 6
    assert counter.peek().remaining == 4
    assert [counter.allow() for _ in range(5)] == [True] * 4 + [False]
    d = counter.check()
    assert d.retry_after == pytest.approx(0.5), "at 5.5 the estimate is 8 * 0.625 + 4 = 9, so one more fits"
    clock.set(5.5)
    assert counter.allow()


def test_sliding_window_counter_forgets_after_two_idle_windows():
    clock = ManualClock(0.0)
    counter = SlidingWindowCounter(2, 1, clock=clock)
    assert counter.allow() and counter.allow() and not counter.allow()
    clock.set(2.0)
    assert counter.peek().remaining == 2


def test_free_and_premium_tiers_burst_and_sustain_as_documented():
    assert (FREE.capacity, FREE.refill_rate, PREMIUM.capacity, PREMIUM.refill_rate) == (100, 1, 1000, 10)
    clock = ManualClock()
    free = RateLimiter(FREE, clock=clock)
    assert sum(free.allow("u") for _ in range(150)) == 100, "free users may burst 100"
    admitted = 0
    for _ in range(60):
        clock.advance(1)
        admitted += free.allow("u")
    assert admitted == 60, "then sustain 60 requests a minute"


def test_monthly_quota():
    clock = ManualClock(0.0)
    quota = RateLimiter(monthly_quota(5000), clock=clock)
    assert quota.policy.window == 30 * 86400
    assert sum(quota.allow("user") for _ in range(5001)) == 5000
    assert quota.check("user").retry_after == 30 * 86400
    clock.set(30 * 86400)
    assert quota.allow("user"), "a new 30-day window starts fresh"


def test_headers_follow_the_ietf_draft():
    d = Decision(allowed=False, limit=100, remaining=0, retry_after=2.25, reset_after=40.5, policy="free", window=100)
    h = d.headers()
    assert h == {"RateLimit-Policy": '"free";q=100;w=100', "RateLimit": '"free";r=0;t=41', "Retry-After": "3"}
    legacy = d.headers(legacy=True)
    assert (legacy["X-RateLimit-Limit"], legacy["X-RateLimit-Remaining"], legacy["X-RateLimit-Reset"]) == ("100", "0", "41")
    assert "Retry-After" not in Decision(True, 10, 9, 0.0, 1.0).headers()


def test_infinite_waits_become_large_finite_header_values():
    h = Decision(False, 1, 0, math.inf, math.inf).headers()
    assert h["Retry-After"].isdigit() and int(h["Retry-After"]) > 10**9


def test_most_restrictive_picks_the_longest_wait_then_the_least_remaining():
    a, b, c = Decision(False, 5, 0, 0.0, 1), Decision(False, 5, 0, 4.0, 9), Decision(False, 5, 0, 2.0, 3)
    assert most_restrictive([a, b, c]) is b
    x, y = Decision(True, 5, 3, 0.0, 1), Decision(True, 5, 1, 0.0, 1)
    assert most_restrictive([x, y]) is y


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: TokenBucket(0, 1), "capacity must be > 0, got 0"),
        (lambda: TokenBucket(1, -1), "refill_rate must be >= 0, got -1"),
        (lambda: LeakyBucket(-2, 1), "capacity must be > 0, got -2"),
        (lambda: FixedWindow(0, 1), "limit must be >= 1, got 0"),
        (lambda: SlidingWindowLog(3, 0), "window must be > 0, got 0"),
        (lambda: SlidingWindowCounter(3, -1.5), "window must be > 0, got -1.5"),
        (lambda: TokenBucketPolicy(capacity=-1, refill_rate=1), "capacity must be > 0, got -1"),
        (lambda: TokenBucket(1, 1).allow(0), "cost must be > 0, got 0"),
        (lambda: TokenBucket(1, 1).retry_after(-1), "cost must be > 0, got -1"),
        (lambda: RateLimiter(FREE).check("k", 0), "cost must be > 0, got 0"),
        (lambda: RateLimiter(FREE, RedisStorage(fakeredis.FakeRedis())).allow("k", -1), "cost must be > 0, got -1"),
    ],
)
def test_bad_values_raise_value_error_naming_parameter_and_value(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: TokenBucket("10", 1), "capacity must be a number, got '10'"),
        (lambda: FixedWindow(2.5, 1), "limit must be an int, got 2.5"),
        (lambda: TokenBucket(1, 1, clock=5), "clock must be a zero-argument callable"),
        (lambda: TokenBucket(1, 1).allow("1"), "cost must be a number, got '1'"),
        (lambda: RateLimiter("free"), "policy must be a highload.ratelimit Policy"),
    ],
)
def test_wrong_types_raise_type_error(make, message):
    with pytest.raises(TypeError, match=message):
        make()


def test_memory_limiter_is_thread_safe():
    limiter = RateLimiter(TokenBucketPolicy(500, 0))
    admitted = []
    barrier = threading.Barrier(8)

    def worker():
        barrier.wait()
        admitted.append(sum(limiter.allow("shared") for _ in range(200)))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(admitted) == 500, "1600 attempts on a 500-token bucket admit exactly 500"


def test_memory_backend_sweeps_idle_full_keys():
    from highload.ratelimit import MemoryStorage

    clock = ManualClock()
    limiter = RateLimiter(TokenBucketPolicy(1, 1), MemoryStorage(sweep_every=100), clock=clock)
    for i in range(99):
        limiter.allow(f"client-{i}")
    assert len(limiter._view) == 99
    clock.advance(5)  # every bucket is full again
    assert limiter.allow("one-more")
    assert len(limiter._view) == 1, "idle keys back at full quota are forgotten; their state was redundant"
    assert not limiter.allow("one-more"), "the key created during the sweep keeps what it consumed"


def test_sliding_log_holds_a_request_of_any_cost_it_accepts():
    # Memory grows with requests, not with costs: 10**15 units of one request are one entry.
    clock = ManualClock(0.0)
    log = SlidingWindowLog(10**15, 4, clock=clock)
    assert log.allow(10**15 - 1) and not log.allow(2) and log.allow(1)
    first = log.check(1)
    assert (first.allowed, first.remaining, first.retry_after) == (False, 0, 4.0)
    clock.advance(4)
    assert log.check(10**15).allowed
