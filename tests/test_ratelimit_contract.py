"""One contract, every backend: memory, Redis (sync) and Redis (asyncio), on fakeredis and real Redis.

Each keyed backend must give exactly the decisions the single-key in-memory algorithm gives
(test_ratelimit_algorithms.py pins those down by hand), for every algorithm, step by step.
"""

from __future__ import annotations

import asyncio
import math
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from highload.clock import ManualClock
from highload.ratelimit import (
    AsyncRateLimiter,
    AsyncRedisStorage,
    FixedWindowPolicy,
    LeakyBucketPolicy,
    MemoryStorage,
    RateLimiter,
    RedisStorage,
    SlidingWindowCounterPolicy,
    SlidingWindowLogPolicy,
    TokenBucketPolicy,
    acheck_all,
    allow_all,
    check_all,
)

POLICIES = [
    TokenBucketPolicy(capacity=4, refill_rate=2),
    TokenBucketPolicy(capacity=2, refill_rate=0),
    LeakyBucketPolicy(capacity=4, leak_rate=1),
    FixedWindowPolicy(limit=3, window=4),
    SlidingWindowLogPolicy(limit=3, window=4),
    SlidingWindowCounterPolicy(limit=4, window=2),
]
IDS = [f"{p.algorithm}({p.params[0]:g},{p.params[1]:g})" for p in POLICIES]

# (seconds to move the clock, cost): steps of 0.25, occasional backwards jumps, costs 1-3.
STEPS = st.lists(
    st.tuples(st.integers(-4, 12).map(lambda n: n * 0.25), st.sampled_from([1, 1, 1, 2, 3])),
    min_size=1, max_size=30,
)
EXACT = settings(deadline=None, derandomize=True, database=None, max_examples=40)


def replay(policy, steps, check):
    """Decisions of ``check(clock)`` and of the reference single-key limiter, side by side."""
    clock = ManualClock(1000.0)
    reference = None
    got, want = [], []
    for move, cost in steps:
        clock.set(clock() + move)
        # Keyed backends create a key's state at its first check, so the reference does too.
        reference = reference or policy.create(clock)
        got.append(check(clock, cost))
        want.append(reference.check(cost))
    return got, want


def assert_same(got, want):
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        assert (g.allowed, g.remaining, g.limit) == (w.allowed, w.remaining, w.limit), f"step {i}: {g} != {w}"
        for field in ("retry_after", "reset_after"):
            a, b = getattr(g, field), getattr(w, field)
            assert a == b or math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12), f"step {i} {field}: {g} != {w}"


@pytest.mark.parametrize("policy", POLICIES, ids=IDS)
@EXACT
@given(steps=STEPS)
def test_memory_backend_matches_reference(policy, steps):
    limiters = {}

    def check(clock, cost):
        limiter = limiters.setdefault("l", RateLimiter(policy, MemoryStorage(), clock=clock))
        return limiter.check("client", cost)

    assert_same(*replay(policy, steps, check))


@pytest.mark.redis
@pytest.mark.parametrize("policy", POLICIES, ids=IDS)
def test_redis_backend_matches_reference(policy, redis_client):
    @EXACT
    @given(steps=STEPS)
    def run(steps):
        limiter = {}
        key = uuid.uuid4().hex

        def check(clock, cost):
            lim = limiter.setdefault("l", RateLimiter(policy, RedisStorage(redis_client), clock=clock))
            return lim.check(key, cost)

        assert_same(*replay(policy, steps, check))

    run()


@pytest.mark.redis
@pytest.mark.parametrize("policy", POLICIES, ids=IDS)
def test_async_redis_backend_matches_reference(policy, async_redis_client):
    steps = [(0, 1), (0, 2), (0.25, 1), (0.5, 3), (-1.0, 1), (1.75, 1), (4.0, 2), (0.25, 1), (8.0, 1)]

    async def main():
        clock = ManualClock(1000.0)
        limiter = AsyncRateLimiter(policy, AsyncRedisStorage(async_redis_client), clock=clock)
        reference = None
        key = uuid.uuid4().hex
        got, want = [], []
        for move, cost in steps:
            clock.set(clock() + move)
            reference = reference or policy.create(clock)
            got.append(await limiter.check(key, cost))
            want.append(reference.check(cost))
        await async_redis_client.aclose()
        return got, want

    assert_same(*asyncio.run(main()))


