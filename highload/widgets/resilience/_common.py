"""What the resilience visualizers share: colours and argument checks."""

from __future__ import annotations

import math
import numbers

GREEN, RED, GREY, BLUE, ORANGE = "#2ca02c", "#d62728", "#7f7f7f", "#1f77b4", "#ff7f0e"


def _positive(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not value > 0 or math.isinf(value):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def _count(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


# -- failure-rate schedules ---------------------------------------------------------------------


