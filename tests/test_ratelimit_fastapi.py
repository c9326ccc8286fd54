"""FastAPI integration: 429 with a JSON body and headers, tiers, and outages that never answer 500."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import uuid
import warnings
from pathlib import Path

import httpx
import pytest
import redis
import redis.asyncio
from fastapi import Depends, FastAPI

from highload.clock import ManualClock
from highload.processes import free_port, kill_group, spawn, wait_for_port
from highload.ratelimit import AsyncRateLimiter, AsyncRedisStorage, RateLimiter, TokenBucketPolicy
from highload.ratelimit.fastapi import APIKeys, Identity, RateLimit, RateLimitMiddleware

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parent.parent


def _app(**options):
    app = FastAPI()
    clock = ManualClock()
    app.add_middleware(RateLimitMiddleware, limiter=RateLimiter(TokenBucketPolicy(2, 1, name="api"), clock=clock),
                       exempt=("/health",), **options)

    @app.get("/hello")
    def hello():
        return {"hello": "world"}

    @app.get("/health")
    def health():
        return {"ok": True}

    return app, clock


def test_middleware_answers_429_with_json_and_headers():
    app, clock = _app()
    client = TestClient(app)
    first = client.get("/hello")
    assert first.status_code == 200 and first.json() == {"hello": "world"}
    assert first.headers["RateLimit-Policy"] == '"api";q=2;w=2'
    assert first.headers["RateLimit"] == '"api";r=1;t=1'
    assert client.get("/hello").status_code == 200
    denied = client.get("/hello")
    assert denied.status_code == 429
    assert denied.headers["content-type"] == "application/json"
    assert denied.json() == {"detail": {"error": "rate_limited", "message": "Too many requests for policy 'api'.",
                                        "retry_after": 1}}
    assert denied.headers["Retry-After"] == "1"
    assert "X-RateLimit-Limit" not in denied.headers
    clock.advance(1)
    assert client.get("/hello").status_code == 200, "a token is back after a second"


def test_exempt_paths_and_legacy_headers():
    app, _ = _app(legacy_headers=True)
    client = TestClient(app)
    for _ in range(5):
        assert client.get("/health").status_code == 200
    ok = client.get("/hello")
    assert (ok.headers["X-RateLimit-Limit"], ok.headers["X-RateLimit-Remaining"]) == ("2", "1")


def test_dependency_limits_per_route_and_per_tier():
    clock = ManualClock()
    tiers = {
        "free": RateLimiter(TokenBucketPolicy(1, 0, name="free"), clock=clock),
        "premium": RateLimiter(TokenBucketPolicy(3, 0, name="premium"), clock=clock),
    }
    keys = {"abc": Identity("acct-1", "free"), "pro-1": Identity("acct-2", "premium"),
            "xyz": Identity("acct-3", "free")}
    limit = RateLimit(tiers, identify=APIKeys(keys))
    app = FastAPI()

    @app.get("/limited", dependencies=[Depends(limit)])
    def limited():
        return {"ok": True}

    @app.get("/open")
    def open_route():
        return {"ok": True}

    client = TestClient(app)
    free = [client.get("/limited", headers={"X-API-Key": "abc"}).status_code for _ in range(3)]
    pro = [client.get("/limited", headers={"X-API-Key": "pro-1"}).status_code for _ in range(4)]
    other = [client.get("/limited", headers={"X-API-Key": "xyz"}).status_code for _ in range(2)]
    assert (free, pro, other) == ([200, 429, 429], [200, 200, 200, 429], [200, 429])
    denied = client.get("/limited", headers={"X-API-Key": "abc"})
    assert denied.json()["detail"]["error"] == "rate_limited" and "Retry-After" in denied.headers
    assert all(client.get("/open").status_code == 200 for _ in range(5)), "other routes are not limited"


def _down_limiter():
    dead = redis.asyncio.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5)
    return AsyncRateLimiter(TokenBucketPolicy(5, 1), AsyncRedisStorage(dead))


@pytest.mark.parametrize(("fail", "status"), [("open", 200), ("closed", 503)])
def test_store_outage_follows_the_fail_policy_and_logs(fail, status, caplog):
    app = FastAPI()
    app.add_middleware(RateLimitMiddleware, limiter=_down_limiter(), fail=fail)

    @app.get("/x")
    def x():
        return {"ok": True}

    with caplog.at_level(logging.WARNING, logger="highload.ratelimit"):
        response = TestClient(app).get("/x")
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    if status == 503:
        assert response.json()["detail"]["error"] == "rate_limiter_unavailable"
    assert any("unreachable" in r.message and f"failing {fail}" in r.message for r in caplog.records)


def test_dependency_outage_never_answers_500():
    app = FastAPI()

    @app.get("/x", dependencies=[Depends(RateLimit(_down_limiter(), fail="closed"))])
    def x():
        return {"ok": True}

    response = TestClient(app, raise_server_exceptions=False).get("/x")
    assert response.status_code == 503 and response.json()["detail"]["error"] == "rate_limiter_unavailable"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"fail": "sideways"}, ValueError, "fail must be 'open' or 'closed', got 'sideways'"),
        ({"limiter": {"free": None}}, TypeError, "needs tier="),
        ({"limiter": {}, "tier": str}, ValueError, "must not be empty"),
    ],
)
def test_bad_configuration_is_a_clear_error(kwargs, error, message):
    kwargs.setdefault("limiter", RateLimiter(TokenBucketPolicy(1, 1)))
    with pytest.raises(error, match=message):
        RateLimit(**kwargs)


@pytest.mark.redis
def test_real_uvicorn_app_on_real_redis(redis_url):
    port = free_port()
    env = {**os.environ, "REDIS_URL": redis_url, "PYTHONPATH": str(ROOT)}
    proc = spawn(
        [sys.executable, "-m", "uvicorn", "tests.apps.limited:app", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning", "--no-proxy-headers"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        assert wait_for_port("127.0.0.1", port, 15, process=proc), "uvicorn did not listen"
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=5) as http:
            free = [http.get("/items", headers={"X-API-Key": "key-free"}).status_code for _ in range(4)]
            pro = [http.get("/items", headers={"X-API-Key": "key-pro"}).status_code for _ in range(7)]
            assert free == [200, 200, 200, 429] and pro == [200] * 6 + [429]
            forged = http.get("/items", headers={"X-API-Key": f"pro-{uuid.uuid4().hex}"})
            assert forged.status_code == 401 and forged.json()["detail"]["error"] == "invalid_api_key"
            login = [http.post("/login").status_code for _ in range(3)]
            assert login == [200, 200, 429]
            denied = http.post("/login")
            assert denied.json()["detail"]["error"] == "rate_limited"
            assert int(denied.headers["Retry-After"]) > 0 and denied.headers["RateLimit-Policy"].startswith('"login"')
    finally:
        kill_group(proc)
