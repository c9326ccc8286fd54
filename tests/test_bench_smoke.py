"""`python -m bench ratelimit --quick` and `python -m bench resilience --quick` run end to end
and print every case's row.

A smoke test only: it asserts nothing about any timing or ratio.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

ROWS = [
    "floor: redis-py EVALSHA 'return 1'",
    "highload token bucket allow()",
    "highload sliding window log allow()",
    "highload sliding window counter allow()",
    "limits FixedWindow.hit()",
    "limits MovingWindow.hit()",
    "limits SlidingWindowCounter.hit()",
    "highload check_all(3 token buckets)",
    "highload RateLimiter(TokenBucketPolicy).allow(key)",
    "highload TokenBucket.allow()",
    "FastAPI GET / + RateLimitMiddleware",
]


@pytest.mark.skipif(shutil.which("redis-server") is None,
                    reason="redis-server is not installed (Debian: apt-get install redis-server)")
@pytest.mark.timeout(60)
def test_bench_ratelimit_quick_prints_every_row():
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "ratelimit", "--quick"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=55,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    missing = [row for row in ROWS if row not in proc.stdout]
    assert not missing, f"rows missing from the table: {missing}\n{proc.stdout}"
    http_row = next(line for line in proc.stdout.splitlines()
                    if line.startswith("FastAPI GET / + RateLimitMiddleware"))
    if shutil.which("wrk") is None:
        assert "SKIP" in http_row
    else:
        assert "SKIP" not in http_row, http_row


RESILIENCE_ROWS = [
    "highload CircuitBreaker().call(f)",
    "highload CircuitBreaker(record_latency=True).call(f)",
    "pybreaker CircuitBreaker().call(f)",
    "highload open: call(f) -> CircuitOpenError",
    "pybreaker open: call(f) -> CircuitBreakerError",
    "highload CircuitBreaker(shared=RedisBreakerState).call(f)",
    "pybreaker CircuitBreaker(CircuitRedisStorage).call(f)",
    "redis-py GET (one round trip)",
    "highload Retry().call(f)",
    "tenacity Retrying(stop=stop_after_attempt(3))(f)",
    "highload @Retry() decorated f()",
    "tenacity @retry(stop=stop_after_attempt(3)) f()",
]


@pytest.mark.timeout(60)
def test_bench_resilience_quick_prints_every_row():
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "resilience", "--quick"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=55,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    missing = [row for row in RESILIENCE_ROWS if row not in proc.stdout]
    assert not missing, f"rows missing from the table: {missing}\n{proc.stdout}"
    assert any(line.endswith(" info") and "SKIP" in line for line in proc.stdout.splitlines()), \
        "the footer counts the rows by status"
    redis_row = next(line for line in proc.stdout.splitlines()
                     if line.startswith("highload CircuitBreaker(shared=RedisBreakerState).call(f)"))
    if shutil.which("redis-server") is None:
        assert "SKIP" in redis_row
    else:
        assert "SKIP" not in redis_row, redis_row


SCALING_ROWS = ["1 instance", "2 instances", "3 instances", "embedded proxy (asyncio + httpx)",
                "InMemoryCartStore", "RedisCartStore (private redis-server)",
                "floor: next(itertools.cycle(servers))", "SmoothWeightedRoundRobin.next()",
                "LeastConnections acquire()+release()", "PowerOfTwoChoices acquire()+release()",
                "ConsistentHash.pick(key), 100 replicas"]


@pytest.mark.timeout(240)
def test_bench_scaling_quick_prints_every_row():
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    proc = subprocess.run([sys.executable, "-m", "bench", "scaling", "--quick"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=230)
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    missing = [row for row in SCALING_ROWS if row not in proc.stdout]
    assert not missing, f"rows missing from the tables: {missing}\n{proc.stdout}"
    complete = all(shutil.which(tool) for tool in ("wrk", "redis-server")) and highload_nginx() is not None
    scaling = [line for line in proc.stdout.splitlines() if line.startswith(("2 instances", "3 instances"))]
    assert len(scaling) == 4, proc.stdout
    assert all(("SKIP" in line) != complete for line in scaling), proc.stdout


def highload_nginx():
    from highload.nginx import find_nginx

    return find_nginx()


CACHE_ROWS = ["highload CacheAside(RedisBackend).get(key)", "highload NearCache.get(key), local hit",
              "no protection", "single_flight=True", "write-through", "write-back, flush every 1 s"]


@pytest.mark.timeout(120)
def test_bench_cache_quick_prints_every_row():
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    proc = subprocess.run([sys.executable, "-m", "bench", "cache", "--quick"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=110)
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    missing = [row for row in CACHE_ROWS if row not in proc.stdout]
    if shutil.which("redis-server") is None:
        assert "SKIP" in proc.stdout
        return
    assert not missing, f"rows missing from the tables: {missing}\n{proc.stdout}"
