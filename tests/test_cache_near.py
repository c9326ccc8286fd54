"""Near-cache coherence: a write in one place invalidates every near-cache, and ``drain()`` is the
sync point that makes that observable without waiting on delivery timing."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from pathlib import Path

import fakeredis
import pytest
import redis

from highload.cache import (
    AsyncNearCache,
    AsyncRedisBackend,
    NearCache,
    RedisBackend,
    WriteThroughCache,
)
from highload.clock import ManualClock
from highload.lab.database import Database
from highload.processes import kill_group, spawn

pytestmark = pytest.mark.redis

ROOT = Path(__file__).resolve().parents[1]


def writer(url: str, prefix: str, db_path: str, key: str, name: str) -> None:
    """Process A: rename a user through a write-through cache on the shared Redis."""
    db = Database(db_path)
    cache = WriteThroughCache(db.users, backend=RedisBackend(redis.Redis.from_url(url), prefix=prefix),
                              clock=ManualClock(1000), name="t")
    cache.write(key, {"name": name, "email": "renamed@example.com"})
    print("written", flush=True)


def test_a_write_in_another_process_invalidates_this_near_cache_at_drain(redis_url, tmp_path):
    db_path = str(tmp_path / "shop.db")
    db = Database(db_path)
    db.populate(users=3)
    prefix = f"test:near:{uuid.uuid4().hex}:"
    client = redis.Redis.from_url(redis_url)
    near = NearCache(db.users.load, 60, backend=RedisBackend(client, prefix=prefix), clock=ManualClock(1000),
                     poll_on_read=False, name="t")
    assert near.get("u1")["name"] == "User 1"
    assert near.get("u1")["name"] == "User 1"
    assert near.stats["hits"] == 1 and near.remote.stats["loads"] == 1

    code = f"from tests.test_cache_near import writer; writer({redis_url!r}, {prefix!r}, {db_path!r}, 'u1', 'Renamed')"
    proc = spawn([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        out, _ = proc.communicate(timeout=120)
    finally:
        kill_group(proc)
    assert (proc.returncode, out.strip()) == (0, "written")

    # Nothing was applied yet: until B drains, its local copy is the old one.
    assert near.local.peek("u1").value["name"] == "User 1"
    assert near.drain() == 1
    assert near.local.peek("u1") is None
    queries = db.queries
    assert near.get("u1")["name"] == "Renamed"  # from Redis, where A's write-through put it
    assert db.queries == queries
    near.close()
    client.close()


@pytest.fixture
def pair(redis_client):
    """Two near-caches (think: two app servers) on one Redis, each with its own subscriber."""
    prefix = f"test:near:{uuid.uuid4().hex}:"
    store = {"k": "v1", "other": "o1"}
    caches = [
        NearCache(store.get, 60, backend=RedisBackend(redis_client, prefix=prefix), clock=ManualClock(),
                  store=store, poll_on_read=False, name="t")
        for _ in range(2)
    ]
    yield store, caches
    for c in caches:
        c.close()


def test_a_write_through_one_near_cache_invalidates_the_other(pair):
    store, (a, b) = pair
    assert a.get("k") == b.get("k") == "v1"
    a.write("k", "v2")
    assert store["k"] == "v2"
    assert a.get("k") == "v2"  # the writer dropped its own copy at once
    assert b.get("k") == "v1"  # b has not applied the invalidation yet (no poll on read)
    assert b.drain() == 1
    assert b.get("k") == "v2"


def test_drain_applies_only_the_written_keys_and_counts_them(pair):
    _, (a, b) = pair
    b.get("k")
    b.get("other")
    assert b.drain() == 0
    a.invalidate("k")
    a.invalidate("k")
    assert b.drain() == 2
    assert b.local.peek("k") is None
    assert b.local.peek("other").value == "o1"
    assert b.counters["invalidations"] == 2


def test_reads_apply_invalidations_that_have_already_arrived():
    """With fakeredis, PUBLISH hands the message to every subscriber before it returns, so
    "has arrived" is certain here; on a real server only drain() makes it certain."""
    server = fakeredis.FakeServer()
    store = {"k": "v1"}
    a, b = (NearCache(store.get, 60, backend=RedisBackend(fakeredis.FakeRedis(server=server)),
                      clock=ManualClock(), store=store, name="t") for _ in range(2))
    assert b.get("k") == "v1"
    a.write("k", "v2")
    assert b.get("k") == "v2"
    assert b.counters["invalidations"] == 1
    a.close()
    b.close()


def test_clear_drops_every_local_entry_everywhere(pair):
    _, (a, b) = pair
    b.get("k")
    b.get("other")
    a.remote.clear()
    assert b.drain() == 1
    assert len(b.local) == 0


def test_local_hits_do_not_touch_redis(pair):
    _, (a, _) = pair
    a.get("k")
    a.get("k")
    a.get("k")
    assert a.stats["hits"] == 2 and a.stats["misses"] == 1
    assert a.remote.stats["hits"] + a.remote.stats["misses"] == 1


def test_an_invalidation_applied_during_a_remote_read_keeps_the_old_value_out_of_the_lru(redis_client):
    prefix = f"test:near:{uuid.uuid4().hex}:"
    holder = {}

    def loader(key):
        holder["near"].local.delete(key)  # an invalidation is applied while this read is in flight
        return "old"

    near = NearCache(loader, 60, backend=RedisBackend(redis_client, prefix=prefix), clock=ManualClock(), name="t")
    holder["near"] = near
    assert near.get("k") == "old"
    assert near.local.peek("k") is None
    near.close()


def test_losing_the_subscriber_connection_clears_the_near_cache():
    server = fakeredis.FakeServer()
    near = NearCache(lambda k: "v", 60, backend=RedisBackend(fakeredis.FakeRedis(server=server)),
                     clock=ManualClock(), name="t")
    near.get("k")
    server.connected = False
    assert near.drain() == 0
    assert len(near.local) == 0
    assert near.counters["backend_errors"] == 1
    server.connected = True


def test_a_killed_subscriber_connection_on_real_redis_clears_the_near_cache(redis_url):
    client = redis.Redis.from_url(redis_url)
    near = NearCache(lambda k: "v", 60, backend=RedisBackend(client, prefix=f"test:near:{uuid.uuid4().hex}:"),
                     clock=ManualClock(), name="t")
    near.get("k")
    assert client.client_kill_filter(_type="pubsub", skipme=True) >= 1
    near.drain()
    assert len(near.local) == 0
    assert near.counters["backend_errors"] >= 1
    # ...and it still works afterwards: resubscribed, coherent again.
    near.get("k")
    near.remote.invalidate("k")
    assert near.drain() == 1
    near.close()
    client.close()


def test_async_near_cache_is_invalidated_by_another_at_drain(async_redis_client):
    async def main():
        prefix = f"test:near:{uuid.uuid4().hex}:"
        store = {"k": "v1"}

        async def load(key):
            return store[key]

        a = await AsyncNearCache.create(load, 60, backend=AsyncRedisBackend(async_redis_client, prefix=prefix),
                                        clock=ManualClock(), store=store, poll_on_read=False, name="t")
        b = await AsyncNearCache.create(load, 60, backend=AsyncRedisBackend(async_redis_client, prefix=prefix),
                                        clock=ManualClock(), poll_on_read=False, name="t")
        seen = [await a.get("k"), await b.get("k")]
        await a.write("k", "v2")
        seen.append(await b.get("k"))
        seen.append(await b.drain())
        seen.append(await b.get("k"))
        seen.append(b.stats["hits"])
        await a.aclose()
        await b.aclose()
        await async_redis_client.aclose()
        return seen

    assert asyncio.run(main()) == ["v1", "v1", "v1", 1, "v2", 1]


def test_near_cache_needs_a_redis_backend():
    with pytest.raises(TypeError, match="backend must be a RedisBackend"):
        NearCache(lambda k: k, 60, backend=None, name="t")


# -- how often a read polls for invalidations --------------------------------------------------


class _Polls:
    """Counts poll() calls and drives the real-time clock (``time.monotonic``) by hand."""

    def __init__(self, monkeypatch, near, is_async=False):
        self.now, self.count = 100.0, 0
        monkeypatch.setattr(time, "monotonic", lambda: self.now)
        original = near.poll

        if is_async:
            async def poll():
                self.count += 1
                return await original()
        else:
            def poll():
                self.count += 1
                return original()

        near.poll = poll


@pytest.mark.parametrize("interval, expected", [(0.001, [1, 1, 2, 2]), (0.0, [1, 2, 3, 4])])
def test_reads_poll_at_most_once_per_poll_interval(monkeypatch, interval, expected):
    near = NearCache(lambda k: k.upper(), 60, backend=RedisBackend(fakeredis.FakeRedis()),
                     clock=ManualClock(), poll_interval=interval, name="t")
    polls = _Polls(monkeypatch, near)
    seen = []
    for step in (0.0, 0.0005, 0.0006, 0.0):  # t = 100, 100.0005, 100.0011, 100.0011
        polls.now += step
        assert near.get("k") == "K"
        seen.append(polls.count)
    assert seen == expected


def test_poll_on_read_false_never_polls(monkeypatch):
    near = NearCache(lambda k: k, 60, backend=RedisBackend(fakeredis.FakeRedis()), clock=ManualClock(),
                     poll_on_read=False, name="t")
    polls = _Polls(monkeypatch, near)
    for _ in range(3):
        polls.now += 1
        near.get("k")
    assert polls.count == 0


def test_async_reads_poll_at_most_once_per_poll_interval(monkeypatch):
    async def scenario():
        near = await AsyncNearCache.create(lambda k: k.upper(), 60,
                                           backend=AsyncRedisBackend(fakeredis.FakeAsyncRedis()),
                                           clock=ManualClock(), poll_interval=0.001, name="t")
        polls = _Polls(monkeypatch, near, is_async=True)
        seen = []
        for step in (0.0, 0.0005, 0.0006):
            polls.now += step
            assert await near.get("k") == "K"
            seen.append(polls.count)
        await near.aclose()
        return seen

    assert asyncio.run(scenario()) == [1, 1, 2]


def test_poll_interval_is_validated():
    with pytest.raises(ValueError, match="poll_interval must be >= 0, got -1"):
        NearCache(lambda k: k, 60, backend=RedisBackend(fakeredis.FakeRedis()), poll_interval=-1, name="t")
