"""The Redis layer on its own terms: locks released by compare-and-delete, cross-process waits,
codecs, NOSCRIPT recovery, and the fail-open policy when Redis is unreachable."""

from __future__ import annotations

import asyncio
import struct
import threading
import uuid

import fakeredis
import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from highload.cache import (
    AsyncCacheAside,
    AsyncRedisBackend,
    CacheAside,
    Entry,
    PickleCodec,
    RedisBackend,
    RedisBuffer,
    WriteBackCache,
    WriteThroughCache,
)
from highload.cache.entry import LATER
from highload.clock import ManualClock
from highload.processes import free_port

pytestmark = pytest.mark.redis

WAIT = 30


@pytest.fixture
def backend(redis_client):
    return RedisBackend(redis_client, prefix=f"test:redis:{uuid.uuid4().hex}:")


# -- locks ------------------------------------------------------------------------------------------

def test_lock_is_exclusive_and_expires_after_its_ttl(backend):
    assert backend.acquire("k", "me", 60) is True
    assert backend.acquire("k", "you", 60) is False
    pttl = backend.client.pttl(backend.entry_key("k") + ":lock")
    assert 0 < pttl <= 60_000


def test_release_deletes_only_the_owners_lock(backend):
    lock = backend.entry_key("k") + ":lock"
    backend.acquire("k", "me", 60)
    backend.release("k", "you")  # not the owner (say, my lock expired and you took it)
    assert backend.client.get(lock) == b"me"
    backend.release("k", "me")
    assert backend.client.exists(lock) == 0


def test_release_wakes_a_process_waiting_for_the_lock(backend):
    backend.acquire("k", "holder", 600)
    woke = []
    waiter = threading.Thread(target=lambda: woke.append(backend.wait_unlocked("k", WAIT)))
    waiter.start()
    backend.release("k", "holder")  # whether the waiter subscribed yet or not, it must return True
    waiter.join(WAIT)
    assert woke == [True]


def test_wait_unlocked_returns_at_once_when_there_is_no_lock(backend):
    assert backend.wait_unlocked("free", WAIT) is True


def test_a_waiting_process_loads_itself_when_the_holder_released_without_filling(backend):
    """The lock holder's load failed: it released the lock, and a waiter takes over."""
    backend.scoped("t").acquire("k", "other process", 600)
    waiting = threading.Event()
    cache = CacheAside(lambda k: "mine", 60, clock=ManualClock(), backend=backend, single_flight=True, name="t")
    cache.subscribe(lambda event: waiting.set(), "lock_wait")
    result = []
    t = threading.Thread(target=lambda: result.append(cache.get("k")))
    t.start()
    assert waiting.wait(WAIT)
    backend.scoped("t").release("k", "other process")
    t.join(WAIT)
    assert result == ["mine"]
    assert cache.stats["loads"] == 1 and cache.counters["lock_waits"] == 1


def test_a_waiting_process_gets_the_value_the_holder_filled(backend):
    backend.scoped("t").acquire("k", "other process", 600)
    waiting = threading.Event()
    cache = CacheAside(lambda k: "mine", 60, clock=ManualClock(), backend=backend, single_flight=True, name="t")
    cache.subscribe(lambda event: waiting.set(), "lock_wait")
    result = []
    t = threading.Thread(target=lambda: result.append(cache.get("k")))
    t.start()
    assert waiting.wait(WAIT)
    _, token = backend.scoped("t").lookup("k")
    backend.scoped("t").fill("k", Entry("theirs", 0.0, 60.0), token)
    backend.scoped("t").release("k", "other process")
    t.join(WAIT)
    assert result == ["theirs"]
    assert cache.stats["loads"] == 0


def test_after_lock_wait_the_caller_loads_without_the_lock(backend):
    """A holder that hangs must not hang everyone: after lock_wait, load anyway (fail-open)."""
    backend.scoped("t").acquire("k", "hung process", 600)
    cache = CacheAside(lambda k: "mine", 60, clock=ManualClock(), backend=backend, single_flight=True, lock_wait=0, name="t")
    assert cache.get("k") == "mine"
    assert cache.counters["lock_waits"] == 1 and cache.stats["loads"] == 1


def test_async_waiting_task_gets_the_value_the_holder_filled(async_redis_client):
    async def main():
        backend = AsyncRedisBackend(async_redis_client, prefix=f"test:redis:{uuid.uuid4().hex}:")
        await backend.scoped("t").acquire("k", "other", 600)
        waiting = asyncio.Event()
        cache = AsyncCacheAside(lambda k: "mine", 60, clock=ManualClock(), backend=backend, single_flight=True, name="t")
        cache.subscribe(lambda event: waiting.set(), "lock_wait")
        task = asyncio.ensure_future(cache.get("k"))
        await waiting.wait()
        _, token = await backend.scoped("t").lookup("k")
        await backend.scoped("t").fill("k", Entry("theirs", 0.0, 60.0), token)
        await backend.scoped("t").release("k", "other")
        value = await task
        await async_redis_client.aclose()
        return value, cache.stats["loads"]

    assert asyncio.run(main()) == ("theirs", 0)


