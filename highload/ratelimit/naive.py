"""Moved to :mod:`highload.lab.naive_limiter` (teaching code lives in ``highload.lab``).

This alias keeps the old import path working, without a warning, until the next release.
"""

from highload.lab.naive_limiter import NaiveCounterLimiter

__all__ = ["NaiveCounterLimiter"]