@pytest.mark.parametrize("policy", POLICIES, ids=IDS)
def test_async_memory_backend_matches_sync(policy):
    clock = ManualClock(0.0)
    sync, reference = RateLimiter(policy, clock=clock), AsyncRateLimiter(policy, clock=clock)

    async def main():
        out = []
        for _ in range(6):
            out.append((sync.check("k"), await reference.check("k"), await reference.allow("j")))
            clock.advance(0.5)
        return out

    for s, a, allowed in asyncio.run(main()):
        assert s == a
        assert allowed == s.allowed


@pytest.mark.redis
def test_keys_are_independent_and_expire(redis_client):
    clock = ManualClock(0.0)
    limiter = RateLimiter(TokenBucketPolicy(2, 1), RedisStorage(redis_client), clock=clock, prefix="t:")
    assert limiter.allow("a") and limiter.allow("a") and not limiter.allow("a")
    assert limiter.allow("b"), "another key has its own bucket"
    ttl_ms = redis_client.pttl("t:a")
    # Drained bucket, 1 token/s: full again after 2 s. The key outlives that by its 1 s of slack,
    # and by at most twice as much (its TTL is refreshed lazily), but never lives forever.
    assert 3000 <= ttl_ms <= 6000
    limiter.reset("a")
    assert limiter.allow("a"), "reset forgets the key"


@pytest.mark.redis
def test_zero_rate_bucket_key_never_expires(redis_client):
    limiter = RateLimiter(TokenBucketPolicy(1, 0), RedisStorage(redis_client), clock=ManualClock(), prefix="z:")
    limiter.allow("k")
    assert redis_client.pttl("z:k") == -1, "a bucket that never refills must not be forgotten (that would refill it)"


def _three(backend, clock, kind=RateLimiter):
    return (
        kind(TokenBucketPolicy(3, 0, name="ip"), backend, clock=clock),
        kind(SlidingWindowLogPolicy(2, 4, name="user"), backend, clock=clock),
        kind(FixedWindowPolicy(10, 4, name="global"), backend, clock=clock),
    )


def _check_all_contract(run):
    """Shared expectations of check_all on any backend; ``run(cost)`` returns decisions."""
    first = run(1)
    assert [d.allowed for d in first] == [True] * 3
    assert [d.remaining for d in first] == [2, 1, 9]
    second = run(1)
    assert all(d.allowed for d in second)
    third = run(1)  # the per-user sliding log (limit 2) rejects: nothing may be consumed anywhere
    assert [d.allowed for d in third] == [False] * 3
    assert [d.retry_after > 0 for d in third] == [False, True, False], "only the limit that failed has a wait"
    assert [d.remaining for d in third] == [1, 0, 8], "a rejected multi-check consumes from no limit"


def test_check_all_is_all_or_nothing_in_memory():
    clock = ManualClock(0.0)
    ip, user, global_ = _three(MemoryStorage(), clock)
    limiters = ((ip, "1.2.3.4"), (user, "alice"), (global_, "all"))
    _check_all_contract(lambda cost: check_all(limiters, cost))


@pytest.mark.redis
def test_check_all_is_all_or_nothing_on_redis(redis_client):
    clock = ManualClock(0.0)
    ip, user, global_ = _three(RedisStorage(redis_client), clock)
    tag = uuid.uuid4().hex
    limiters = ((ip, f"1.2.3.4:{tag}"), (user, f"alice:{tag}"), (global_, f"all:{tag}"))
    _check_all_contract(lambda cost: check_all(limiters, cost))


@pytest.mark.redis
def test_check_all_is_all_or_nothing_on_async_redis(async_redis_client):
    clock = ManualClock(0.0)
    ip, user, global_ = _three(AsyncRedisStorage(async_redis_client), clock, AsyncRateLimiter)
    tag = uuid.uuid4().hex
    limiters = ((ip, f"ip:{tag}"), (user, f"u:{tag}"), (global_, f"g:{tag}"))

    async def main():
        results = [await acheck_all(limiters, 1) for _ in range(3)]
        await async_redis_client.aclose()
        return results

    results = iter(asyncio.run(main()))
    _check_all_contract(lambda cost: next(results))


def test_check_all_rejects_mixed_backends():
    clock = ManualClock()
    a = RateLimiter(TokenBucketPolicy(1, 1), clock=clock)
    b = RateLimiter(TokenBucketPolicy(1, 1), clock=clock)
    with pytest.raises(ValueError, match="share one storage"):
        check_all([(a, "x"), (b, "y")])
    with pytest.raises(ValueError, match="at least one"):
        check_all([])