# -- storage ----------------------------------------------------------------------------------------

def test_fill_is_refused_after_a_write_since_the_lookup(backend):
    _, token = backend.lookup("k")
    backend.put("k", Entry("written", 0.0, 60.0))
    assert backend.fill("k", Entry("loaded before the write", 0.0, 60.0), token) is False
    assert backend.peek("k").value == "written"
    entry, token = backend.lookup("k")
    assert entry.value == "written" and token is LATER, "a hit costs one GET: no token read"
    token = backend.token("k")  # what a loader reads before it loads
    assert backend.fill("k", Entry("loaded after", 0.0, 60.0), token) is True


def test_a_write_after_the_token_is_read_still_cancels_the_fill(backend):
    backend.put("k", Entry("old", 0.0, 60.0))
    entry, token = backend.lookup("k")
    assert token is LATER
    token = backend.token("k")
    backend.put("k", Entry("written while loading", 0.0, 60.0))
    assert backend.fill("k", Entry("loaded", 0.0, 60.0), token) is False
    assert backend.peek("k").value == "written while loading"


def test_entries_expire_in_redis_after_ttl_plus_stale_window(backend):
    backend.put("k", Entry("v", 0.0, 10.0, 5.0))
    assert 0 < backend.client.pttl(backend.entry_key("k")) <= 15_000
    backend.put("forever", Entry("v", 0.0))
    assert backend.client.pttl(backend.entry_key("forever")) == -1


def test_pickle_codec_round_trips_what_json_cannot(redis_client):
    value = {("sku", 1): (1, 2)}
    cache = CacheAside(lambda k: value, 60, clock=ManualClock(),
                       backend=RedisBackend(redis_client, prefix=f"test:p:{uuid.uuid4().hex}:", codec=PickleCodec()), name="t")
    cache.get("k")
    assert cache.get("k") == value and cache.stats["hits"] == 1


def test_json_codec_is_the_default(backend):
    backend.put("k", Entry({"a": [1, 2]}, 1.5, 60.0))
    raw = backend.client.get(backend.entry_key("k"))
    assert raw == b"e1" + struct.pack("<4d", 1.5, 60.0, 0.0, 0.0) + b'{"a":[1,2]}'


@pytest.mark.parametrize("body, value", [(b' {"a": [1, 2]} ', {"a": [1, 2]}), (b'"text"', "text"), (b"null", None)])
def test_json_written_by_another_client_is_read_whatever_its_spacing(backend, body, value):
    backend.client.set(backend.entry_key("k"), b"e1" + struct.pack("<4d", 1.5, 60.0, 0.0, 0.0) + body)
    assert backend.peek("k") == Entry(value, 1.5, 60.0)


def test_json_with_trailing_bytes_is_a_miss(backend):
    backend.client.set(backend.entry_key("k"), b"e1" + struct.pack("<4d", 1.5, 60.0, 0.0, 0.0) + b'{"a":1} x')
    assert backend.peek("k") is None


def test_an_entry_in_another_format_is_a_miss_not_an_error(backend):
    backend.client.set(backend.entry_key("k"), b'1.5 60.0 0.0 0.0\n{"a":[1,2]}')  # an older text header
    assert backend.peek("k") is None


def test_an_unreadable_entry_is_a_miss(backend):
    backend.client.set(backend.entry_key("k"), b"not an entry")
    cache = CacheAside(lambda k: "reloaded", 60, clock=ManualClock(), backend=backend, name="t")
    assert cache.get("k") == "reloaded"
    assert cache.get("k") == "reloaded" and cache.stats["loads"] == 1


def test_scripts_are_reloaded_after_script_flush(backend):
    backend.put("a", Entry(1, 0.0, 60.0))
    backend.client.script_flush()
    backend.put("b", Entry(2, 0.0, 60.0))
    assert backend.peek("b").value == 2


def test_clear_deletes_only_this_prefix(redis_client):
    mine = RedisBackend(redis_client, prefix=f"test:mine:{uuid.uuid4().hex}:")
    theirs = RedisBackend(redis_client, prefix=f"test:theirs:{uuid.uuid4().hex}:")
    mine.put("k", Entry(1, 0.0, 60.0))
    theirs.put("k", Entry(2, 0.0, 60.0))
    mine.clear()
    assert mine.peek("k") is None and theirs.peek("k").value == 2


def test_server_time_is_redis_time_and_works_as_the_clock(backend):
    seconds, micros = backend.client.time()
    assert backend.server_time() >= seconds + micros / 1_000_000
    cache = CacheAside(lambda k: "v", 3600, clock=backend.server_time, backend=backend, name="t")
    cache.get("k")
    cache.get("k")
    assert cache.stats == {"hits": 1, "misses": 1, "loads": 1}


def test_int_keys_share_the_str_key(backend):
    backend.put(7, Entry("seven", 0.0, 60.0))
    assert backend.peek("7").value == "seven"
    with pytest.raises(TypeError, match="key must be a str, bytes or int"):
        backend.peek(("tuple", "key"))


# -- fail-open ----------------------------------------------------------------------------------------

