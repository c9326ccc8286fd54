"""Bad input is refused at construction, and the error names the parameter and the value."""

from __future__ import annotations

import fakeredis
import pytest

from highload.cache import (
    AsyncCacheAside,
    AsyncRedisBackend,
    AsyncWriteBackCache,
    CacheAside,
    CacheConfig,
    MemoryBackend,
    NearCache,
    RedisBackend,
    RedisBuffer,
    WriteBackCache,
    WriteThroughCache,
)
from highload.lab.database import Database


def loader(key):
    return key


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"ttl": 0}, ValueError, r"ttl must be > 0, got 0"),
        ({"ttl": -5}, ValueError, r"ttl must be > 0, got -5"),
        ({"ttl": float("nan")}, ValueError, r"ttl must be > 0, got nan"),
        ({"ttl": "10"}, TypeError, r"ttl must be a number, got '10'"),
        ({"ttl": True}, TypeError, r"ttl must be a number, got True"),
        ({"ttl": 10, "jitter": 1}, ValueError, r"jitter must be < 1 \(a fraction of ttl\), got 1"),
        ({"ttl": 10, "jitter": -0.25}, ValueError, r"jitter must be >= 0, got -0.25"),
        ({"ttl": 10, "negative_ttl": 0}, ValueError, r"negative_ttl must be > 0, got 0"),
        ({"ttl": 10, "stale_while_revalidate": -1}, ValueError, r"stale_while_revalidate must be >= 0, got -1"),
        ({"ttl": 10, "xfetch_beta": -1}, ValueError, r"xfetch_beta must be >= 0, got -1"),
        ({"ttl": 10, "single_flight": "yes"}, TypeError, r"single_flight must be True or False, got 'yes'"),
        ({"ttl": 10, "lock_ttl": 0}, ValueError, r"lock_ttl must be a finite number > 0, got 0"),
        ({"ttl": 10, "lock_ttl": float("inf")}, ValueError, r"lock_ttl must be a finite number > 0, got inf"),
        ({"ttl": 10, "lock_wait": -1}, ValueError, r"lock_wait must be >= 0, got -1"),
    ],
)
def test_cache_config_names_the_bad_setting(kwargs, error, message):
    with pytest.raises(error, match=message):
        CacheConfig(**kwargs)
    with pytest.raises(error, match=message):  # the same checks through the cache's keywords
        CacheAside(loader, **kwargs)


@pytest.mark.parametrize("cls", [CacheAside, AsyncCacheAside])
def test_cache_aside_arguments(cls):
    with pytest.raises(TypeError, match=r"loader must be callable with a key, got 42"):
        cls(42, 10)
    with pytest.raises(ValueError, match=r"max_entries must be >= 1, got 0"):
        cls(loader, 10, 0)
    with pytest.raises(TypeError, match=r"max_entries must be an int, got 2.5"):
        cls(loader, 10, 2.5)
    with pytest.raises(TypeError, match=r"clock must be a zero-argument callable returning seconds, got 5"):
        cls(loader, 10, clock=5)
    with pytest.raises(TypeError, match=r"rng must be a random.Random, an int seed or None, got 'seed'"):
        cls(loader, 10, rng="seed")
    with pytest.raises(ValueError, match=r"name must be a non-empty str, got ''"):
        cls(loader, 10, name="")
    with pytest.raises(TypeError, match=r"ttl is required"):
        cls(loader)
    with pytest.raises(TypeError, match=r"not both"):
        cls(loader, 10, config=CacheConfig(10))
    with pytest.raises(TypeError, match=r"config must be a CacheConfig, got \{'ttl': 10\}"):
        cls(loader, config={"ttl": 10})
    with pytest.raises(TypeError, match=r"store must be a MutableMapping.*got 3"):
        cls(loader, 10, store=3)
    with pytest.raises(TypeError, match=r"max_entries sizes the default memory backend"):
        cls(loader, 10, 5, backend=MemoryBackend())


def test_sync_and_async_backends_are_not_mixed():
    with pytest.raises(TypeError, match=r"asyncio-only: use AsyncCacheAside"):
        CacheAside(loader, 10, backend=AsyncRedisBackend(fakeredis.FakeAsyncRedis()), name="t")
    with pytest.raises(TypeError, match=r"backend must be an asyncio backend"):
        AsyncCacheAside(loader, 10, backend=RedisBackend(fakeredis.FakeRedis()), name="t")
    with pytest.raises(TypeError, match=r"asyncio-only: use AsyncWriteBackCache"):
        WriteBackCache({}, 1, buffer=_AsyncBuffer(), name="t")


