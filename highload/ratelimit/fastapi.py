"""FastAPI/Starlette integration: a per-route dependency and an app-wide ASGI middleware.

Both answer 429 with a JSON body and ``Retry-After``, add the IETF ``RateLimit-Policy`` /
``RateLimit`` headers (``legacy_headers=True`` adds ``X-RateLimit-*``), and follow a
fail-open or fail-closed policy when the limiter's storage is unreachable: they log the
outage and never answer 500.

Who the client is: the socket peer, unless it is one of ``trusted_proxies`` (see
:mod:`highload.proxies`). Which account it is: ``identify=APIKeys(...)`` validates the API key
and takes the tier from the validated identity (:mod:`highload.ratelimit.identity`); an
unknown key answers 401 with a JSON body, or is limited per IP, as configured.

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

from highload.outages import CAUGHT, is_outage
from highload.proxies import TrustedProxies

from .decision import Decision, _whole_seconds
from .identity import APIKeys, Identity, InvalidAPIKey
from .redis_storage import RedisStorage

__all__ = ["RateLimit", "RateLimitMiddleware", "by_ip", "by_header", "APIKeys", "Identity",
           "FAIL_OPEN", "FAIL_CLOSED"]

log = logging.getLogger("highload.ratelimit")

FAIL_OPEN = "open"
FAIL_CLOSED = "closed"
#: The errors the guard catches around a check; only those :func:`highload.outages.is_outage`
#: calls outages fail open/closed, the rest raise. The old name of ``highload.outages.CAUGHT``.
STORE_ERRORS: tuple[type[BaseException], ...] = CAUGHT


def by_ip(request: Request) -> str:
    """Key by the client's address: the socket peer, or what a trusted proxy reported when the
    guard was given ``trusted_proxies=`` (never a header from anyone else)."""
    return request.client.host if request.client else "unknown"


def by_header(name: str, fallback: Callable[[Request], str] = by_ip) -> Callable[[Request], str]:
    """Key by a header's raw value; requests without it fall back to the IP.

    Unverified: a client that sends a new value per request gets a new bucket per request.
    Use it only for headers your own gateway sets; for API keys use ``identify=APIKeys(...)``.
    """

    def key(request: Request) -> str:
        value = request.headers.get(name)
        return f"{name.lower()}:{value}" if value else f"ip:{fallback(request)}"

    return key


class _Guard:
    """The decision logic both faces share: pick a limiter, check, handle outages."""

    def __init__(self, limiter, key, tier, fail, legacy_headers, trusted_proxies=(), identify=None) -> None:
        if fail not in (FAIL_OPEN, FAIL_CLOSED):
            raise ValueError(f"fail must be 'open' or 'closed', got {fail!r}")
        if identify is not None:
            if not callable(identify):
                raise TypeError(f"identify must be an APIKeys or an async function of the request, got {identify!r}")
            if key is not by_ip or tier is not None:
                raise TypeError("identify= replaces key= and tier=: the identity it returns gives both")
        if isinstance(limiter, Mapping):
            if tier is None and identify is None:
                raise TypeError("a mapping of limiters needs tier=, a function from request to tier name")
            if not limiter:
                raise ValueError("limiter mapping must not be empty")
            anonymous_tier = getattr(identify, "anonymous_tier", None)
            if anonymous_tier is not None and anonymous_tier not in limiter:
                raise ValueError(f"identify.anonymous_tier must name one of the limiters {sorted(limiter)}, "
                                 f"got {anonymous_tier!r}")
        self.limiters = limiter
        # Decided once here rather than per request: which limiter, and whether to await it.
        self._only = None if isinstance(limiter, Mapping) else limiter
        self._default = None if self._only is not None else next(iter(limiter.values()))
        every = [limiter] if self._only is not None else list(limiter.values())
        for lim in every:
            _refuse_blocking(lim)
        self._is_async = {id(lim): inspect.iscoroutinefunction(lim.check) for lim in every}
        self.key, self.tier, self.fail, self.legacy = key, tier, fail, legacy_headers
        self.trusted = trusted_proxies if isinstance(trusted_proxies, TrustedProxies) \
            else TrustedProxies(trusted_proxies)
        self._behind_proxy = bool(self.trusted)  # read per request: no call when nobody is trusted
        self.identify = identify

    def client_request(self, request: Request) -> Request:
        """``request`` with ``client`` set to the real client when the peer is a trusted proxy."""
        if not self.trusted:
            return request
        scope = self.trusted.client_scope(request.scope)
        return request if scope is request.scope else Request(scope, request.receive)

    def _limiter_for(self, request: Request, tier_name: str | None = None):
        if self._only is not None:
            return self._only
        if tier_name is None and self.identify is None:
            tier_name = self.tier(request)
        return self.limiters.get(tier_name) or self._default

    async def decide(self, request: Request) -> Decision | None:
        """The decision, or None when the storage is down and the policy is fail-open.

        Raises :class:`InvalidAPIKey` when ``identify`` refuses the request's key.
        """
        if self._behind_proxy:
            request = self.client_request(request)
        if self.identify is not None:
            identity = await self.identify(request)
            limiter, key = self._limiter_for(request, identity.tier), identity.key
        else:
            limiter, key = self._limiter_for(request), self.key(request)
        try:
            if self._is_async[id(limiter)]:
                return await limiter.check(key)
            return limiter.check(key)
        except CAUGHT as exc:
            if not is_outage(exc):
                raise  # WRONGTYPE, READONLY, a failed login...: never a reason to let traffic through
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


def _refuse_blocking(limiter) -> None:
    """A sync Redis call inside an async app stops the whole event loop while Redis is slow."""
    if isinstance(getattr(limiter, "storage", None), RedisStorage):
        raise TypeError(f"{limiter!r} makes blocking Redis calls, which would stall every request of "
                        "this app while Redis is slow: use AsyncRateLimiter(policy, "
                        "AsyncRedisStorage(highload.redis_client.connect_async())) instead")


def _unauthorized_headers(exc: InvalidAPIKey) -> dict[str, str]:
    return {"WWW-Authenticate": f'ApiKey header="{exc.header}"'}


_UNAVAILABLE_BODY = {"error": "rate_limiter_unavailable", "message": "Try again shortly."}


class RateLimit:
    """A FastAPI dependency enforcing a limit on one route (or a router).

    ``limiter`` is an AsyncRateLimiter (or an in-memory RateLimiter), or a mapping of tier
    name to limiter with ``identify=`` (or ``tier=``) choosing one per request::

        login_limit = RateLimit(AsyncRateLimiter(SlidingWindowLogPolicy(10, 300), backend), key=by_ip)

        @app.post("/login", dependencies=[Depends(login_limit)])
        def login(): ...

    ``trusted_proxies`` lists the proxies (addresses or networks) whose ``X-Forwarded-For``
    names the client; from anyone else the socket peer is the client. A limiter that would
    block the event loop (a sync one on Redis) is refused with ``TypeError``.
    """

    def __init__(
        self,
        limiter,
        *,
        key: Callable[[Request], str] = by_ip,
        tier: Callable[[Request], str] | None = None,
        fail: str = FAIL_OPEN,
        legacy_headers: bool = False,
        trusted_proxies=(),
        identify: Callable[[Request], Any] | None = None,
    ) -> None:
        self._guard = _Guard(limiter, key, tier, fail, legacy_headers, trusted_proxies, identify)

    async def __call__(self, request: Request, response: Response) -> Decision | None:
        guard = self._guard
        try:
            decision = await guard.decide(request)
        except InvalidAPIKey as exc:
            raise HTTPException(401, detail=exc.body(), headers=_unauthorized_headers(exc)) from None
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

    ``app.add_middleware(RateLimitMiddleware, limiter=AsyncRateLimiter(FREE, backend), key=by_ip)``

    Takes the same ``trusted_proxies`` and ``identify`` as :class:`RateLimit`.
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
        trusted_proxies=(),
        identify: Callable[[Request], Any] | None = None,
    ) -> None:
        self.app = app
        self._guard = _Guard(limiter, key, tier, fail, legacy_headers, trusted_proxies, identify)
        self.exempt = frozenset(exempt)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        guard = self._guard
        try:
            decision = await guard.decide(Request(scope))
        except InvalidAPIKey as exc:
            await _send_json(send, 401, {"detail": exc.body()}, _unauthorized_headers(exc))
            return
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
