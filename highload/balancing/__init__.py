"""Load balancing: algorithms, health checks, a SimPy simulation and threshold autoscaling.

>>> from highload.balancing import SmoothWeightedRoundRobin
>>> lb = SmoothWeightedRoundRobin({"a": 5, "b": 1, "c": 1})
>>> [lb.next() for _ in range(7)]
['a', 'a', 'b', 'a', 'c', 'a', 'a']

The simulation needs the ``sim`` extra (``pip install "highload[sim]"``); SimPy is imported only
when :func:`simulate` runs, so the rest works without it.
"""

from .algorithms import (
    ConsistentHash,
    LeastConnections,
    NoServerAvailable,
    PowerOfTwoChoices,
    RoundRobin,
    SmoothWeightedRoundRobin,
)
from .autoscaling import AutoscaleSample, AutoscalingPolicy, simulate_autoscaling
from .health import ActiveHealth, HealthyBalancer, PassiveHealth
from .simulation import SimResult, compare, percentile, simulate

__all__ = [
    "ActiveHealth",
    "AutoscaleSample",
    "AutoscalingPolicy",
    "ConsistentHash",
    "HealthyBalancer",
    "LeastConnections",
    "NoServerAvailable",
    "PassiveHealth",
    "PowerOfTwoChoices",
    "RoundRobin",
    "SimResult",
    "SmoothWeightedRoundRobin",
    "compare",
    "percentile",
    "simulate",
    "simulate_autoscaling",
]
