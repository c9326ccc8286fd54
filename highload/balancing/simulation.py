"""A discrete-event simulation (SimPy) of a balancer in front of servers of different speeds.

Requests arrive as a Poisson process; each server is a queue with ``workers`` parallel slots and
exponential service times with mean ``1 / speed``. The balancer is asked once per arrival
(``acquire()``), and told when the request finishes (``release(server)``), so least connections
and power of two choices see the real number of requests on each server (queued + in service).

Arrivals and service work come from two random streams seeded from ``seed``, so every algorithm
in :func:`compare` faces exactly the same requests (common random numbers).

Needs the ``sim`` extra: ``pip install "highload[sim]"``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from highload import _validate

__all__ = ["SimResult", "simulate", "compare", "percentile"]


def _simpy():
    try:
        import simpy
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            'the load-balancing simulation needs SimPy: pip install "highload[sim]"'
        ) from exc
    return simpy


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile: the smallest value with at least ``p``% of values <= it."""
    if not values:
        raise ValueError("values must not be empty")
    if not 0 < p <= 100:
        raise ValueError(f"p must be in (0, 100], got {p!r}")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass(frozen=True)
class SimResult:
    """What one run produced: requests per server and latency (queueing + service) in seconds."""

    counts: dict[str, int]
    latencies: tuple[float, ...] = field(repr=False)
    p50: float
    p95: float
    p99: float
    mean: float

    @property
    def requests(self) -> int:
        return len(self.latencies)

    def row(self) -> dict[str, float | int]:
        return {"requests": self.requests, "mean": self.mean, "p50": self.p50, "p95": self.p95,
                "p99": self.p99, **{f"n[{s}]": n for s, n in self.counts.items()}}


def simulate(
    algorithm_factory: Callable[[list[str]], object],
    server_speeds: Sequence[float],
    arrival_rate: float,
    duration: float,
    seed: int = 0,
    workers: int = 1,
) -> SimResult:
    """Run one simulation and return the per-server counts and latency percentiles.

    ``algorithm_factory(servers)`` gets the server names ``["s0", "s1", ...]`` (one per entry of
    ``server_speeds``, in requests per second per worker) and returns a balancer with
    ``acquire()`` and ``release(server)``. Requests arrive for ``duration`` seconds at
    ``arrival_rate`` per second; the run continues until the last one finishes.

    >>> from highload.balancing import LeastConnections
    >>> result = simulate(LeastConnections, [1, 1, 4], arrival_rate=3, duration=100, seed=1)
    >>> sum(result.counts.values()) == result.requests
    True
    """
    simpy = _simpy()
    if not callable(algorithm_factory):
        raise TypeError(f"algorithm_factory must be a callable taking the server names, got {algorithm_factory!r}")
    speeds = [_validate.number("server_speeds[]", s, minimum=0, inclusive=False) for s in server_speeds]
    if not speeds:
        raise ValueError(f"server_speeds must not be empty, got {list(server_speeds)!r}")
    _validate.number("arrival_rate", arrival_rate, minimum=0, inclusive=False)
    _validate.number("duration", duration, minimum=0, inclusive=False)
    _validate.integer("seed", seed, minimum=-(2**63))
    _validate.integer("workers", workers, minimum=1)

    names = [f"s{i}" for i in range(len(speeds))]
    speed_of = dict(zip(names, speeds, strict=True))
    balancer = algorithm_factory(list(names))
    env = simpy.Environment()
    queues = {name: simpy.Resource(env, capacity=workers) for name in names}
    arrivals, work = random.Random(seed), random.Random(seed + 1)
    counts = dict.fromkeys(names, 0)
    latencies: list[float] = []

    def request(server: str, size: float):
        started = env.now
        with queues[server].request() as slot:
            yield slot
            yield env.timeout(size / speed_of[server])
        latencies.append(env.now - started)
        balancer.release(server)

    def source():
        while True:
            yield env.timeout(arrivals.expovariate(arrival_rate))
            if env.now >= duration:
                return
            server = balancer.acquire()
            counts[server] += 1
            env.process(request(server, work.expovariate(1.0)))

    env.process(source())
    env.run()
    if not latencies:
        raise ValueError(f"no request arrived in {duration!r} s; raise duration or arrival_rate")
    return SimResult(
        counts=counts,
        latencies=tuple(latencies),
        p50=percentile(latencies, 50),
        p95=percentile(latencies, 95),
        p99=percentile(latencies, 99),
        mean=sum(latencies) / len(latencies),
    )


def compare(
    algorithms: Mapping[str, Callable[[list[str]], object]],
    server_speeds: Sequence[float],
    arrival_rate: float,
    duration: float,
    seed: int = 0,
    workers: int = 1,
) -> dict[str, dict[str, float | int]]:
    """Simulate each named algorithm on the same requests; return ``{name: row}``.

    Each row has ``requests``, ``mean``, ``p50``, ``p95``, ``p99`` and ``n[server]`` counts, so
    ``pandas.DataFrame(compare(...)).T`` is a table.
    """
    return {
        name: simulate(factory, server_speeds, arrival_rate, duration, seed, workers).row()
        for name, factory in algorithms.items()
    }
