"""Bad config is refused at construction (issue 11, section 3), table-driven.

Every public constructor's numeric parameters get ten values: 0, -1, NaN, +inf, -inf, 1e308,
10**400, a str, None, True and a list. Each is either listed in LEGAL (accepted on purpose,
with the reason) or raises a ValueError/TypeError whose message names the parameter. LEGAL is
the legal-values table of the docs (docs/config.md renders the same data).
"""

from __future__ import annotations

import math
import warnings

import fakeredis
import pytest

from highload import balancing, cache, carts, clock, ratelimit, resilience
from highload.cluster import Cluster
from highload.resilience import retry
from highload.shop.capacity import SimulatedCapacity
from highload.shop.health import StoreHealth
from highload.shop.settings import ShopSettings

TEN = {"0": 0, "-1": -1, "nan": math.nan, "inf": math.inf, "-inf": -math.inf, "1e308": 1e308,
       "10**400": 10**400, "str": "1", "None": None, "True": True, "list": [1]}

BIG_INT = {"10**400"}  # an exact Python int: legal for in-process counts (nothing reaches Lua)

# (constructor, parameter) -> the values accepted deliberately. Anything not listed must be refused.
LEGAL: dict[tuple[str, str], set[str]] = {
    # rate limiting: numbers reach Lua (<= 2**53, finite); refill/leak rate 0 = "never refills"
    ("TokenBucketPolicy", "capacity"): set(),
    ("TokenBucketPolicy", "refill_rate"): {"0"},
    ("LeakyBucketPolicy", "capacity"): set(),
    ("LeakyBucketPolicy", "leak_rate"): {"0"},
    ("FixedWindowPolicy", "limit"): set(),
    ("FixedWindowPolicy", "window"): set(),
    ("SlidingWindowLogPolicy", "window"): set(),
    ("SlidingWindowCounterPolicy", "window"): set(),
    ("TokenBucket", "capacity"): set(),
    ("TokenBucket", "refill_rate"): {"0"},
    ("FixedWindow", "limit"): BIG_INT,
    ("FixedWindow", "window"): set(),
    ("MemoryStorage", "sweep_every"): BIG_INT,
    # caches: ttl None = never expire (memory), TTL ceilings where Redis stores them
    ("CacheAside", "ttl"): {"inf"},
    ("CacheConfig", "jitter"): {"0"},
    ("CacheConfig", "stale_while_revalidate"): {"0", "inf"},
    ("CacheConfig", "xfetch_beta"): {"0", "1e308"},  # a finite multiplier; huge = refresh always early
    ("CacheConfig", "lock_ttl"): set(),
    ("WriteBackCache", "flush_interval"): {"inf", "1e308"},  # in-process only; inf: flush by size or by hand
    ("MemoryBackend", "sweep_every"): BIG_INT,
    ("MemoryBackend", "write_log"): BIG_INT,
    ("RedisBackend", "generation_ttl"): set(),
    # resilience: open_timeout inf = stays open until reset by hand; 0 = probe at once
    ("CircuitBreaker", "failure_threshold"): BIG_INT,
    ("CircuitBreaker", "success_threshold"): BIG_INT,
    ("CircuitBreaker", "open_timeout"): {"0", "inf", "1e308"},
    ("CircuitBreaker", "half_open_max_calls"): BIG_INT,
    ("BreakerConfig", "window_size"): {"inf", "1e308"},  # a time window of any length
    ("BreakerConfig", "slow_call_duration"): {"inf", "1e308"},  # inf: no call is slow
    ("BreakerConfig", "latency_samples"): BIG_INT,
    ("BreakerConfig", "minimum_calls"): BIG_INT,
    ("RetryBudget", "ratio"): {"0", "inf", "1e308"},  # 0: no retries beyond the floor; inf: no cap
    ("RetryBudget", "min_per_second"): {"0", "inf", "1e308"},
    ("RetryBudget", "window"): {"inf", "1e308"},
    ("Bulkhead", "max_concurrent"): BIG_INT,
    ("Bulkhead", "max_wait"): {"0", "inf", "1e308"},  # 0: never queue; inf: wait as long as it takes
    ("Fallback", "max_entries"): BIG_INT,
    # balancing: thresholds may be unreachable on purpose (inf: never scale out)
    ("AutoscalingPolicy", "scale_out_above"): {"inf", "1e308"},
    ("AutoscalingPolicy", "scale_out_after"): {"0", "inf", "1e308"},
    ("AutoscalingPolicy", "scale_in_below"): {"0"},
    ("AutoscalingPolicy", "scale_in_after"): {"0", "inf", "1e308"},
    ("AutoscalingPolicy", "max_servers"): BIG_INT,
    ("AutoscalingPolicy", "cooldown"): {"0", "inf", "1e308"},
    ("ConsistentHash", "replicas"): set(),
    # the clock: any finite start
    ("ManualClock", "start"): {"0", "-1", "1e308"},
    # more limiters (the same validation as the policies'); SWRR weights are in-process counts
    ("LeakyBucket", "capacity"): set(),
    ("LeakyBucket", "leak_rate"): {"0"},
    ("SlidingWindowLog", "limit"): BIG_INT,
    ("SlidingWindowLog", "window"): set(),
    ("SlidingWindowCounter", "limit"): BIG_INT,
    ("SlidingWindowCounter", "window"): set(),
    ("SmoothWeightedRoundRobin", "weights"): BIG_INT,
    # near-caches: ttl as CacheAside; local_ttl None = the shared ttl, inf = until invalidated;
    # poll_interval inf = never poll on read (drain() only); drain_timeout waits on a socket
    ("NearCache", "ttl"): {"inf"},
    ("NearCache", "max_entries"): BIG_INT,
    ("NearCache", "local_ttl"): {"None", "inf", "1e308"},
    ("NearCache", "drain_timeout"): set(),
    ("NearCache", "poll_interval"): {"0", "inf", "1e308"},
    ("AsyncNearCache", "ttl"): {"inf"},
    ("AsyncNearCache", "max_entries"): BIG_INT,
    ("AsyncNearCache", "local_ttl"): {"None", "inf", "1e308"},
    ("AsyncNearCache", "drain_timeout"): set(),
    ("AsyncNearCache", "poll_interval"): {"0", "inf", "1e308"},
    ("WriteThroughCache", "ttl"): {"None", "inf"},  # as CacheAside (1e308 overflowed a Redis backend's write)
    ("WriteThroughCache", "max_entries"): {"None"} | BIG_INT,
    # retry: delays reach time.sleep (finite, <= 10 years); max_delay inf = no cap, stop inf = no time box
    ("stop_after_attempt", "attempts"): BIG_INT,
    ("stop_after_delay", "seconds"): {"0", "inf", "1e308"},
    ("wait_fixed", "seconds"): {"0"},
    ("wait_random", "low"): {"0"},
    ("wait_random", "high"): set(),  # 0 < low=0.5 is refused as high < low
    ("wait_exponential", "base"): set(),
    ("wait_exponential", "factor"): {"1e308"},  # capped by max_delay
    ("wait_exponential", "max_delay"): {"inf"},
    ("backoff_delays", "attempts"): {"0"},  # 10**400 never returned: at most 10**6 delays
    ("backoff_delays", "base"): set(),
    ("backoff_delays", "factor"): {"1e308"},
    ("backoff_delays", "max_delay"): {"inf"},
    # health checks: fail_timeout/interval are durations; thresholds are counts (0 fails = never down)
    ("PassiveHealth", "max_fails"): {"0"} | BIG_INT,
    ("PassiveHealth", "fail_timeout"): {"inf", "1e308"},
    ("ActiveHealth", "interval"): {"inf", "1e308"},
    ("ActiveHealth", "rise"): BIG_INT,
    ("ActiveHealth", "fall"): BIG_INT,
    ("StoreHealth", "ttl"): {"0"},  # 0: ping on every /health
    ("StoreHealth", "timeout"): set(),
    ("ShopSettings", "cart_ttl"): set(),
    ("ShopSettings", "max_in_flight"): {"None"} | BIG_INT,
    ("ShopSettings", "io_delay"): {"0"},
    ("ShopSettings", "health_ttl"): {"0"},
    ("ShopSettings", "health_timeout"): set(),
    # shared state
    ("RedisBreakerState", "sync_interval"): {"0", "inf", "1e308"},  # 0: read on every call; inf: never re-read
    ("RedisCartStore", "ttl"): set(),  # a Redis TTL: <= 10 years
    ("TokenCartStore", "max_age"): {"1e308"},  # compared in process, never stored
    ("AsyncBulkhead", "max_concurrent"): BIG_INT,
    ("AsyncBulkhead", "max_wait"): {"0", "inf", "1e308"},
    ("SimulatedCapacity", "max_in_flight"): BIG_INT,
    ("SimulatedCapacity", "io_delay"): {"0"},
    # the cluster: counts of processes and failures; fail_timeout goes into nginx's config
    ("Cluster", "instances"): BIG_INT,
    ("Cluster", "max_fails"): {"0"} | BIG_INT,
    ("Cluster", "fail_timeout"): set(),
    ("Cluster", "max_in_flight"): {"None"} | BIG_INT,
    ("Cluster", "io_delay"): {"0"},
    ("Cluster", "startup_timeout"): {"inf", "1e308"},  # a deadline compared against, never slept
}