@pytest.fixture(params=["fakeredis-down", "refused-port"])
def down(request):
    """A client whose Redis is unreachable: fakeredis told to fail, or a port nobody listens on."""
    if request.param == "fakeredis-down":
        server = fakeredis.FakeServer()
        server.connected = False
        return fakeredis.FakeRedis(server=server)
    return redis.Redis(port=free_port(), retry=Retry(NoBackoff(), 0))


@pytest.mark.parametrize("single_flight", [False, True])
def test_reads_fail_open_to_the_loader_when_redis_is_down(down, single_flight):
    calls = []
    events = []
    cache = CacheAside(lambda k: calls.append(k) or "from db", 60, clock=ManualClock(),
                       backend=RedisBackend(down), single_flight=single_flight, name="t")
    cache.subscribe(events.append, "backend_error")
    assert cache.get("k") == "from db"
    assert cache.get("k") == "from db"
    assert calls == ["k", "k"]  # nothing could be cached
    assert cache.counters["backend_errors"] >= 2
    assert events[0].detail["op"] in {"lookup", "acquire"}


def test_invalidation_raises_when_redis_is_down(down):
    cache = CacheAside(lambda k: 1, 60, backend=RedisBackend(down), name="t")
    with pytest.raises(redis.ConnectionError):
        cache.invalidate("k")
    assert cache.counters["backend_errors"] == 1


def test_write_through_reads_fall_back_to_the_store_and_writes_raise_after_the_store(down):
    store = {"k": "stored"}
    cache = WriteThroughCache(store, backend=RedisBackend(down), name="t")
    assert cache.read("k") == "stored"
    with pytest.raises(redis.ConnectionError):
        cache.write("k", "new")
    assert store["k"] == "new"  # the store is the truth, and it has the write


def test_write_back_reads_fall_back_to_the_store_and_writes_raise(down):
    cache = WriteBackCache({"k": "stored"}, 60, ManualClock(), buffer=RedisBuffer(down), name="t")
    with pytest.raises(redis.ConnectionError):
        cache.write("k", "new")
    assert cache.read("k") == "stored"


def test_async_reads_fail_open_when_redis_is_down():
    async def main():
        server = fakeredis.FakeServer()
        server.connected = False
        backend = AsyncRedisBackend(fakeredis.FakeAsyncRedis(server=server))
        cache = AsyncCacheAside(lambda k: "from db", 60, clock=ManualClock(), backend=backend, single_flight=True, name="t")
        return await cache.get("k"), await cache.get("k"), cache.stats["loads"]

    assert asyncio.run(main()) == ("from db", "from db", 2)


def _fail_closed_calls(client, aclient):
    """(cache, the write that must raise, the op its backend_error names), sync and asyncio."""
    return [
        (CacheAside(lambda k: 1, 60, backend=RedisBackend(client), name="t"), lambda c: c.set("k", 2), "set"),
        (CacheAside(lambda k: 1, 60, backend=RedisBackend(client), name="t"), lambda c: c.invalidate("k"), "invalidate"),
        (WriteThroughCache({}, backend=RedisBackend(client), name="t"), lambda c: c.write("k", 2), "put"),
        (WriteThroughCache({}, backend=RedisBackend(client), name="t"), lambda c: c.invalidate("k"), "invalidate"),
        (WriteBackCache({}, 60, ManualClock(), buffer=RedisBuffer(client), name="t"), lambda c: c.write("k", 2), "write"),
        (AsyncCacheAside(lambda k: 1, 60, backend=AsyncRedisBackend(aclient), name="t"), lambda c: c.set("k", 2), "set"),
        (AsyncCacheAside(lambda k: 1, 60, backend=AsyncRedisBackend(aclient), name="t"), lambda c: c.invalidate("k"),
         "invalidate"),
    ]


def test_every_fail_closed_write_records_its_outage_then_raises():
    server = fakeredis.FakeServer()
    server.connected = False
    calls = _fail_closed_calls(fakeredis.FakeRedis(server=server), fakeredis.FakeAsyncRedis(server=server))
    for cache, write, op in calls:
        events = []
        cache.subscribe(events.append, "backend_error")
        with pytest.raises(redis.ConnectionError):
            result = write(cache)
            if asyncio.iscoroutine(result):
                asyncio.run(result)
        assert [e.detail["op"] for e in events] == [op], type(cache).__name__
        assert cache.counters["backend_errors"] == 1


def test_backends_and_buffers_default_to_the_store_connection(monkeypatch):
    from highload.cache import AsyncRedisBuffer

    monkeypatch.delenv("REDIS_URL", raising=False)
    sync_made, async_made = RedisBackend(), AsyncRedisBackend()
    assert isinstance(sync_made.client, fakeredis.FakeRedis) and isinstance(RedisBuffer().client, fakeredis.FakeRedis)
    assert isinstance(async_made.client, fakeredis.FakeAsyncRedis)
    assert isinstance(AsyncRedisBuffer().client, fakeredis.FakeAsyncRedis)
    sync_made.put("shared", Entry("v", 0.0, 60.0))
    assert asyncio.run(async_made.peek("shared")).value == "v", "both defaults reach the one embedded store"
    sync_made.delete("shared")
