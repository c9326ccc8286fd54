"""Fair timing on a shared machine: run several callables interleaved, so a slow moment of the
machine hits each of them alike (lesson 02's cart-store comparison)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

__all__ = ["interleaved"]


def interleaved(calls: Mapping[str, Callable[[], object]], rounds: int = 2000, *,
                timer: Callable[[], int] = time.perf_counter_ns) -> dict[str, list[float]]:
    """Call each of ``calls`` once per round, in turn, for ``rounds`` rounds; each call's
    durations in microseconds. ``timer`` returns nanoseconds (tests pass a fake one)."""
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        raise ValueError(f"rounds must be an int >= 1, got {rounds!r}")
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            start = timer()
            call()
            samples[name].append((timer() - start) / 1000)
    return samples
