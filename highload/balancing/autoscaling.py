"""Threshold autoscaling, the policy of lesson 01 (the pattern catalogue's "Auto Scaling Integration"):

add a server when the average CPU exceeds 70% for 5 consecutive minutes, and remove one when it
drops below 30% for 10 consecutive minutes.

The policy sees CPU as samples ``decide(now, cpu)``. Rules:

1. A sample with ``cpu > scale_out_above`` starts (or continues) a *high streak* at the time of
   its first sample; any other sample ends it. Likewise ``cpu < scale_in_below`` for a *low
   streak*. Exactly at a threshold counts as neither.
2. When a streak has lasted ``now - start >= scale_out_after`` (or ``scale_in_after``), the
   policy returns +1 (or -1), changes ``servers``, and restarts the streak at ``now``: the next
   step needs another full period.
3. ``servers`` never leaves ``[min_servers, max_servers]``: at a bound the step is 0 and the
   streak keeps running.
4. After any step, nothing changes until ``cooldown`` seconds have passed (default 0).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import NamedTuple

from highload import _validate

__all__ = ["AutoscalingPolicy", "AutoscaleSample", "simulate_autoscaling"]


class AutoscalingPolicy:
    """Stateful threshold autoscaler; ``decide(now, cpu)`` returns +1, 0 or -1.

    >>> policy = AutoscalingPolicy(min_servers=2)
    >>> policy.decide(0, 0.8), policy.decide(299, 0.8), policy.decide(300, 0.8)
    (0, 0, 1)
    >>> policy.servers
    3
    """

    def __init__(
        self,
        scale_out_above: float = 0.70,
        scale_out_after: float = 300.0,
        scale_in_below: float = 0.30,
        scale_in_after: float = 600.0,
        min_servers: int = 1,
        max_servers: int = 10,
        cooldown: float = 0.0,
        initial_servers: int | None = None,
    ) -> None:
        self.scale_out_above = _validate.number("scale_out_above", scale_out_above, minimum=0, inclusive=True)
        self.scale_in_below = _validate.number("scale_in_below", scale_in_below, minimum=0, inclusive=True)
        if not self.scale_in_below < self.scale_out_above:
            raise ValueError(
                f"scale_in_below must be < scale_out_above, got {scale_in_below!r} >= {scale_out_above!r}"
            )
        self.scale_out_after = _validate.number("scale_out_after", scale_out_after, minimum=0, inclusive=True)
        self.scale_in_after = _validate.number("scale_in_after", scale_in_after, minimum=0, inclusive=True)
        self.min_servers = _validate.integer("min_servers", min_servers, minimum=1)
        self.max_servers = _validate.integer("max_servers", max_servers, minimum=1)
        if self.max_servers < self.min_servers:
            raise ValueError(f"max_servers must be >= min_servers ({min_servers}), got {max_servers!r}")
        self.cooldown = _validate.number("cooldown", cooldown, minimum=0, inclusive=True)
        if initial_servers is None:
            initial_servers = self.min_servers
        _validate.integer("initial_servers", initial_servers, minimum=self.min_servers)
        if initial_servers > self.max_servers:
            raise ValueError(f"initial_servers must be <= max_servers ({max_servers}), got {initial_servers!r}")
        self.servers = int(initial_servers)
        self._high_since: float | None = None
        self._low_since: float | None = None
        self._last_step: float = -math.inf
        self._lock = threading.Lock()

    def decide(self, now: float, cpu: float) -> int:
        """Feed one CPU sample (0..1, the pool's average) at time ``now``; return the step taken."""
        _validate.number("now", now, minimum=-math.inf, inclusive=True)
        _validate.number("cpu", cpu, minimum=0, inclusive=True)
        with self._lock:
            if cpu > self.scale_out_above:
                self._low_since = None
                if self._high_since is None:
                    self._high_since = now
                due, room = now - self._high_since >= self.scale_out_after, self.servers < self.max_servers
                step = 1
            elif cpu < self.scale_in_below:
                self._high_since = None
                if self._low_since is None:
                    self._low_since = now
                due, room = now - self._low_since >= self.scale_in_after, self.servers > self.min_servers
                step = -1
            else:
                self._high_since = self._low_since = None
                return 0
            if not (due and room and now - self._last_step >= self.cooldown):
                return 0
            self.servers += step
            self._last_step = now
            if step == 1:
                self._high_since = now
            else:
                self._low_since = now
            return step

    def __repr__(self) -> str:
        return (f"AutoscalingPolicy(servers={self.servers}, out>{self.scale_out_above:g} for {self.scale_out_after:g}s, "
                f"in<{self.scale_in_below:g} for {self.scale_in_after:g}s, [{self.min_servers}, {self.max_servers}])")


class AutoscaleSample(NamedTuple):
    t: float
    servers: int  # servers that were running when cpu was measured
    cpu: float


def simulate_autoscaling(
    load_curve: Callable[[float], float],
    per_server_capacity: float,
    duration: float,
    step: float = 60.0,
    policy: AutoscalingPolicy | None = None,
) -> list[AutoscaleSample]:
    """Sample the load every ``step`` seconds from 0 to ``duration`` (inclusive) and autoscale.

    At each sample ``cpu = min(1, load_curve(t) / (servers * per_server_capacity))``; the policy
    then decides, and the new server count serves from the next sample on. Returns
    ``[(t, servers, cpu), ...]``.

    >>> samples = simulate_autoscaling(lambda t: 900, per_server_capacity=1000, duration=600)
    >>> [(s.t, s.servers) for s in samples if s.t in (240, 300, 360)]
    [(240.0, 1), (300.0, 1), (360.0, 2)]
    """
    if not callable(load_curve):
        raise TypeError(f"load_curve must be a callable t -> requests per second, got {load_curve!r}")
    _validate.number("per_server_capacity", per_server_capacity, minimum=0, inclusive=False)
    _validate.number("duration", duration, minimum=0, inclusive=True)
    _validate.number("step", step, minimum=0, inclusive=False)
    policy = policy if policy is not None else AutoscalingPolicy()
    samples = []
    for k in range(math.floor(duration / step) + 1):
        t = float(k * step)
        load = _validate.number("load_curve(t)", load_curve(t), minimum=0, inclusive=True)
        servers = policy.servers
        cpu = min(1.0, load / (servers * per_server_capacity))
        samples.append(AutoscaleSample(t, servers, cpu))
        policy.decide(t, cpu)
    return samples
