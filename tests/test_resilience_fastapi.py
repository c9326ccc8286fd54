"""A route calling a flaky downstream: 503 + Retry-After + X-Circuit-State while open, or a cached fallback."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI, Response

from highload.clock import ManualClock
from highload.lab.flaky_upstream import flaky_app
from highload.resilience import BulkheadFullError, CircuitBreaker, Fallback
from highload.resilience.fastapi import install, served_from


def _shop(downstream, clock):
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=downstream), base_url="http://inventory")
    breaker = CircuitBreaker(failure_threshold=2, open_timeout=30, clock=clock, name="inventory")
    fallback = Fallback()

    async def fetch(sku):
        r = await client.get("/", params={"sku": sku})
        r.raise_for_status()
        return r.json()

    app = install(FastAPI())

    @app.get("/stock/{sku}")
    async def stock(sku: str):
        return await breaker.acall(fetch, sku)

    @app.get("/cached/{sku}")
    async def cached(sku: str, response: Response):
        value, source = await fallback.acall_with_source(breaker.acall, fetch, sku)
        return served_from(response, source, value)

    @app.get("/busy")
    async def busy():
        raise BulkheadFullError("payment", 20)

    return app, breaker


async def _control(downstream, **settings):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=downstream), base_url="http://x") as c:
        (await c.post("/control", json=settings)).raise_for_status()


def test_open_circuit_answers_503_with_retry_after_and_state():
    async def main():
        clock = ManualClock()
        downstream = flaky_app(failure_rate=1.0, name="inventory")
        app, breaker = _shop(downstream, clock)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                                     base_url="http://shop") as shop:
            errors = [await shop.get("/stock/A1") for _ in range(2)]
            open_ = await shop.get("/stock/A1")
            clock.advance(29.5)
            still = await shop.get("/stock/A1")
            clock.advance(0.5)
            await _control(downstream, failure_rate=0.0)
            probes = [(await shop.get("/stock/A1")).status_code for _ in range(2)]
        return errors, open_, still, probes, breaker.state

    errors, open_, still, probes, state = asyncio.run(main())
    assert [e.status_code for e in errors] == [502, 502], "a failing upstream is a 502, never a bare 500"
    assert errors[0].json()["detail"]["error"] == "upstream_failed"
    assert open_.status_code == 503 and open_.headers["Retry-After"] == "30"
    assert open_.headers["X-Circuit-State"] == "open"
    assert open_.json()["detail"]["error"] == "circuit_open"
    assert still.headers["Retry-After"] == "1", "half a second left is rounded up, never to 0"
    assert probes == [200, 200] and state == "closed"


def test_fallback_serves_the_cached_answer_with_a_header():
    async def main():
        clock = ManualClock()
        downstream = flaky_app(failure_rate=0.0, name="inventory")
        app, _ = _shop(downstream, clock)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://shop") as shop:
            live = await shop.get("/cached/A1")
            await _control(downstream, failure_rate=1.0)
            served = [await shop.get("/cached/A1") for _ in range(4)]
            busy = await shop.get("/busy")
        return live, served, busy

    live, served, busy = asyncio.run(main())
    assert live.status_code == 200 and live.headers["X-Served-From"] == "live"
    assert all(r.status_code == 200 and r.headers["X-Served-From"] == "cache-fallback" for r in served)
    assert all(r.json()["served_by"] == "inventory" for r in served)
    assert busy.status_code == 503 and busy.headers["X-Bulkhead"] == "full"