@pytest.mark.redis
def test_server_time_option_reads_redis_time(redis_client):
    clock = ManualClock(0.0)  # would say "no time has passed"; the server's TIME must be used instead
    limiter = RateLimiter(TokenBucketPolicy(1, 0), RedisStorage(redis_client, server_time=True),
                          clock=clock, prefix=f"st:{uuid.uuid4().hex}:")
    assert limiter.allow("k") and not limiter.allow("k")
    stored = float(redis_client.hget(f"{limiter._view.prefix}k", "t"))
    assert stored > 1_600_000_000, "with server_time the script stores Redis's own TIME"


@pytest.mark.redis
def test_script_is_reloaded_after_script_flush(redis_client):
    limiter = RateLimiter(TokenBucketPolicy(5, 1), RedisStorage(redis_client), clock=ManualClock(),
                          prefix=f"sf:{uuid.uuid4().hex}:")
    assert limiter.allow("k")
    redis_client.script_flush()
    assert limiter.allow("k"), "a NOSCRIPT reply must load the script and retry once"


def _fitting_windows_refused_by_another(backend, clock, tag=""):
    """Empty window limits that fit, refused by a drained bucket: no crash, no wait, nothing consumed."""
    log = RateLimiter(SlidingWindowLogPolicy(3, 4, name="log"), backend, clock=clock)
    counter = RateLimiter(SlidingWindowCounterPolicy(3, 4, name="counter"), backend, clock=clock)
    bucket = RateLimiter(TokenBucketPolicy(1, 0, name="bucket"), backend, clock=clock)
    assert bucket.allow(f"b{tag}")
    decisions = check_all([(log, f"l{tag}"), (counter, f"c{tag}"), (bucket, f"b{tag}")])
    assert [d.allowed for d in decisions] == [False] * 3
    assert [d.retry_after for d in decisions] == [0.0, 0.0, math.inf]
    assert [d.remaining for d in decisions[:2]] == [3, 3]


def test_check_all_fitting_window_limits_refused_by_another_in_memory():
    _fitting_windows_refused_by_another(MemoryStorage(), ManualClock(0.0))


@pytest.mark.redis
def test_check_all_fitting_window_limits_refused_by_another_on_redis(redis_client):
    _fitting_windows_refused_by_another(RedisStorage(redis_client), ManualClock(0.0), uuid.uuid4().hex)


@pytest.mark.redis
@pytest.mark.parametrize("policy", POLICIES, ids=IDS)
def test_brief_allow_matches_reference(policy, redis_client):
    clock = ManualClock(1000.0)
    limiter = RateLimiter(policy, RedisStorage(redis_client), clock=clock, prefix=f"{uuid.uuid4().hex}:")
    reference = policy.create(clock)
    for move, cost in [(0, 1), (0, 2), (0.25, 1), (0, 3), (-0.5, 1), (1.5, 1), (4, 2), (0, 1)]:
        clock.set(clock() + move)
        assert limiter.allow("k", cost) is reference.allow(cost)
    assert limiter.check("k").remaining == reference.check().remaining


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_allow_all_is_check_all_without_the_details(backend, redis_client):
    store = MemoryStorage() if backend == "memory" else RedisStorage(redis_client)
    clock = ManualClock(0.0)
    ip, user, global_ = _three(store, clock)
    tag = uuid.uuid4().hex
    limiters = ((ip, f"ip{tag}"), (user, f"u{tag}"), (global_, f"g{tag}"))
    assert [allow_all(limiters) for _ in range(3)] == [True, True, False]
    assert [d.remaining for d in check_all(limiters)] == [1, 0, 8], "the refused allow_all consumed nothing"


def _replay_on_redis(policy, steps, client):
    """:func:`replay` on a fresh key of a Redis backend."""
    limiter, key = {}, uuid.uuid4().hex

    def check(clock, cost):
        lim = limiter.setdefault("l", RateLimiter(policy, RedisStorage(client), clock=clock))
        return lim.check(key, cost)

    return replay(policy, steps, check)


# Costs around Lua's unpack limit (about 8000 values) and far past it: a sliding log holding a
# request of any cost it accepts must decide exactly as the in-memory reference does.
_BIG_LOG = SlidingWindowLogPolicy(limit=100_000, window=4)
_BIG_STEPS = [(0, 7999), (0, 8000), (0.25, 8001), (0, 100_000), (0.25, 70_000), (0, 6001), (0, 1),
              (3.5, 90_000), (0.25, 8000), (0, 80_000), (0.25, 1), (4.0, 100_000), (0, 1), (3.75, 1),
              (0.25, 100_000), (0, 100_001), (8.0, 1)]


