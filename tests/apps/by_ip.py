"""A small app limited per client IP (2 requests per 300 s, in memory), for the tests that put
a real proxy in front of it: run under uvicorn with ``--forwarded-allow-ips`` naming the proxy."""

from __future__ import annotations

from fastapi import FastAPI

from highload.ratelimit import RateLimiter, SlidingWindowLogPolicy
from highload.ratelimit.fastapi import RateLimitMiddleware, by_ip

app = FastAPI()
app.add_middleware(RateLimitMiddleware, limiter=RateLimiter(SlidingWindowLogPolicy(2, 300, name="per_ip")),
                   key=by_ip, exempt=("/health",))


@app.get("/health")
async def health():
    return {"ok": True}


@app.get("/")
async def root():
    return {"ok": True}
