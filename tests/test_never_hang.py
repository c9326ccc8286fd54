"""Never hang, never block the loop: a stalled Redis (accepts connections, never replies).

No stopwatch: each test orders events with the stall server's ``received`` event and asserts
what happened (the exception type, the status code, how many PINGs reached Redis).
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
import redis
import redis.asyncio
from fastapi import Depends, FastAPI
from redis.backoff import NoBackoff

import highload.redis_client as store
from highload.clock import ManualClock
from highload.ratelimit import (
    AsyncRateLimiter,
    AsyncRedisStorage,
    RateLimiter,
    RedisStorage,
    TokenBucketPolicy,
)
from highload.ratelimit.fastapi import RateLimit, RateLimitMiddleware
from highload.shop import ShopSettings, create_app
from highload.testing import StallServer


@pytest.fixture
def stall():
    with StallServer() as server:
        yield server


@pytest.fixture
def short_timeouts(monkeypatch):
    """The module defaults, shortened so a timeout costs a test a fraction of a second."""
    monkeypatch.setattr(store, "SOCKET_TIMEOUT", 0.1)
    monkeypatch.setattr(store, "CONNECT_TIMEOUT", 0.5)
    monkeypatch.setattr(store, "RETRIES", 0)


# ---- every connection the package makes is bounded -----------------------------------------

def test_connect_has_timeouts_by_default_and_a_stall_raises_timeout_error(stall, short_timeouts):
    client = store.connect(stall.url)
    kwargs = client.connection_pool.connection_kwargs
    assert (kwargs["socket_timeout"], kwargs["socket_connect_timeout"]) == (0.1, 0.5)
    with pytest.raises(redis.exceptions.TimeoutError):
        client.ping()
    assert stall.received.is_set(), "the request reached the stalled server"
    assert stall.connections == 1, "RETRIES=0: no second attempt"
    client.close()


def test_connect_async_has_timeouts_by_default_and_a_stall_raises_timeout_error(stall, short_timeouts):
    async def scenario():
        client = store.connect_async(stall.url)
        try:
            assert client.connection_pool.connection_kwargs["socket_timeout"] == 0.1
            with pytest.raises(redis.exceptions.TimeoutError):
                await client.ping()
        finally:
            await client.aclose()

    asyncio.run(scenario())
    assert stall.received.is_set()


def test_timeouts_can_be_overridden_per_call_or_in_the_url(stall):
    assert store.connect(stall.url, socket_timeout=7).connection_pool.connection_kwargs["socket_timeout"] == 7
    url = f"{stall.url}?socket_timeout=3"
    assert store.connect_async(url).connection_pool.connection_kwargs["socket_timeout"] == 3


def test_retries_reconnect_immediately_and_then_give_up(stall, short_timeouts, monkeypatch):
    monkeypatch.setattr(store, "RETRIES", 1)
    client = store.connect(stall.url)
    with pytest.raises(redis.exceptions.TimeoutError):
        client.ping()
    assert stall.connections == 2, "one retry on a fresh connection, then the TimeoutError"
    client.close()


# ---- the async middleware never runs a blocking limiter ---------------------------------------

def _sync_redis_limiter():
    return RateLimiter(TokenBucketPolicy(5, 1), RedisStorage(redis.Redis(host="127.0.0.1", port=1)))


@pytest.mark.parametrize("make", [
    lambda lim: RateLimitMiddleware(FastAPI(), limiter=lim),
    lambda lim: RateLimitMiddleware(FastAPI(), limiter={"free": lim}, tier=lambda r: "free"),
    lambda lim: RateLimit(lim),
])
def test_a_sync_redis_limiter_is_refused_naming_the_async_one(make):
    with pytest.raises(TypeError, match=r"use AsyncRateLimiter\(policy, AsyncRedisStorage"):
        make(_sync_redis_limiter())


def test_an_async_limiter_over_a_sync_redis_backend_is_refused_too():
    limiter = AsyncRateLimiter(TokenBucketPolicy(5, 1), RedisStorage(redis.Redis(host="127.0.0.1", port=1)))
    with pytest.raises(TypeError, match="blocking Redis calls"):
        RateLimitMiddleware(FastAPI(), limiter=limiter)


def test_an_in_memory_sync_limiter_is_fine():
    RateLimitMiddleware(FastAPI(), limiter=RateLimiter(TokenBucketPolicy(5, 1)))


@pytest.mark.parametrize("face", ["middleware", "dependency"])
def test_an_exempt_route_is_served_while_a_limited_one_waits_on_a_stalled_redis(stall, face):
    async def scenario():
        # A long timeout and no retry: the stall ends when the test releases it, not on a clock.
        client = redis.asyncio.Redis.from_url(stall.url, socket_timeout=60,
                                              retry=redis.asyncio.retry.Retry(NoBackoff(), 0))
        limiter = AsyncRateLimiter(TokenBucketPolicy(5, 1), AsyncRedisStorage(client))
        app = FastAPI()
        if face == "middleware":
            app.add_middleware(RateLimitMiddleware, limiter=limiter, fail="closed", exempt=("/health",))
            deps = []
        else:
            deps = [Depends(RateLimit(limiter, fail="closed"))]

        @app.get("/limited", dependencies=deps)
        async def limited():
            return {"ok": True}

        @app.get("/health")
        async def health():
            return {"ok": True}

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
            waiting = asyncio.create_task(http.get("/limited"))
            assert await asyncio.to_thread(stall.received.wait, 30), "the limiter is now waiting on Redis"
            health = await http.get("/health")
            assert health.status_code == 200
            assert not waiting.done(), "the exempt route was served while the limited request still waits"
            stall.release()
            limited_response = await waiting
        await client.aclose()
        return limited_response

    response = asyncio.run(scenario())
    assert response.status_code == 503, "fail closed once Redis drops the connection"
    assert response.json()["detail"]["error"] == "rate_limiter_unavailable"


# ---- the shop's /health: cached and time-bounded -----------------------------------------------

def test_shop_health_answers_503_from_a_bounded_cached_check_while_redis_stalls(stall):
    clock = ManualClock()
    client = redis.Redis.from_url(stall.url, socket_timeout=60, retry=redis.retry.Retry(NoBackoff(), 0))
    settings = ShopSettings(instance_id="A", carts="redis", health_ttl=5, health_timeout=0.05)
    app = create_app(settings, redis=client, clock=clock)

    async def scenario():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://shop") as http:
            first = await http.get("/health")
            cached = await http.get("/health")
            clock.advance(5)
            after_ttl = await http.get("/health")
            products = await http.get("/products")
        return first, cached, after_ttl, products

    try:
        first, cached, after_ttl, products = asyncio.run(scenario())
        assert first.status_code == 503 and first.json()["status"] == "unavailable"
        assert stall.received.is_set(), "the PING reached the stalled Redis and is still waiting"
        assert cached.status_code == 503 and after_ttl.status_code == 503
        assert stall.connections == 1, "one PING in flight at most: no new connection per /health call"
        assert products.status_code == 200, "routes that never touch Redis are unaffected"
    finally:
        stall.release()
        app.state.health.close()
        client.close()


def test_shop_health_caches_a_good_answer_for_health_ttl():
    import fakeredis

    pings = []

    class CountingRedis(fakeredis.FakeRedis):
        def ping(self, *args, **kwargs):
            pings.append(1)
            return super().ping(*args, **kwargs)

    clock = ManualClock()
    settings = ShopSettings(instance_id="A", carts="redis", health_ttl=2)
    app = create_app(settings, redis=CountingRedis(server=fakeredis.FakeServer()), clock=clock)

    async def scenario():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://shop") as http:
            codes = [(await http.get("/health")).status_code for _ in range(3)]
            clock.advance(2)
            codes.append((await http.get("/health")).status_code)
        return codes

    assert asyncio.run(scenario()) == [200] * 4
    assert len(pings) == 2, "one PING, reused until health_ttl passed, then one more"
    app.state.health.close()


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"health_ttl": -1}, "health_ttl must be a number of seconds >= 0, got -1"),
    ({"health_timeout": 0}, "health_timeout must be a number of seconds > 0, got 0"),
])
def test_health_settings_are_validated(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ShopSettings(instance_id="A", **kwargs)
