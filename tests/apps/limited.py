"""A small app for the uvicorn tests: per-tier limits by validated API key, and a login route per IP.

``TRUSTED_PROXIES`` (comma-separated) names the proxies whose ``X-Forwarded-For`` is believed;
run uvicorn with the same ``--forwarded-allow-ips``. Every process limits under its own prefix,
so tests sharing one redis-server never share buckets.
"""

from __future__ import annotations

import os
import uuid

from fastapi import Depends, FastAPI

from highload.ratelimit import (
    AsyncRateLimiter,
    AsyncRedisStorage,
    SlidingWindowLogPolicy,
    TokenBucketPolicy,
)
from highload.ratelimit.fastapi import APIKeys, Identity, RateLimit, by_ip
from highload.redis_client import connect_async

RUN = uuid.uuid4().hex
TRUSTED = [p for p in os.environ.get("TRUSTED_PROXIES", "").split(",") if p]
#: In real life a lookup of the key's hash in the accounts database.
API_KEYS = {"key-free": Identity("acct-1", "free"), "key-pro": Identity("acct-2", "premium")}

backend = AsyncRedisStorage(connect_async(os.environ["REDIS_URL"]))


def _limiter(policy):
    return AsyncRateLimiter(policy, backend, prefix=f"test:{RUN}:{policy.name}:")


tiers = {
    "free": _limiter(TokenBucketPolicy(3, 0, name="free")),
    "premium": _limiter(TokenBucketPolicy(6, 0, name="premium")),
}
api_limit = RateLimit(tiers, identify=APIKeys(API_KEYS, unknown="reject", anonymous_tier="free"),
                      trusted_proxies=TRUSTED)
login_limit = RateLimit(_limiter(SlidingWindowLogPolicy(2, 300, name="login")), key=by_ip,
                        trusted_proxies=TRUSTED, fail=os.environ.get("FAIL", "open"))

app = FastAPI()


@app.get("/items", dependencies=[Depends(api_limit)])
async def items():
    return {"items": []}


@app.post("/login", dependencies=[Depends(login_limit)])
async def login():
    return {"ok": True}
