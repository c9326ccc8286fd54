"""Namespaces (issue 11, section 1): two definitions on one Redis never share state.

The six measured collisions, each between two real processes (tests/namespace_worker.py) on a
real redis-server, and the rate limiter's memory storage agreeing with Redis on each limiter
scenario (two limiters bound to one MemoryStorage stand for the two processes).
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import fakeredis
import pytest

from highload.cache import CacheAside, RedisBackend, WriteBackCache
from highload.ratelimit import (
    FixedWindowPolicy,
    MemoryStorage,
    RateLimiter,
    SlidingWindowLogPolicy,
    TokenBucketPolicy,
)

ROOT = Path(__file__).resolve().parent.parent


class Process:
    """One app process on the shared Redis, driven line by line."""

    def __init__(self, url: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.namespace_worker", url], cwd=ROOT,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def __call__(self, op: str, **kw):
        self.proc.stdin.write(json.dumps({"op": op, **kw}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"worker died on {op} {kw}")
        return json.loads(line)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


@pytest.fixture
def two(redis_url):
    a, b = Process(redis_url), Process(redis_url)
    yield a, b
    a.close()
    b.close()


def _uid() -> str:
    return uuid.uuid4().hex[:8]


# ---- the limiter scenarios: one function drives both storages --------------------------------

class Memory:
    """The two 'processes' as two limiters on one MemoryStorage (what memory can share)."""

    def __init__(self) -> None:
        self.storage, self.now, self.objects, self.events = MemoryStorage(), [0.0], {}, []

    def __call__(self, op, **kw):
        if op == "limiter":
            cls, args, options = kw["policy"]
            import highload.ratelimit as rl

            lim = RateLimiter(getattr(rl, cls)(*args, **options), self.storage, clock=lambda: self.now[0])
            if hasattr(lim, "subscribe"):
                lim.subscribe(lambda e: self.events.append([e.name, e.key, e.namespace]))
            self.objects[kw["id"]] = lim
            return None
        if op == "events":
            out, self.events[:] = list(self.events), []
            return out
        self.now[0] = kw["t"]
        if op == "allow":
            return self.objects[kw["id"]].allow(kw["key"])
        d = self.objects[kw["id"]].check(kw["key"])
        return [d.allowed, d.remaining]


def login_next_to_api(a, b, client):
    """A login limit of 5/min next to an API limit of 100/s, same client: 5 logins a minute."""
    a("limiter", id="login", policy=["FixedWindowPolicy", [5, 60], {}])
    b("limiter", id="api", policy=["FixedWindowPolicy", [100, 1], {}])
    logins = 0
    for second in range(60):
        b("allow", id="api", key=client, t=6000 + second + 0.5)
        logins += sum(a("allow", id="login", key=client, t=6000 + second + 0.25 + i / 100) for i in range(4))
    return logins


def small_bucket_next_to_big(a, b, client):
    """Three calls on TokenBucketPolicy(3, 0) must not drain TokenBucketPolicy(1000, 10)."""
    a("limiter", id="small", policy=["TokenBucketPolicy", [3, 0], {}])
    b("limiter", id="big", policy=["TokenBucketPolicy", [1000, 10], {}])
    for _ in range(3):
        a("allow", id="small", key=client, t=100.0)
    return b("check", id="big", key=client, t=100.0)


def explicit_name_changed_parameters(a, b, client):
    """Under one explicit name, other parameters: reset and an event, never reinterpreted."""
    a("limiter", id="old", policy=["FixedWindowPolicy", [3, 60], {"name": f"login-{client}"}])
    b("limiter", id="new", policy=["FixedWindowPolicy", [10, 60], {"name": f"login-{client}"}])
    used = [a("allow", id="old", key=client, t=60.0) for _ in range(4)]  # 3 admitted, 1 refused
    first = b("check", id="new", key=client, t=61.0)
    return used, first, b("events"), a("events")


def explicit_name_changed_log_parameters(a, b, client):
    """The same for a sliding log (a list, not a hash): its entries carry the fingerprint."""
    a("limiter", id="old", policy=["SlidingWindowLogPolicy", [3, 60], {"name": f"log-{client}"}])
    b("limiter", id="new", policy=["SlidingWindowLogPolicy", [10, 30], {"name": f"log-{client}"}])
    used = [a("allow", id="old", key=client, t=60.0) for _ in range(4)]  # 3 admitted, 1 refused
    first = b("check", id="new", key=client, t=61.0)
    more = [b("allow", id="new", key=client, t=61.5) for _ in range(9)]  # 9 more fit in the new 10
    back = a("check", id="old", key=client, t=62.0)  # the old policy finds the new one's log: reset
    return used, first, more, back, b("events"), a("events")


def explicit_name_changed_algorithm(a, b, client):
    a("limiter", id="log", policy=["SlidingWindowLogPolicy", [3, 60], {"name": f"alg-{client}"}])
    b("limiter", id="bucket", policy=["TokenBucketPolicy", [3, 1], {"name": f"alg-{client}"}])
    used = [a("allow", id="log", key=client, t=60.0) for _ in range(3)]
    first = b("check", id="bucket", key=client, t=60.0)
    back = a("check", id="log", key=client, t=60.0)  # the log finds the bucket's hash: reset again
    return used, first, back, b("events"), a("events")


def test_login_limit_is_not_reset_by_the_api_limit(two):
    assert login_next_to_api(*two, _uid()) == 5  # was 240 on one Redis (memory: 5)


def test_a_small_bucket_does_not_drain_a_big_one(two):
    assert small_bucket_next_to_big(*two, _uid()) == [True, 999]  # was drained to 0


def test_explicit_name_with_other_parameters_resets_and_reports(two):
    client = _uid()
    used, first, events_b, events_a = explicit_name_changed_parameters(*two, client)
    assert used == [True, True, True, False]
    assert first == [True, 9]  # a fresh window of 10, not 3 used of it (nor a 4th call admitted)
    assert events_b == [["state_reset", client, f"login-{client}"]] and events_a == []


def test_explicit_name_with_other_sliding_log_parameters_resets_and_reports(two):
    client = _uid()
    used, first, more, back, events_b, events_a = explicit_name_changed_log_parameters(*two, client)
    assert used == [True, True, True, False]
    assert first == [True, 9]  # a fresh log of 10, not the old one's 3 entries read with new parameters
    assert more == [True] * 9
    assert back == [True, 2]
    assert events_b == [["state_reset", client, f"log-{client}"]]
    assert events_a == [["state_reset", client, f"log-{client}"]]


def test_explicit_name_with_another_algorithm_resets_and_reports(two):
    client = _uid()
    used, first, back, events_b, events_a = explicit_name_changed_algorithm(*two, client)
    assert used == [True] * 3
    assert first == [True, 2]
    assert back == [True, 2]
    assert events_b == [["state_reset", client, f"alg-{client}"]]
    assert events_a == [["state_reset", client, f"alg-{client}"]]


@pytest.mark.parametrize("scenario", [login_next_to_api, small_bucket_next_to_big, explicit_name_changed_parameters],
                         ids=lambda f: f.__name__)
def test_memory_storage_agrees_with_redis(two, scenario):
    client = _uid()
    memory = Memory()
    assert scenario(memory, memory, client) == scenario(*two, client)


def test_memory_agrees_on_an_algorithm_change():
    # The sliding log's memory limiter has no list/hash distinction to trip on: the storage
    # compares fingerprints, with the same outcome and events as Redis.
    memory, client = Memory(), _uid()
    used, first, back, events_b, events_a = explicit_name_changed_algorithm(memory, memory, client)
    assert (used, first, back) == ([True] * 3, [True, 2], [True, 2])
    assert len(events_b + events_a) == 2  # one MemoryStorage's listeners here share one list


def test_memory_agrees_on_other_sliding_log_parameters(two):
    client = _uid()
    memory = Memory()
    *got, events_b, events_a = explicit_name_changed_log_parameters(memory, memory, client)
    *want, redis_b, redis_a = explicit_name_changed_log_parameters(*two, client)
    assert got == want
    assert events_b + events_a == redis_b + redis_a  # one MemoryStorage's listeners share one list


def test_default_namespace_is_algorithm_and_a_stable_digest():
    ns = FixedWindowPolicy(5, 60).namespace
    assert ns.startswith("fixed_window.") and len(ns) == len("fixed_window.") + 12
    assert ns == FixedWindowPolicy(5, 60.0).namespace != FixedWindowPolicy(100, 1).namespace
    assert SlidingWindowLogPolicy(5, 60).namespace.split(".")[1] != FixedWindowPolicy(5, 60).fingerprint
    assert TokenBucketPolicy(3, 1, name="free").namespace == "free"
    # the same digest in another interpreter (never Python's randomised hash())
    out = subprocess.run([sys.executable, "-c", "from highload.ratelimit import FixedWindowPolicy as P;"
                          "print(P(5, 60).namespace)"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ns


@pytest.mark.parametrize("name", ["a:b", "{tag}", "a|b", "with space", "x" * 65])
def test_policy_names_cannot_nest_or_tag(name):
    with pytest.raises(ValueError, match="name"):
        FixedWindowPolicy(5, 60, name=name)


# ---- the cache scenarios ---------------------------------------------------------------------

def test_two_caches_with_different_loaders_never_answer_for_each_other(two):
    a, b = two
    uid = _uid()
    a("aside", id="users", loader="user", name=f"users-{uid}")
    b("aside", id="products", loader="product", name=f"products-{uid}")
    assert a("get", id="users", key="42") == {"user": "42"}
    assert b("get", id="products", key="42") == {"product": "42"}  # was {'user': '42'}


def test_a_write_back_cache_never_flushes_another_ones_keys(two):
    a, b = two
    uid = _uid()
    a("writeback", id="orders", name=f"orders-{uid}")
    b("writeback", id="carts", name=f"carts-{uid}")
    a("write", id="orders", key="k1", value="order")
    b("write", id="carts", key="k2", value="cart")
    assert b("flush", id="carts") == {"k2": "cart"}  # was {"k1": ..., "k2": ...}: A's write lost
    assert a("flush", id="orders") == {"k1": "order"}


def test_clear_never_touches_a_cache_on_a_longer_prefix(two):
    a, b = two
    uid = _uid()
    a("aside", id="app", loader="user", name="c", prefix=f"app{uid}:")
    b("aside", id="users", loader="user", name="c", prefix=f"app{uid}:users:")
    a("get", id="app", key="1")
    b("get", id="users", key="1")
    a("clear", id="app")
    import redis as _redis

    client = _redis.Redis.from_url(a.proc.args[-1])
    assert client.keys(f"app{uid}:users:*")  # was deleted by the other cache's clear()
    assert not client.keys(f"app{uid}:c|*")


def test_a_cache_on_a_shared_backend_requires_a_name():
    backend = RedisBackend(fakeredis.FakeRedis())
    for make in (lambda: CacheAside(lambda k: k, 60, backend=backend),
                 lambda: WriteBackCache({}, 10, buffer=__import__("highload.cache").cache.RedisBuffer(
                     fakeredis.FakeRedis()))):
        with pytest.raises(TypeError, match="name= is required"):
            make()
    with pytest.raises(ValueError, match="name"):
        CacheAside(lambda k: k, 60, backend=backend, name="a|b")
    assert CacheAside(lambda k: k, 60).name == "cache"  # memory keeps its default
