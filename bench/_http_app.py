"""The two apps the HTTP case serves with uvicorn: one trivial endpoint, without and with
``RateLimitMiddleware`` (in-memory token bucket so large that every request is admitted).

``python -m uvicorn bench._http_app:plain`` / ``bench._http_app:limited``
"""

from __future__ import annotations

from fastapi import FastAPI

from highload.ratelimit import RateLimiter, TokenBucketPolicy
from highload.ratelimit.fastapi import RateLimitMiddleware

HUGE = 1e12


def _app() -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/")
    async def root() -> dict[str, bool]:
        return {"ok": True}

    return app


plain = _app()

limited = _app()
limited.add_middleware(
    RateLimitMiddleware, limiter=RateLimiter(TokenBucketPolicy(capacity=HUGE, refill_rate=HUGE))
)
