"""The answer a limiter gives, and the HTTP headers built from it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["Decision"]


# Also used by the web glue, so a 429 body and its Retry-After header always agree.
def _whole_seconds(seconds: float) -> int:
    # Headers carry whole seconds; rounding up never tells a client to come back too early.
    if math.isinf(seconds):
        return 2**31 - 1
    return max(0, math.ceil(seconds - 1e-9))


@lru_cache(maxsize=256)
def _policy_header(policy: str, limit: float, window: float) -> tuple[str, int | float, str]:
    # A policy's header never changes, and every response carries it: build it once.
    name = policy.replace('"', "")
    quota = int(limit) if float(limit).is_integer() else limit
    return name, quota, f'"{name}";q={quota};w={_whole_seconds(window)}'


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one rate-limit check.

    ``retry_after`` is 0.0 when allowed, else seconds until the same request would pass
    (``math.inf`` if it never can). ``reset_after`` is seconds until the limiter is back
    to its full quota.
    """

    allowed: bool
    limit: float
    remaining: int
    retry_after: float
    reset_after: float
    policy: str = "default"
    window: float = 0.0

    def __bool__(self) -> bool:
        return self.allowed

    def headers(self, *, legacy: bool = False) -> dict[str, str]:
        """IETF httpapi ``RateLimit-Policy`` / ``RateLimit`` headers, plus ``Retry-After`` when denied.

        ``legacy=True`` adds the common ``X-RateLimit-Limit/Remaining/Reset`` trio.
        """
        name, quota, policy = _policy_header(self.policy, self.limit, self.window)
        reset = _whole_seconds(self.reset_after)
        out = {
            "RateLimit-Policy": policy,
            "RateLimit": f'"{name}";r={self.remaining};t={reset}',
        }
        if legacy:
            out["X-RateLimit-Limit"] = str(quota)
            out["X-RateLimit-Remaining"] = str(self.remaining)
            out["X-RateLimit-Reset"] = str(reset)
        if not self.allowed:
            out["Retry-After"] = str(_whole_seconds(self.retry_after))
        return out
