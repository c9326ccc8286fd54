"""Backoff delays with jitter (the AWS Architecture Blog formulas), safe for any number of attempts."""

from __future__ import annotations

import math
import random

from highload import _validate

__all__ = ["backoff_delays", "JITTERS"]

JITTERS = ("none", "full", "equal", "decorrelated")


def _cap(base: float, factor: float, i: int, max_delay: float) -> float:
    # base * factor**i overflows a float long before 10,000 attempts; past max_delay it no longer matters.
    try:
        return min(max_delay, base * factor**i)
    except OverflowError:
        return max_delay


def backoff_delays(
    attempts: int,
    base: float,
    factor: float = 2.0,
    max_delay: float = math.inf,
    jitter: str = "none",
    rng: random.Random | None = None,
) -> list[float]:
    """The delays before retries 1..attempts.

    ``cap_i = min(max_delay, base * factor**i)``; "none" waits cap_i, "full" uniform(0, cap_i),
    "equal" cap_i/2 + uniform(0, cap_i/2), "decorrelated" min(max_delay, uniform(base, 3*prev)).
    Jitter spreads clients that failed together, so they do not retry together (a thundering herd).
    """
    # a list of that many delays: 10**400 would never return (10**6 is 8 MB, far past any retry plan)
    _validate.integer("attempts", attempts, minimum=0, maximum=1_000_000)
    base, factor, max_delay = _validate.backoff(base, factor, max_delay)
    _validate.choice("jitter", jitter, JITTERS)
    rng = rng if rng is not None else random.Random()
    delays: list[float] = []
    if jitter == "decorrelated":
        prev = base
        for _ in range(attempts):
            prev = min(max_delay, rng.uniform(base, prev * 3))
            delays.append(prev)
        return delays
    cap = base
    for i in range(attempts):
        # factor >= 1, so caps never fall: once at max_delay, stop computing powers.
        cap = max_delay if cap >= max_delay else _cap(base, factor, i, max_delay)
        if jitter == "none":
            delays.append(cap)
        elif jitter == "full":
            delays.append(rng.uniform(0, cap) if math.isfinite(cap) else cap)
        else:
            delays.append(cap / 2 + rng.uniform(0, cap / 2) if math.isfinite(cap) else cap)
    return delays
