"""A small app for the uvicorn test: per-tier limits by API key, and a stricter login route."""

from __future__ import annotations

import os

from fastapi import Depends, FastAPI

from highload.ratelimit import (
    AsyncRateLimiter,
    AsyncRedisStorage,
    SlidingWindowLogPolicy,
    TokenBucketPolicy,
)
from highload.ratelimit.fastapi import RateLimit, by_header, by_ip
from highload.redis_client import connect_async

backend = AsyncRedisStorage(connect_async(os.environ["REDIS_URL"]))
tiers = {
    "free": AsyncRateLimiter(TokenBucketPolicy(3, 0, name="free"), backend),
    "premium": AsyncRateLimiter(TokenBucketPolicy(6, 0, name="premium"), backend),
}
api_limit = RateLimit(tiers, key=by_header("X-API-Key"),
                      tier=lambda request: "premium" if request.headers.get("X-API-Key", "").startswith("pro-") else "free")
login_limit = RateLimit(AsyncRateLimiter(SlidingWindowLogPolicy(2, 300, name="login"), backend), key=by_ip,
                        fail=os.environ.get("FAIL", "open"))

app = FastAPI()


@app.get("/items", dependencies=[Depends(api_limit)])
async def items():
    return {"items": []}


@app.post("/login", dependencies=[Depends(login_limit)])
async def login():
    return {"ok": True}
