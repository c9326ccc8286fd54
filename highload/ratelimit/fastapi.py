"""FastAPI/Starlette integration: a per-route dependency and an app-wide ASGI middleware.

Both answer 429 with a JSON body and ``Retry-After``, add the IETF ``RateLimit-Policy`` /
``RateLimit`` headers (``legacy_headers=True`` adds ``X-RateLimit-*``), and follow a
fail-open or fail-closed policy when the limiter's storage is unreachable: they log the
outage and never answer 500.

Needs the ``web`` extra: ``pip install "highload[web]"``.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

try:
    from fastapi import HTTPException, Request, Response
except ImportError as exc:  # pragma: no cover - exercised by the clean-venv wheel test
    raise ImportError('highload.ratelimit.fastapi needs the web extra: pip install "highload[web]"') from exc

from redis.exceptions import RedisError

from .decision import Decision, _whole_seconds

__all__ = ["RateLimit", "RateLimitMiddleware", "by_ip", "by_header", "FAIL_OPEN", "FAIL_CLOSED"]

log = logging.getLogger("highload.ratelimit")

FAIL_OPEN = "open"
FAIL_CLOSED = "closed"
#: What counts as "the storage is down": connection and timeout errors and their kin.
STORE_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError)


def by_ip(request: Request) -> str:
    """Key by the client's address (put a trusted proxy's X-Forwarded-For handling in front)."""
    return request.client.host if request.client else "unknown"


def by_header(name: str, fallback: Callable[[Request], str] = by_ip) -> Callable[[Request], str]:
    """Key by a header such as ``X-API-Key``; requests without it fall back to the IP."""

    def key(request: Request) -> str:
        value = request.headers.get(name)
        return f"{name.lower()}:{value}" if value else f"ip:{fallback(request)}"

    return key


class _Guard:
    """The decision logic both faces share: pick a limiter, check, handle outages."""

    def __init__(self, limiter, key, tier, fail, legacy_headers) -> None:
        if fail not in (FAIL_OPEN, FAIL_CLOSED):
            raise ValueError(f"fail must be 'open' or 'closed', got {fail!r}")
        if isinstance(limiter, Mapping):
            if tier is None:
                raise TypeError("a mapping of limiters needs tier=, a function from request to tier name")
            if not limiter:
                raise ValueError("limiter mapping must not be empty")
        self.limiters = limiter
        # Decided once here rather than per request: which limiter, and whether to await it.
        self._only = None if isinstance(limiter, Mapping) else limiter
        self._default = None if self._only is not None else next(iter(limiter.values()))
        every = [limiter] if self._only is not None else list(limiter.values())
        self._is_async = {id(lim): inspect.iscoroutinefunction(lim.check) for lim in every}
        self.key, self.tier, self.fail, self.legacy = key, tier, fail, legacy_headers

    def _limiter_for(self, request: Request):
        if self._only is not None:
            return self._only
        return self.limiters.get(self.tier(request)) or self._default

    async def decide(self, request: Request) -> Decision | None:
        """The decision, or None when the storage is down and the policy is fail-open."""
        limiter = self._limiter_for(request)
        try:
            if self._is_async[id(limiter)]:
                return await limiter.check(self.key(request))
            return limiter.check(self.key(request))
        except STORE_ERRORS as exc:
            log.warning("rate limiter storage unreachable (%s: %s); failing %s",
                        type(exc).__name__, exc, self.fail)
            if self.fail == FAIL_OPEN:
                return None
            raise _Unavailable from exc

    def rejection_body(self, decision: Decision) -> dict[str, Any]:
        return {
            "error": "rate_limited",
            "message": f"Too many requests for policy '{decision.policy}'.",
            "retry_after": _whole_seconds(decision.retry_after),
        }


class _Unavailable(Exception):
    pass


_UNAVAILABLE_BODY = {"error": "rate_limiter_unavailable", "message": "Try again shortly."}


class RateLimit:
    """A FastAPI dependency enforcing a limit on one route (or a router).

    ``limiter`` is a RateLimiter/AsyncRateLimiter, or a mapping of tier name to limiter
    with ``tier=`` choosing one per request::

        login_limit = RateLimit(RateLimiter(SlidingWindowLogPolicy(10, 300)), key=by_ip)

        @app.post("/login", dependencies=[Depends(login_limit)])
        def login(): ...
    """

    def __init__(
        self,
        limiter,
        *,
        key: Callable[[Request], str] = by_ip,
        tier: Callable[[Request], str] | None = None,
        fail: str = FAIL_OPEN,
        legacy_headers: bool = False,
    ) -> None:
        self._guard = _Guard(limiter, key, tier, fail, legacy_headers)

    async def __call__(self, request: Request, response: Response) -> Decision | None:
        guard = self._guard
        try:
            decision = await guard.decide(request)
        except _Unavailable:
            raise HTTPException(503, detail=_UNAVAILABLE_BODY, headers={"Retry-After": "1"}) from None
        if decision is None:
            return None
        headers = decision.headers(legacy=guard.legacy)
        if not decision.allowed:
            raise HTTPException(429, detail=guard.rejection_body(decision), headers=headers)
        response.headers.update(headers)
        return decision


class RateLimitMiddleware:
    """Pure ASGI middleware limiting every HTTP request of an app (``exempt`` paths excepted).

    ``app.add_middleware(RateLimitMiddleware, limiter=RateLimiter(FREE), key=by_ip)``
    """

    def __init__(
        self,
        app,
        limiter,
        *,
        key: Callable[[Request], str] = by_ip,
        tier: Callable[[Request], str] | None = None,
        fail: str = FAIL_OPEN,
        legacy_headers: bool = False,
        exempt: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self._guard = _Guard(limiter, key, tier, fail, legacy_headers)
        self.exempt = frozenset(exempt)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        guard = self._guard
        try:
            decision = await guard.decide(Request(scope))
        except _Unavailable:
            await _send_json(send, 503, {"detail": _UNAVAILABLE_BODY}, {"Retry-After": "1"})
            return
        if decision is None:
            await self.app(scope, receive, send)
            return
        headers = decision.headers(legacy=guard.legacy)
        if not decision.allowed:
            await _send_json(send, 429, {"detail": guard.rejection_body(decision)}, headers)
            return
        extra = _raw(headers)

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


_NAMES: dict[str, bytes] = {}


def _raw(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    """ASGI header pairs; the few distinct names are lower-cased and encoded once."""
    names = _NAMES
    out = []
    for name, value in headers.items():
        raw = names.get(name)
        if raw is None:
            raw = names[name] = name.lower().encode()
        out.append((raw, value.encode()))
    return out


async def _send_json(send, status: int, body: dict, headers: dict[str, str]) -> None:
    payload = json.dumps(body).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw += _raw(headers)
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})
