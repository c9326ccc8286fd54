"""Lesson 08's rate-limit replays: traffic shapes, and what a limiter decides for each request.

* :func:`traffic` generates request times: steady, bursty, or Poisson-random from a seed.
* :func:`replay` runs them through a fresh token bucket (the package's
  :class:`~highload.ratelimit.TokenBucket`, or a learner's class with its contract) on a
  :class:`~highload.clock.ManualClock` and records every decision and the bucket's level.
* :func:`decisions` gives admit-or-reject per request for any limiter, single-key or keyed.

No extra is needed; ``highload.widgets.TokenBucketVisualizer`` and
``highload.widgets.ratelimit.compare_algorithms`` draw these results::

    from highload.ratelimit import TokenBucket
    from highload.ratelimit.simulation import replay, traffic
    replay(TokenBucket, traffic("bursty"), capacity=10, refill_rate=1).admitted
"""

from __future__ import annotations

import inspect
import math
import numbers
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from highload import _validate
from highload.clock import ManualClock

__all__ = ["PATTERNS", "Trace", "traffic", "replay", "decisions"]

#: The traffic shapes :func:`traffic` can generate.
PATTERNS = ("steady", "bursty", "random")
#: Seconds between requests inside one burst: close enough to read as "at once" on a plot,
#: far enough apart that the markers do not sit on top of each other.
BURST_SPACING = 0.05
#: Upper bound on level samples per replay, so a tiny ``step`` cannot freeze the widget.
MAX_SAMPLES = 100_000

_positive = _validate.finite_positive


def _request_times(times: Iterable[float]) -> list[float]:
    """Sorted, validated request times (non-negative, finite seconds)."""
    out = []
    for t in times:
        if isinstance(t, bool) or not isinstance(t, numbers.Real):
            raise TypeError(f"times must be numbers (seconds), got {t!r}")
        if not 0 <= t < math.inf:
            raise ValueError(f"times must be finite and >= 0, got {t!r}")
        out.append(float(t))
    return sorted(out)


def traffic(
    pattern: str,
    *,
    duration: float = 30.0,
    rate: float = 2.0,
    burst: int = 15,
    period: float = 10.0,
    seed: int = 0,
) -> list[float]:
    """Sorted request times in ``[0, duration)`` for one traffic shape.

    * ``"steady"``: one request every ``1 / rate`` seconds, starting at 0.
    * ``"bursty"``: ``burst`` requests :data:`BURST_SPACING` apart, every ``period`` seconds.
    * ``"random"``: Poisson arrivals at ``rate`` per second; the same ``seed`` gives the same times.

    >>> traffic("steady", duration=2, rate=2)
    [0.0, 0.5, 1.0, 1.5]
    """
    if pattern not in PATTERNS:
        raise ValueError(f"pattern must be one of {PATTERNS}, got {pattern!r}")
    duration = _positive("duration", duration)
    rate = _positive("rate", rate)
    period = _positive("period", period)
    if isinstance(burst, bool) or not isinstance(burst, numbers.Integral) or burst < 1:
        raise ValueError(f"burst must be an int >= 1, got {burst!r}")

    if pattern == "steady":
        # i / rate (not a running sum) keeps the spacing exact however long the run.
        return [i / rate for i in range(math.ceil(duration * rate))]
    if pattern == "bursty":
        starts = (k * period for k in range(math.ceil(duration / period)))
        times = (s + j * BURST_SPACING for s in starts for j in range(burst))
        return sorted(t for t in times if t < duration)
    rng = random.Random(seed)
    times, t = [], rng.expovariate(rate)
    while t < duration:
        times.append(t)
        t += rng.expovariate(rate)
    return times


@dataclass(frozen=True)
class Trace:
    """What one replay observed.

    ``sample_times``/``levels`` is the bucket's ``tokens`` over time: a regular grid plus the
    level just before and just after every request, so each admission shows as a drop.
    ``request_levels`` is the level each request found on arrival.
    """

    sample_times: tuple[float, ...]
    levels: tuple[float, ...]
    request_times: tuple[float, ...]
    request_levels: tuple[float, ...]
    allowed: tuple[bool, ...]

    @property
    def admitted(self) -> int:
        """How many requests were let through."""
        return sum(self.allowed)

    @property
    def rejected(self) -> int:
        """How many requests were turned away."""
        return len(self.allowed) - self.admitted


def replay(
    impl: Callable[..., object],
    times: Iterable[float],
    *,
    capacity: float,
    refill_rate: float,
    step: float = 0.1,
    until: float | None = None,
) -> Trace:
    """Replay request ``times`` through a fresh ``impl(capacity, refill_rate, clock=...)``.

    Uses only the exercise contract: the constructor, ``allow()`` and the ``tokens``
    property. The clock starts at 0, so the bucket starts full at t = 0. Between requests
    ``tokens`` is sampled every ``step`` seconds up to ``until`` (default: the last request).
    """
    requests = _request_times(times)
    step = _positive("step", step)
    end = max(requests[-1] if requests else 0.0, 0.0 if until is None else float(until))
    if end / step > MAX_SAMPLES:
        raise ValueError(f"step must be >= {end / MAX_SAMPLES:g} for a {end:g} s replay, got {step!r}")

    clock = ManualClock(0.0)
    bucket = impl(capacity, refill_rate, clock=clock)
    grid = [i * step for i in range(math.floor(end / step + 1e-9) + 1)]
    sample_times: list[float] = []
    levels: list[float] = []
    request_levels: list[float] = []
    allowed: list[bool] = []

    def sample(t: float) -> float:
        level = float(bucket.tokens)
        sample_times.append(t)
        levels.append(level)
        return level

    g = 0
    for t in requests:
        while g < len(grid) and grid[g] < t:
            clock.set(grid[g])
            sample(grid[g])
            g += 1
        # set(), not advance(): times are sorted, and an absolute time gathers no rounding.
        clock.set(t)
        request_levels.append(sample(t))
        allowed.append(bool(bucket.allow()))
        sample(t)
    for t in grid[g:]:
        clock.set(t)
        sample(t)
    return Trace(
        tuple(sample_times), tuple(levels), tuple(requests), tuple(request_levels), tuple(allowed)
    )


def _single_key(limiter: object) -> Callable[[], bool]:
    """A zero-argument ``allow`` for single-key limiters and keyed ones (one fixed client)."""
    allow = limiter.allow
    if inspect.iscoroutinefunction(allow):
        raise TypeError(f"{limiter!r} is asyncio-only: pass a synchronous limiter")
    required = [
        p for p in inspect.signature(allow).parameters.values()
        if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    return (lambda: allow("client")) if required else allow


def decisions(factory: Callable[[ManualClock], object], times: Iterable[float]) -> list[bool]:
    """Admit-or-reject for each of the sorted ``times``, from ``factory(clock)`` on a clock starting at 0.

    The limiter may be single-key (``allow()``) or keyed (``allow(key)``: every request
    comes from one client).
    """
    clock = ManualClock(0.0)
    allow = _single_key(factory(clock))
    out = []
    for t in _request_times(times):
        clock.set(t)
        out.append(bool(allow()))
    return out