class _AsyncBuffer:
    async def write(self, key, value): ...
    async def read(self, key): ...
    async def dirty(self): ...
    async def clean(self, flushed): ...


def test_a_read_without_any_loader_says_how_to_give_one():
    with pytest.raises(TypeError, match=r"no loader: pass loader="):
        CacheAside(None, 10).get("k")
    with pytest.raises(TypeError, match=r"loader must be callable with a key, got 'x'"):
        CacheAside(None, 10).get_or_load("k", "x")


def test_write_without_a_store_says_how_to_give_one():
    with pytest.raises(TypeError, match=r"no store: pass store="):
        CacheAside(loader, 10).write("k", 1)


def test_write_back_arguments():
    with pytest.raises(ValueError, match=r"flush_interval must be > 0, got 0"):
        WriteBackCache({}, 0)
    with pytest.raises(TypeError, match=r"flush_interval must be a number, got '5'"):
        WriteBackCache({}, "5")
    with pytest.raises(ValueError, match=r"max_dirty must be >= 1, got 0"):
        WriteBackCache({}, 5, max_dirty=0)
    with pytest.raises(TypeError, match=r"store must be a MutableMapping .*got \(\)"):
        WriteBackCache((), 5)
    with pytest.raises(TypeError, match=r"buffer must be a MemoryBuffer or RedisBuffer, got 'redis'"):
        WriteBackCache({}, 5, buffer="redis", name="t")
    with pytest.raises(TypeError, match=r"clock must be a zero-argument callable"):
        AsyncWriteBackCache({}, 5, clock="now")


def test_write_through_arguments():
    with pytest.raises(ValueError, match=r"ttl must be > 0, got 0"):
        WriteThroughCache({}, ttl=0)
    with pytest.raises(TypeError, match=r"store must be a MutableMapping .*got None"):
        WriteThroughCache(None)
    with pytest.raises(TypeError, match=r"read_through must be True or False, got 1"):
        WriteThroughCache({}, read_through=1)


def test_redis_backend_arguments():
    client = fakeredis.FakeRedis()
    with pytest.raises(ValueError, match=r"prefix must be a non-empty str, got ''"):
        RedisBackend(client, prefix="")
    with pytest.raises(ValueError, match=r"decode_responses=False"):
        RedisBackend(fakeredis.FakeRedis(decode_responses=True))
    with pytest.raises(TypeError, match=r"codec must have dumps"):
        RedisBackend(client, codec=object())
    with pytest.raises(ValueError, match=r"generation_ttl must be a finite number > 0, got 0"):
        RedisBackend(client, generation_ttl=0)
    with pytest.raises(TypeError, match=r"notify must be True or False, got 'no'"):
        RedisBackend(client, notify="no")
    with pytest.raises(ValueError, match=r"prefix must be a non-empty str, got None"):
        RedisBuffer(client, prefix=None)


def test_near_cache_arguments():
    backend = RedisBackend(fakeredis.FakeRedis())
    with pytest.raises(ValueError, match=r"max_entries must be >= 1, got 0"):
        NearCache(loader, 10, backend=backend, max_entries=0, name="t")
    with pytest.raises(ValueError, match=r"local_ttl must be > 0, got -1"):
        NearCache(loader, 10, backend=backend, local_ttl=-1, name="t")
    with pytest.raises(TypeError, match=r"backend must be a RedisBackend \(the shared tier\), got MemoryBackend"):
        NearCache(loader, 10, backend=MemoryBackend(), name="t")


def test_memory_backend_arguments():
    with pytest.raises(ValueError, match=r"max_entries must be >= 1, got -1"):
        MemoryBackend(-1)
    with pytest.raises(ValueError, match=r"sweep_every must be >= 1, got 0"):
        MemoryBackend(sweep_every=0)


def test_database_arguments(tmp_path):
    with pytest.raises(ValueError, match=r"latency must be >= 0, got -0.5"):
        Database(latency=-0.5)
    with pytest.raises(ValueError, match=r"path must be a file path or ':memory:', got ''"):
        Database("")
    with pytest.raises(TypeError, match=r"sleep must be callable with seconds, got 1"):
        Database(sleep=1)
    db = Database()
    with pytest.raises(ValueError, match=r"value for users is missing columns \['email'\]"):
        db.users["u1"] = {"name": "Ann"}
    with pytest.raises(TypeError, match=r"value for balances must be a number or str, got \[1\]"):
        db.balances["u1"] = [1]
    with pytest.raises(TypeError, match=r"key must be a str or int, got 1.5"):
        db.users[1.5]
    with pytest.raises(ValueError, match=r"users must be >= 0, got -1"):
        db.populate(users=-1)
