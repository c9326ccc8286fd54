"""What the resilience visualizers share: colours and argument checks."""

from __future__ import annotations

import numbers

from highload import _validate

GREEN, RED, GREY, BLUE, ORANGE = "#2ca02c", "#d62728", "#7f7f7f", "#1f77b4", "#ff7f0e"

_positive = _validate.finite_positive


def _count(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)



# -- failure-rate schedules ---------------------------------------------------------------------


