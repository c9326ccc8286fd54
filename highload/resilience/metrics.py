"""Per-breaker metrics: what a breaker dashboard should show (request rate, error rate, rejections,
latency percentiles, state changes) as one snapshot."""

from __future__ import annotations

import math
from collections import Counter, deque
from dataclasses import dataclass, field

__all__ = ["BreakerMetrics", "LatencyReservoir"]


class LatencyReservoir:
    """The last ``size`` call durations; percentiles are computed on demand, not per call."""

    def __init__(self, size: int) -> None:
        self._samples: deque[float] = deque(maxlen=size)

    def add(self, seconds: float) -> None:
        self._samples.append(seconds)

    def percentile(self, q: float) -> float | None:
        if not self._samples:
            return None
        ordered = sorted(self._samples)
        # nearest rank: the smallest sample with at least q of the samples at or below it
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


@dataclass(frozen=True)
class BreakerMetrics:
    name: str
    state: str
    calls: int
    successes: int
    failures: int
    ignored: int
    rejections: int
    seconds: float
    transitions: dict[str, int] = field(default_factory=dict)
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None

    @property
    def request_rate(self) -> float:
        """Calls (admitted or rejected) per second since the breaker was created."""
        return (self.calls + self.rejections) / self.seconds if self.seconds > 0 else 0.0

    @property
    def error_rate(self) -> float:
        """Failures per finished call."""
        finished = self.successes + self.failures
        return self.failures / finished if finished else 0.0


def transition_counts(counter: Counter) -> dict[str, int]:
    return {f"{a}->{b}": n for (a, b), n in sorted(counter.items())}
