"""Argument checks shared across the package: errors name the parameter and the value."""

from __future__ import annotations

import numbers
from collections.abc import Callable


def number(name: str, value, *, minimum: float, inclusive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    ok = value >= minimum if inclusive else value > minimum
    if not ok:
        op = ">=" if inclusive else ">"
        raise ValueError(f"{name} must be {op} {minimum:g}, got {value!r}")
    return float(value)


def integer(name: str, value, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)


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
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)
