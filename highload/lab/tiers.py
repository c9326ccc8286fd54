"""Lesson 08's tier chart as one function: what a plan's token bucket admits, second by second,
from a client that keeps sending at a fixed rate."""

from __future__ import annotations

from highload.clock import ManualClock

__all__ = ["admitted_per_second"]


def admitted_per_second(policy, rate: int = 20, seconds: int = 150) -> list[int]:
    """Requests admitted in each second when a client sends ``rate`` evenly spaced requests/s.

    ``policy`` is any policy with ``create(clock)`` (e.g. :data:`highload.ratelimit.FREE`); each
    call gets a fresh in-memory limiter on its own :class:`ManualClock`, so nothing sleeps.
    """
    if isinstance(rate, bool) or not isinstance(rate, int) or rate < 1:
        raise ValueError(f"rate must be an int >= 1 (requests per second), got {rate!r}")
    clock = ManualClock()
    bucket = policy.create(clock)
    per_second = []
    for _ in range(seconds):
        admitted = 0
        for _ in range(rate):
            admitted += bucket.allow()
            clock.advance(1 / rate)
        per_second.append(admitted)
    return per_second
