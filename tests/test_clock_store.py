"""The injected clock and the Redis connection factory."""

from __future__ import annotations

import asyncio

import fakeredis
import pytest
import redis

from highload import redis_client as store
from highload.balancing import ActiveHealth, PassiveHealth
from highload.carts import TokenCartStore
from highload.clock import Clock, ManualClock, SystemClock
from highload.ratelimit import FREE, AsyncRateLimiter, RateLimiter, TokenBucket
from highload.resilience import CircuitBreaker


def test_manual_clock_moves_only_when_told():
    clock = ManualClock(5.0)
    assert clock() == 5.0 == clock()
    assert clock.advance(0.25) == 5.25
    clock.sleep(1.0)
    assert clock() == 6.25, "sleep advances instead of waiting"
    asyncio.run(clock.asleep(0.75))
    assert clock() == 7.0
    clock.set(1.0)
    assert clock() == 1.0, "set may move backwards, to simulate a misbehaving clock"
    with pytest.raises(ValueError, match="seconds must be >= 0, got -1"):
        clock.advance(-1)
    with pytest.raises(TypeError, match="start must be a number"):
        ManualClock("now")


CLOCKED = {
    "TokenBucket": lambda clock: TokenBucket(1, 1, clock=clock),
    "RateLimiter": lambda clock: RateLimiter(FREE, clock=clock),
    "AsyncRateLimiter": lambda clock: AsyncRateLimiter(FREE, clock=clock),
    "TokenCartStore": lambda clock: TokenCartStore(b"k", 60, clock=clock),
    "PassiveHealth": lambda clock: PassiveHealth(["a"], clock=clock),
    "ActiveHealth": lambda clock: ActiveHealth(lambda server: True, ["a"], clock=clock),
    "CircuitBreaker": lambda clock: CircuitBreaker(clock=clock),
}


@pytest.mark.parametrize("make", CLOCKED.values(), ids=CLOCKED.keys())
def test_every_clocked_class_refuses_a_clock_that_is_not_callable_with_one_message(make):
    with pytest.raises(TypeError, match=r"^clock must be a zero-argument callable returning seconds, got 5$"):
        make(5)
    make(ManualClock())  # and takes a real one


def test_clocks_meet_the_protocol():
    assert isinstance(ManualClock(), Clock) and isinstance(SystemClock(), Clock)
    system = SystemClock()
    assert system() <= system()


def test_connect_without_redis_url_shares_one_embedded_server(monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    a, b = store.connect(), store.connect()
    assert isinstance(a, fakeredis.FakeRedis)
    a.set("store-test", "shared")
    assert b.get("store-test") == b"shared"

    async def read():
        client = store.connect_async()
        try:
            return await client.get("store-test")
        finally:
            await client.aclose()

    assert asyncio.run(read()) == b"shared", "sync and asyncio clients see the same embedded data"
    assert store.describe().startswith("embedded fakeredis")
    assert "real Redis" not in store.describe(), "the notebook tests read those words as proof of REDIS_URL"
    assert store.connect().eval("return 1 + 1", 0) == 2, "the embedded store runs Lua"


def test_connect_with_redis_url_uses_real_redis(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    client = store.connect()
    assert type(client) is redis.Redis
    assert client.connection_pool.connection_kwargs["port"] == 1
    assert store.describe() == "real Redis at redis://127.0.0.1:1/0"
    assert type(store.connect_async()).__module__.startswith("redis.asyncio")


def test_serve_embedded_shares_a_store_over_tcp():
    server, url = store.serve_embedded()
    try:
        first, second = redis.Redis.from_url(url), redis.Redis.from_url(url)
        first.set("k", "v")
        assert second.get("k") == b"v"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.redis
def test_answers_is_true_only_for_a_redis_that_replies(redis_url):
    assert store.answers(redis_url)
    assert not store.answers(f"redis://127.0.0.1:{store.free_port()}/0", timeout=0.5), "nobody listens there"


def test_old_module_name_highload_store_is_the_connection_factory():
    import highload.store
    from highload import processes

    for name in highload.store.__all__:
        assert getattr(highload.store, name) is getattr(store, name), name
    assert store.free_port is processes.free_port, "one free_port, re-exported"
    a, b = store.connect(), highload.store.connect()
    a.set("alias-test", "one server")
    assert b.get("alias-test") == b"one server", "both names share the one embedded server"
