"""Argument checks shared across the package: errors name the parameter and the value."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable

#: The largest number sent to a Lua script: Lua's numbers are doubles, exact for integers up to 2**53.
LUA_MAX = 2**53
#: The longest TTL or window the package accepts where one is stored in Redis: 10 years, in seconds
#: (far beyond any real limit or cache entry, far below where milliseconds lose precision).
TTL_MAX = 10 * 365 * 86_400.0


def number(name: str, value, *, minimum: float, inclusive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    try:
        float(value)
    except OverflowError:
        raise ValueError(f"{name} is too large to be a number of seconds or units, got {value!r}") from None
    ok = value >= minimum if inclusive else value > minimum
    if not ok:
        op = ">=" if inclusive else ">"
        raise ValueError(f"{name} must be {op} {minimum:g}, got {value!r}")
    return float(value)


def integer(name: str, value, *, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value!r}")
    return int(value)


def lua_number(name: str, value, *, minimum: float, inclusive: bool, maximum: float = LUA_MAX) -> float:
    """A finite number that reaches a Lua script: above ``minimum`` and at most ``maximum`` (2**53)."""
    value = number(name, value, minimum=minimum, inclusive=inclusive)
    if not math.isfinite(value) or value > maximum:
        raise ValueError(f"{name} must be a finite number <= {maximum:g}, got {value!r}")
    return value


def seconds(name: str, value, *, inclusive: bool = False, allow_inf: bool = False) -> float:
    """A duration stored as a TTL: > 0 (>= 0 if ``inclusive``) and at most :data:`TTL_MAX`, or
    ``inf`` where the caller gives it a meaning ("never expires")."""
    if allow_inf or inclusive:
        value = number(name, value, minimum=0, inclusive=inclusive)
    else:
        value = finite_positive(name, value)
    if value == math.inf and allow_inf:
        return value
    if not value <= TTL_MAX:
        also = " or inf" if allow_inf else ""
        raise ValueError(f"{name} must be at most {TTL_MAX:g} s (10 years){also}, got {value!r}")
    return value


def backoff(base, factor, max_delay) -> tuple[float, float, float]:
    """A backoff's ``base`` (> 0, at most :data:`TTL_MAX`), ``factor`` (finite, >= 1) and
    ``max_delay`` (> 0, at most :data:`TTL_MAX`, or ``inf``: no cap). Delays reach ``time.sleep``,
    which overflows on ``inf`` or ``1e308``; with ``max_delay=inf`` the stop strategy bounds them."""
    base = seconds("base", base, allow_inf=True)  # (so 0 reads "base must be > 0", as it always did)
    if base == math.inf:
        raise ValueError("base must be a finite number > 0, got inf")
    factor = number("factor", factor, minimum=1, inclusive=True)
    if not math.isfinite(factor):
        raise ValueError(f"factor must be a finite number >= 1, got {factor!r}")
    return base, factor, seconds("max_delay", max_delay, allow_inf=True)


def cost(value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"cost must be a number, got {value!r}")
    if not value > 0:
        raise ValueError(f"cost must be > 0, got {value!r}")
    return value


def clock(value, default: Callable[[], float] | None = None) -> Callable[[], float]:
    """The ``clock=`` every time-based class takes: a zero-argument callable returning seconds.

    ``None`` stands for ``default`` when the caller has one (each site keeps its own:
    ``time.monotonic`` for local timing, ``time.time`` where hosts must agree).
    """
    if value is None and default is not None:
        return default
    if not callable(value):
        raise TypeError(f"clock must be a zero-argument callable returning seconds, got {value!r}")
    return value


def rate(name: str, value) -> float:
    """A fraction in (0, 1]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not 0 < value <= 1:
        raise ValueError(f"{name} must be in (0, 1], got {value!r}")
    return float(value)


def choice(name: str, value, options: tuple[str, ...]) -> str:
    if value not in options:
        raise ValueError(f"{name} must be one of {options}, got {value!r}")
    return value


def finite_positive(name: str, value) -> float:
    """A finite number > 0 (a duration, a rate, a speed)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    # 10**400 cannot become a float: refused as not finite, named as given
    huge = isinstance(value, numbers.Integral) and value > LUA_MAX and value > 1e308
    if huge or not value > 0 or value == float("inf"):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)