def test_memory_sliding_log_admits_large_costs():
    clock = ManualClock(1000.0)
    limiter = RateLimiter(_BIG_LOG, MemoryStorage(), clock=clock)
    assert limiter.check("k", 100_000).allowed and not limiter.check("k", 1).allowed
    clock.advance(4)
    assert limiter.check("k", 100_000).remaining == 0


@pytest.mark.redis
def test_redis_sliding_log_decides_large_costs_as_memory_does(redis_client):
    got, want = _replay_on_redis(_BIG_LOG, _BIG_STEPS, redis_client)
    assert [d.allowed for d in want].count(True) >= 8, "the steps must admit large costs"
    assert_same(got, want)


@pytest.mark.redis
@pytest.mark.parametrize("cost", [7999, 8000, 8001, 100_000])
def test_redis_sliding_log_allow_and_check_all_take_large_costs(cost, redis_client):
    clock = ManualClock(1000.0)
    policy = SlidingWindowLogPolicy(limit=cost, window=4, name="big")
    backend = RedisStorage(redis_client)
    limiter = RateLimiter(policy, backend, clock=clock, prefix=f"{uuid.uuid4().hex}:")
    assert limiter.allow("brief", cost) and not limiter.allow("brief", 1)
    other = RateLimiter(FixedWindowPolicy(limit=cost, window=4, name="fixed"), backend,
                        clock=clock, prefix=f"{uuid.uuid4().hex}:")
    assert [d.allowed for d in check_all([(limiter, "multi"), (other, "multi")], cost)] == [True, True]
    assert allow_all([(limiter, "multi")], 1) is False


# Long logs: many requests at many instants, so expiry cuts several entries at once and a
# refused request's wait is found deep inside the log.
_LONG_LOG = SlidingWindowLogPolicy(limit=40, window=4)
_LONG_STEPS = st.lists(
    st.tuples(st.integers(-2, 6).map(lambda n: n * 0.25), st.sampled_from([1, 1, 1, 2, 3, 5, 8, 13, 0.5, 40, 41])),
    min_size=1, max_size=80,
)


@pytest.mark.redis
def test_redis_sliding_log_matches_reference_on_long_logs(redis_client):
    @EXACT
    @given(steps=_LONG_STEPS)
    def run(steps):
        assert_same(*_replay_on_redis(_LONG_LOG, steps, redis_client))

    run()


def _history(policy, clock, admitted):
    """A reference limiter that admitted ``admitted`` [(time, cost)], and the clock left at the last."""
    reference = policy.create(clock)
    for at, cost in admitted:
        clock.set(at)
        assert reference.check(cost).allowed
    return reference


@pytest.mark.redis
def test_redis_sliding_log_reads_a_log_kept_one_entry_per_unit(redis_client):
    # The format before entries were grouped: one bare time per unit, as earlier releases wrote it.
    policy = SlidingWindowLogPolicy(limit=10, window=4)
    clock = ManualClock(1000.0)
    reference = _history(policy, clock, [(1000.0, 5), (1001.0, 3)])
    limiter = RateLimiter(policy, RedisStorage(redis_client), clock=clock, prefix=f"{uuid.uuid4().hex}:")
    redis_client.rpush(f"{limiter._view.prefix}k", *["1000"] * 5, *["1001"] * 3)
    for at, cost in [(1002.0, 2), (1002.0, 1), (1004.0, 4), (1004.5, 1), (1010.0, 10)]:
        clock.set(at)
        assert_same([limiter.check("k", cost)], [reference.check(cost)])


@pytest.mark.redis
def test_redis_sliding_log_reads_units_an_older_process_appended_to_a_grouped_log(redis_client):
    # A rolling deploy: an older process pushes one bare time per unit after a newer one's entry.
    policy = SlidingWindowLogPolicy(limit=10, window=4)
    clock = ManualClock(1000.0)
    limiter = RateLimiter(policy, RedisStorage(redis_client), clock=clock, prefix=f"{uuid.uuid4().hex}:")
    assert limiter.check("k", 5).allowed
    redis_client.rpush(f"{limiter._view.prefix}k", "1001", "1001")
    reference = _history(policy, clock, [(1000.0, 5), (1001.0, 2)])
    for at, cost in [(1002.0, 4), (1002.0, 3), (1004.0, 5), (1005.0, 3), (1010.0, 10)]:
        clock.set(at)
        assert_same([limiter.check("k", cost)], [reference.check(cost)])