_redis = fakeredis.FakeRedis()
_async_redis = fakeredis.FakeAsyncRedis()
FACTORIES = {
    "TokenBucketPolicy": lambda **kw: ratelimit.TokenBucketPolicy(**{"capacity": 10, "refill_rate": 1, **kw}),
    "LeakyBucketPolicy": lambda **kw: ratelimit.LeakyBucketPolicy(**{"capacity": 10, "leak_rate": 1, **kw}),
    "FixedWindowPolicy": lambda **kw: ratelimit.FixedWindowPolicy(**{"limit": 10, "window": 1, **kw}),
    "SlidingWindowLogPolicy": lambda **kw: ratelimit.SlidingWindowLogPolicy(**{"limit": 10, "window": 1, **kw}),
    "SlidingWindowCounterPolicy": lambda **kw: ratelimit.SlidingWindowCounterPolicy(**{"limit": 10, "window": 1, **kw}),
    "TokenBucket": lambda **kw: ratelimit.TokenBucket(**{"capacity": 10, "refill_rate": 1, **kw}),
    "FixedWindow": lambda **kw: ratelimit.FixedWindow(**{"limit": 10, "window": 1, **kw}),
    "MemoryStorage": lambda **kw: ratelimit.MemoryStorage(**kw),
    "CacheAside": lambda **kw: cache.CacheAside(lambda k: k, **{"ttl": 10, **kw}),
    "CacheConfig": lambda **kw: cache.CacheConfig(**{"ttl": 10, **kw}),
    "WriteBackCache": lambda **kw: cache.WriteBackCache({}, **{"flush_interval": 10, **kw}),
    "MemoryBackend": lambda **kw: cache.MemoryBackend(**kw),
    "RedisBackend": lambda **kw: cache.RedisBackend(_redis, **kw),
    "CircuitBreaker": lambda **kw: resilience.CircuitBreaker(**kw),
    "BreakerConfig": lambda **kw: resilience.BreakerConfig(**kw),
    "RetryBudget": lambda **kw: resilience.RetryBudget(**kw),
    "Bulkhead": lambda **kw: resilience.Bulkhead(**{"max_concurrent": 2, **kw}),
    "Fallback": lambda **kw: resilience.Fallback(**kw),
    "AutoscalingPolicy": lambda **kw: balancing.AutoscalingPolicy(**kw),
    "ConsistentHash": lambda **kw: balancing.ConsistentHash(["a", "b"], **kw),
    "ManualClock": lambda **kw: clock.ManualClock(**kw),
    "LeakyBucket": lambda **kw: ratelimit.LeakyBucket(**{"capacity": 10, "leak_rate": 1, **kw}),
    "SlidingWindowLog": lambda **kw: ratelimit.SlidingWindowLog(**{"limit": 10, "window": 1, **kw}),
    "SlidingWindowCounter": lambda **kw: ratelimit.SlidingWindowCounter(**{"limit": 10, "window": 1, **kw}),
    "SmoothWeightedRoundRobin": lambda weights: balancing.SmoothWeightedRoundRobin({"a": weights, "b": 1}),
    "NearCache": lambda **kw: cache.NearCache(lambda k: k, **{"ttl": 10, "backend": cache.RedisBackend(_redis),
                                                              "name": "near", **kw}),
    "AsyncNearCache": lambda **kw: cache.AsyncNearCache(
        lambda k: k, **{"ttl": 10, "backend": cache.AsyncRedisBackend(_async_redis), "name": "near", **kw}),
    "WriteThroughCache": lambda **kw: cache.WriteThroughCache({}, **kw),
    "stop_after_attempt": lambda **kw: retry.stop_after_attempt(**kw),
    "stop_after_delay": lambda **kw: retry.stop_after_delay(**kw),
    "wait_fixed": lambda **kw: retry.wait_fixed(**kw),
    "wait_random": lambda **kw: retry.wait_random(**{"low": 0, "high": 1, **kw}) if "high" not in kw
    else retry.wait_random(0.5, kw["high"]),
    "wait_exponential": lambda **kw: retry.wait_exponential(**kw),
    "backoff_delays": lambda **kw: resilience.backoff_delays(**{"attempts": 3, "base": 0.1, **kw}),
    "PassiveHealth": lambda **kw: balancing.PassiveHealth(["a"], **kw),
    "ActiveHealth": lambda **kw: balancing.ActiveHealth(lambda s: True, ["a"], **kw),
    "StoreHealth": lambda **kw: StoreHealth(lambda: True, errors=(OSError,), **kw),
    "ShopSettings": lambda **kw: ShopSettings(**{"instance_id": "A", **kw}),
    "RedisBreakerState": lambda **kw: resilience.RedisBreakerState(_redis, **kw),
    "RedisCartStore": lambda **kw: carts.RedisCartStore(_redis, **{"ttl": 10, **kw}),
    "TokenCartStore": lambda **kw: carts.TokenCartStore(b"k" * 32, **{"max_age": 10, **kw}),
    "AsyncBulkhead": lambda **kw: resilience.AsyncBulkhead(**{"max_concurrent": 2, **kw}),
    "SimulatedCapacity": lambda **kw: SimulatedCapacity(None, **{"max_in_flight": 2, "io_delay": 0, **kw}),
    "Cluster": lambda **kw: Cluster(**{"max_in_flight": 2, **kw}),
}

