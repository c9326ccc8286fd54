"""Single-flight across threads and processes on a real redis-server: 34 callers, one load.

32 threads of this process and 2 child processes miss the same key together. The loader
cannot finish until every other caller has arrived: each caller that waits (for another
thread's load, or for another process's lock) pushes onto a Redis list from the cache's
own "coalesced" / "lock_wait" events, and the loader pops 33 of them with BLPOP. So the
test proves that all 34 were waiting at once, and that the loader still ran exactly once.
The lock's TTL (an hour) outlives the test, so no caller ever loads because a lock
expired. BLPOP's timeout only turns a hang into a failure; nothing here is timed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
import redis

from highload.cache import CacheAside, RedisBackend
from highload.clock import ManualClock
from highload.processes import kill_group

pytestmark = pytest.mark.redis

THREADS = 32
PROCESSES = 2
CALLERS = THREADS + PROCESSES
KEY = "catalog:bestsellers"
WAIT = 120
ROOT = Path(__file__).resolve().parents[1]


class BarrierLoader:
    """Counts its runs in Redis, then waits until the other CALLERS - 1 callers have arrived."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client, self.prefix = client, prefix

    def __call__(self, key: str) -> str:
        self.client.incr(self.prefix + "loads")
        for arrived in range(CALLERS - 1):
            if self.client.blpop([self.prefix + "arrivals"], timeout=WAIT) is None:
                raise AssertionError(f"only {arrived} of {CALLERS - 1} other callers arrived")
        return f"value of {key}"


def build(url: str, prefix: str) -> CacheAside:
    client = redis.Redis.from_url(url)
    cache = CacheAside(
        BarrierLoader(client, prefix), 600, clock=ManualClock(1000),
        backend=RedisBackend(client, prefix=prefix), single_flight=True, lock_ttl=3600,name="t"
    )
    cache.subscribe(lambda event: client.rpush(prefix + "arrivals", event.kind), "coalesced", "lock_wait")
    return cache


def child(url: str, prefix: str) -> None:
    """One caller in its own process; prints what it got as JSON."""
    print(json.dumps(build(url, prefix).get(KEY)), flush=True)


def test_threads_and_processes_missing_one_key_run_the_loader_once(redis_url):
    prefix = f"test:sf:{uuid.uuid4().hex}:"
    code = f"from tests.test_cache_concurrency import child; child({redis_url!r}, {prefix!r})"
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    procs = [
        subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                         text=True, start_new_session=True)
        for _ in range(PROCESSES)
    ]
    try:
        cache = build(redis_url, prefix)
        start = threading.Barrier(THREADS, timeout=WAIT)
        results, errors = [], []

        def call():
            try:
                start.wait()
                results.append(cache.get(KEY))
            except Exception as exc:
                errors.append(exc)

        threads = [threading.Thread(target=call) for _ in range(THREADS)]
        for t in threads:
            t.start()
        outputs = [p.communicate(timeout=WAIT)[0] for p in procs]
        for t in threads:
            t.join(timeout=WAIT)
        assert errors == []
        assert results == [f"value of {KEY}"] * THREADS
        assert [p.returncode for p in procs] == [0] * PROCESSES
        assert [json.loads(out) for out in outputs] == [f"value of {KEY}"] * PROCESSES
        check = redis.Redis.from_url(redis_url)
        assert int(check.get(prefix + "loads")) == 1
        assert check.llen(prefix + "arrivals") == 0  # exactly CALLERS - 1 callers waited, once each
        assert check.exists(RedisBackend(check, prefix=prefix).entry_key(KEY) + ":lock") == 0
        check.close()
    finally:
        for p in procs:
            kill_group(p)