@pytest.mark.redis
@pytest.mark.parametrize("entries", [
    ["1000 0 3", "1001 3 5"],  # grouped, no fingerprint: written before logs carried one
    ["1000 0 3 0123456789ab", "1001 3 5 0123456789ab"],  # another policy's fingerprint
    ["1000 0 3 0123456789ab", "1001", "1001"],  # bare units appended to another policy's log
], ids=["no-fingerprint", "other-fingerprint", "bare-after-other"])
def test_redis_sliding_log_resets_a_log_it_did_not_write(redis_client, entries):
    clock = ManualClock(1002.0)
    limiter = RateLimiter(SlidingWindowLogPolicy(limit=10, window=4), RedisStorage(redis_client), clock=clock,
                          prefix=f"{uuid.uuid4().hex}:")
    events = []
    limiter.subscribe(events.append)
    redis_client.rpush(f"{limiter._view.prefix}k", *entries)
    decision = limiter.check("k", 2)
    assert decision.allowed and decision.remaining == 8, "read as a fresh log, never as this policy's units"
    assert [(e.name, e.key) for e in events] == [("state_reset", "k")]
    assert limiter.check("k").remaining == 7 and len(events) == 1, "its own log is not reset again"


@pytest.mark.redis
def test_redis_sliding_log_renumbers_totals_before_they_lose_precision(redis_client):
    policy = SlidingWindowLogPolicy(limit=20, window=4)
    clock = ManualClock(1000.0)
    reference = _history(policy, clock, [(1000.0, 5), (1001.0, 3)])
    limiter = RateLimiter(policy, RedisStorage(redis_client), clock=clock, prefix=f"{uuid.uuid4().hex}:")
    key = f"{limiter._view.prefix}k"
    top = 2**53 - 1  # a key that has admitted almost 2**53 units over its life
    fp = policy.fingerprint
    redis_client.rpush(key, f"1000 {top - 8} {top - 3} {fp}", f"1001 {top - 3} {top} {fp}")
    clock.set(1002.0)
    assert_same([limiter.check("k", 4)], [reference.check(4)])
    assert redis_client.lrange(key, 0, -1) == [f"{t} {a} {b} {fp}".encode() for t, a, b in
                                               [(1000, 0, 5), (1001, 5, 8), (1002, 8, 12)]]
    clock.set(1004.25)
    assert_same([limiter.check("k", 12)], [reference.check(12)])


@pytest.mark.redis
def test_redis_sliding_log_expires_exactly_the_entries_that_left_the_window(redis_client):
    # 20 requests a quarter second apart, then a look at every later instant: each cut point,
    # with an entry exactly on the window's edge (t + window == now counts as gone).
    steps = [(0.25 if i else 0, 1 + i % 3) for i in range(20)]
    for k in range(1, 22):
        assert_same(*_replay_on_redis(_LONG_LOG, [*steps, (k * 0.25, 40), (0, 1), (0, 30)], redis_client))


@pytest.mark.redis
def test_sliding_log_state_grows_with_requests_not_with_costs(redis_client):
    # A quota counted in bytes: a log with one entry per unit of cost could never hold this.
    policy = SlidingWindowLogPolicy(limit=10**15, window=4)
    steps = [(0, 10**15 - 1), (0, 2), (0.25, 1), (0, 1), (3.75, 10**15), (0.25, 10**15), (0, 0.5)]
    got, want = _replay_on_redis(policy, steps, redis_client)
    assert [d.allowed for d in want] == [True, False, True, False, False, True, False]
    assert_same(got, want)


@pytest.mark.redis
def test_redis_sliding_log_keeps_one_entry_per_instant(redis_client):
    clock = ManualClock(1000.0)
    limiter = RateLimiter(SlidingWindowLogPolicy(limit=1000, window=4), RedisStorage(redis_client),
                          clock=clock, prefix=f"{uuid.uuid4().hex}:")
    for at in (1000.0, 1000.5):
        clock.set(at)
        assert all(limiter.allow("k", 3) for _ in range(50))
    assert redis_client.llen(f"{limiter._view.prefix}k") == 2, "requests at one instant share an entry"
    assert limiter.check("k").remaining == 1000 - 300 - 1
