"""Resilience visualizers: watch a real circuit breaker (or the learner's own) ride out an outage,
and watch retries with and without jitter hit a recovering server.

They draw :mod:`highload.resilience.simulation` (no extra needed; its names are re-exported
here), which runs on a :class:`~highload.clock.ManualClock` with seeded randomness, so a minute
of traffic replays in milliseconds and the same sliders always draw the same picture::

    from highload.widgets import BreakerTimeline, RetryStorm
    BreakerTimeline(impl=MyCircuitBreaker, failure_threshold=5, open_timeout=10)
    RetryStorm(clients=100, failure_until=10)
"""

from .storm import STRATEGIES, RetryStorm, StormRun, retry_storm
from .timeline import (
    SCHEDULES,
    STATES,
    BreakerRun,
    BreakerTimeline,
    failure_rate_at,
    parse_schedule,
    simulate_breaker,
)

__all__ = [
    "SCHEDULES",
    "STATES",
    "parse_schedule",
    "failure_rate_at",
    "BreakerRun",
    "simulate_breaker",
    "BreakerTimeline",
    "STRATEGIES",
    "StormRun",
    "retry_storm",
    "RetryStorm",
]

