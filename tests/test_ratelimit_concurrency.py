"""Atomicity, proven without timing: contention can never admit more than the limit.

The naive limiter (GET, decide, SET) is forced to lose its race with a barrier between its
GET and its SET, so it over-admits every time; the Lua limiter under the same load does not.
"""

from __future__ import annotations

import multiprocessing
import threading
import uuid

import pytest
import redis

from highload.clock import ManualClock
from highload.lab.naive_limiter import NaiveCounterLimiter
from highload.ratelimit import RateLimiter, RedisStorage, TokenBucketPolicy, scripts
from highload.redis_client import serve_embedded

pytestmark = pytest.mark.redis

CAPACITY = 50
THREADS = 8
PROCESSES = 2
ATTEMPTS = 40  # per worker: 10 workers x 40 = 400 attempts on a 50-token bucket


def _hammer(url: str, prefix: str, start, results) -> None:
    limiter = RateLimiter(TokenBucketPolicy(CAPACITY, 0), RedisStorage(redis.Redis.from_url(url)),
                          clock=ManualClock(), prefix=prefix)
    start.wait()
    results.put(sum(limiter.allow("bucket") for _ in range(ATTEMPTS)))


@pytest.fixture(params=["redis-server", "fakeredis-tcp"])
def shared_url(request):
    """A store several processes can share: the private redis-server, or fakeredis over TCP."""
    if request.param == "redis-server":
        yield request.getfixturevalue("redis_url")
        return
    server, url = serve_embedded()
    # fakeredis 2.40's TCP server drops a connection when EVALSHA misses (NOSCRIPT) while other
    # clients run scripts; loading the script first sidesteps that. Real Redis needs no help.
    for brief in (False, True):
        redis.Redis.from_url(url).script_load(scripts.single("token_bucket", brief))
    yield url
    server.shutdown()
    server.server_close()


def test_threads_and_processes_never_exceed_capacity(shared_url):
    ctx = multiprocessing.get_context("spawn")
    prefix = f"conc:{uuid.uuid4().hex}:"
    start, results = ctx.Event(), ctx.Queue()
    workers = [ctx.Process(target=_hammer, args=(shared_url, prefix, start, results)) for _ in range(PROCESSES)]
    workers += [threading.Thread(target=_hammer, args=(shared_url, prefix, start, results)) for _ in range(THREADS)]
    for w in workers:
        w.start()
    start.set()
    admitted = [results.get(timeout=120) for _ in workers]
    for w in workers:
        w.join(timeout=60)
    assert sum(admitted) == CAPACITY, f"{len(workers)} workers x {ATTEMPTS} attempts admitted {sum(admitted)}"


def _race(allow, workers: int) -> int:
    admitted = []
    threads = [threading.Thread(target=lambda: admitted.append(allow())) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return sum(admitted)


def test_naive_get_then_set_over_admits_every_time(redis_client):
    for _ in range(3):
        barrier = threading.Barrier(THREADS, timeout=30)
        naive = NaiveCounterLimiter(redis_client, limit=5, prefix=f"naive:{uuid.uuid4().hex}:", between=barrier.wait)
        admitted = _race(lambda n=naive: n.allow("login"), THREADS)
        assert admitted == THREADS, "every client read count 0 before anyone wrote, so all were admitted"
        assert admitted > 5


def test_lua_limiter_under_the_same_barrier_admits_exactly_the_limit(redis_client):
    for _ in range(3):
        barrier = threading.Barrier(THREADS, timeout=30)
        lua = RateLimiter(TokenBucketPolicy(5, 0), RedisStorage(redis_client), clock=ManualClock(),
                          prefix=f"lua:{uuid.uuid4().hex}:")

        def allow(limiter=lua, barrier=barrier):
            barrier.wait()  # all clients arrive together, as they did for the naive limiter
            return limiter.allow("login")

        assert _race(allow, THREADS) == 5


def test_naive_limiter_without_contention_is_correct(redis_client):
    naive = NaiveCounterLimiter(redis_client, limit=3, prefix=f"solo:{uuid.uuid4().hex}:")
    assert [naive.allow("k") for _ in range(5)] == [True, True, True, False, False]
