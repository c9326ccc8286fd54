"""Helpers shared by the hidden suites: a manual clock and hypothesis settings for grading."""

from __future__ import annotations

from hypothesis import HealthCheck, settings


class Clock:
    """A clock the test moves by hand; the suites never depend on highload to grade."""

    def __init__(self, now: float = 1000.0) -> None:
        # Starting far from 0 catches code that reads time.monotonic() instead of the clock.
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# Reproducible grading: no deadline (that would be a timing assertion), no example database.
GRADING = settings(
    deadline=None,
    derandomize=True,
    database=None,
    max_examples=150,
    report_multiple_bugs=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