CASES = [(ctor, param, value) for (ctor, param) in LEGAL for value in TEN]


@pytest.mark.parametrize(("ctor", "param", "value"), CASES, ids=[f"{c}.{p}={v}" for c, p, v in CASES])
def test_each_value_is_accepted_on_purpose_or_refused_naming_the_parameter(ctor, param, value):
    make = FACTORIES[ctor]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        if value in LEGAL[(ctor, param)]:
            make(**{param: TEN[value]})
            return
        with pytest.raises((ValueError, TypeError)) as info:
            make(**{param: TEN[value]})
    assert param in str(info.value), f"{ctor}({param}={value}) raised without naming it: {info.value}"


def test_the_issues_examples():
    with pytest.raises(ValueError, match="sweep_every"):
        ratelimit.MemoryStorage(sweep_every=0)  # was ZeroDivisionError on the first check
    with pytest.raises(ValueError, match="capacity"):
        ratelimit.TokenBucketPolicy(capacity=math.inf, refill_rate=1)  # was OverflowError / negative remaining
    with pytest.raises(ValueError, match="window"):
        ratelimit.FixedWindowPolicy(3, math.inf)  # was a NaN reset, and PEXPIRE failing open on Redis
    with pytest.raises(ValueError, match="limit"):
        ratelimit.FixedWindowPolicy(2**53 + 1, 1)  # past what Lua's doubles count exactly
    assert ratelimit.FixedWindowPolicy(2**53, 1).limit == 2**53
