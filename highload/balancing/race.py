"""Lesson 01's balancer race: several balancers (or the learner's own) on the same requests to
uneven servers, each through the seeded SimPy simulation of :func:`highload.balancing.simulate`.

Every entry faces the same Poisson arrivals and the same request sizes, so the only difference
between two results is the balancer. ``highload.widgets.LoadBalancerRace`` draws them::

    from highload.balancing.race import race
    race(["round robin", "least connections"], server_speeds=(1, 1, 4), load=0.9)

Needs the ``sim`` extra (SimPy), like :mod:`highload.balancing.simulation`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import reduce

from highload import _simulate, _validate
from highload.balancing.algorithms import (
    LeastConnections,
    PowerOfTwoChoices,
    RoundRobin,
    SmoothWeightedRoundRobin,
)
from highload.balancing.simulation import simulate

# Every engine's seed= is checked once, here.
_seed = _simulate.check_seed

__all__ = [
    "ALGORITHMS",
    "DEFAULT_ALGORITHMS",
    "YOURS",
    "RaceResult",
    "parse_speeds",
    "weights_for",
    "race",
    "race_impl",
]

#: What ``impl=`` must be, for the error when it is not.
CONTRACT = "a balancer class such as LeastConnections"
#: The built-in entries, in drawing order.
ALGORITHMS = ("round robin", "weighted round robin", "least connections", "power of two")
DEFAULT_ALGORITHMS = ("round robin", "least connections", "power of two")
#: The entry name of the learner's class (``impl=``).
YOURS = "your balancer"
#: At most this many servers: more bars than that are unreadable.
MAX_SERVERS = 12


@dataclass(frozen=True)
class RaceResult:
    """One entry's run: requests per server (``counts[i]`` went to ``s{i}``) and latency in seconds.

    Latency is queueing plus service, from arrival to the end of the request. ``note`` is a
    warning about the balancer that did not stop the run (e.g. connections never released).
    """

    name: str
    counts: tuple[int, ...]
    p50: float
    p95: float
    p99: float
    mean: float
    note: str = ""

    @property
    def requests(self) -> int:
        return sum(self.counts)

    @property
    def shares(self) -> tuple[float, ...]:
        """The fraction of all requests each server got."""
        total = self.requests
        return tuple(n / total for n in self.counts)

    @property
    def percentiles(self) -> tuple[float, float, float]:
        return self.p50, self.p95, self.p99


def _speeds(server_speeds) -> tuple[float, ...]:
    if isinstance(server_speeds, str | bytes) or not isinstance(server_speeds, Iterable):
        raise TypeError(f"server_speeds must be a sequence of numbers (requests/s), got {server_speeds!r}")
    speeds = tuple(server_speeds)
    if not 1 <= len(speeds) <= MAX_SERVERS:
        raise ValueError(f"server_speeds must hold 1 to {MAX_SERVERS} speeds, got {list(speeds)!r}")
    for speed in speeds:
        if isinstance(speed, bool) or not isinstance(speed, numbers.Real):
            raise TypeError(f"server_speeds must be numbers (requests/s), got {speed!r}")
        if not 0 < speed < math.inf:
            raise ValueError(f"server_speeds must be finite numbers > 0, got {speed!r}")
    return tuple(float(s) for s in speeds)


def _algorithms(algorithms) -> tuple[str, ...]:
    if isinstance(algorithms, str):
        algorithms = (algorithms,)
    picked = tuple(algorithms)
    unknown = [a for a in picked if a not in ALGORITHMS]
    if unknown:
        raise ValueError(f"algorithms must be names from {ALGORITHMS}, got {list(picked)!r}")
    return tuple(a for a in ALGORITHMS if a in picked)  # drawing order, no duplicates


def _requests(requests) -> int:
    return _validate.integer("requests", requests, minimum=10)


def parse_speeds(text: str) -> tuple[float, ...]:
    """``"1, 1, 4"`` -> ``(1.0, 1.0, 4.0)``; ValueError saying what it wants otherwise."""
    parts = [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]
    try:
        return _speeds(float(p) for p in parts)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"server speeds are comma-separated requests/s > 0, e.g. 1, 1, 4 ({exc})") from None


def weights_for(server_speeds: Sequence[float]) -> dict[str, int]:
    """Integer weights proportional to the speeds (to 0.1), smallest terms: ``(1, 1, 4)`` -> 1, 1, 4.

    >>> weights_for([0.5, 1.5])
    {'s0': 1, 's1': 3}
    """
    tenths = [max(1, round(s * 10)) for s in _speeds(server_speeds)]
    common = reduce(math.gcd, tenths)
    return {f"s{i}": t // common for i, t in enumerate(tenths)}


def _factory(name: str, weights: dict[str, int], seed: int) -> Callable[[list[str]], object]:
    if name == "round robin":
        return RoundRobin
    if name == "weighted round robin":
        return lambda servers: SmoothWeightedRoundRobin(weights)
    if name == "least connections":
        return LeastConnections
    return lambda servers: PowerOfTwoChoices(servers, rng=seed)


def _run(name, factory, speeds, load, requests, seed) -> RaceResult:
    rate = load * sum(speeds)
    result = simulate(factory, speeds, arrival_rate=rate, duration=requests / rate, seed=seed)
    counts = tuple(result.counts[f"s{i}"] for i in range(len(speeds)))
    return RaceResult(name, counts, result.p50, result.p95, result.p99, result.mean)


def race(
    algorithms: Iterable[str] = DEFAULT_ALGORITHMS,
    server_speeds: Sequence[float] = (1, 1, 4),
    load: float = 0.9,
    *,
    impl: Callable[..., object] | None = None,
    requests: int = 2000,
    seed: int = 0,
) -> dict[str, RaceResult]:
    """Race each named algorithm (and ``impl``, as :data:`YOURS`) on the same requests.

    Servers ``s0, s1, ...`` serve ``server_speeds[i]`` requests per second each, one at a time,
    with exponential service times. Requests arrive as a Poisson process at ``load`` times the
    total capacity (``load=0.9``: 90% of ``sum(server_speeds)``) until about ``requests`` have
    arrived. "weighted round robin" uses :func:`weights_for` the speeds; "power of two" is seeded
    with ``seed``. The same ``seed`` gives the same numbers. Errors from ``impl`` propagate.

    >>> results = race(["round robin", "least connections"], (1, 1, 4), load=0.9, requests=500)
    >>> results["least connections"].p99 < results["round robin"].p99
    True
    """
    picked = _algorithms(algorithms)
    speeds = _speeds(server_speeds)
    load = _validate.finite_positive("load", load)
    requests, seed = _requests(requests), _seed(seed)
    if not picked and impl is None:
        raise ValueError(f"algorithms must name at least one of {ALGORITHMS} (or pass impl=), got none")
    weights = weights_for(speeds)
    out = {name: _run(name, _factory(name, weights, seed), speeds, load, requests, seed) for name in picked}
    if impl is not None:
        out[YOURS] = race_impl(impl, speeds, load, requests=requests, seed=seed)
    return out


def _has(obj, name: str) -> bool:
    return callable(getattr(obj, name, None))


class _Driven:
    """Drives a learner's balancer with the simulation's ``acquire()``/``release(server)``.

    ``LeastConnections``-style classes (``impl(servers)``, ``acquire()``, ``release(server)``) are
    called as they are; ``SmoothWeightedRoundRobin``-style ones (``impl(weights)``, ``next()``)
    get ``next()`` for ``acquire()`` and nothing for ``release``. Every answer is checked, and
    an error says which call, at which request, raised it.
    """

    def __init__(self, impl, servers: list[str], weights: dict[str, int]) -> None:
        self.servers = list(servers)
        self.acquired = self.released = 0
        self.name = _simulate.impl_name(impl, "your balancer")
        if _has(impl, "acquire"):
            self.kind = "acquire"
        elif _has(impl, "next"):
            self.kind = "next"
        else:  # a factory function, not a class: look at what it builds
            self.kind = ""
        arg = dict(weights) if self.kind == "next" else list(servers)
        try:
            self.inner = impl(arg)
        except Exception as exc:
            exc.add_note(f"in {self.name}({arg!r})")
            raise
        if not self.kind:
            self.kind = "acquire" if _has(self.inner, "acquire") else "next" if _has(self.inner, "next") else ""
        if not self.kind:
            raise TypeError(
                f"impl must have acquire() and release(server) (like LeastConnections) or next() "
                f"(like SmoothWeightedRoundRobin); {self.name} has neither"
            )
        if self.kind == "acquire" and not _has(self.inner, "release"):
            raise TypeError(f"{self.name} has acquire() but no release(server): the balancer is told "
                            "when each request ends through release(server)")

    def acquire(self) -> str:
        call = "acquire" if self.kind == "acquire" else "next"
        try:
            server = getattr(self.inner, call)()
        except Exception as exc:
            exc.add_note(f"at request #{self.acquired + 1}, in {self.name}.{call}()")
            raise
        if server not in self.servers:
            raise ValueError(f"{self.name}.{call}() returned {server!r} at request #{self.acquired + 1}; "
                             f"it must return one of {self.servers!r}")
        self.acquired += 1
        return server

    def release(self, server: str) -> None:
        self.released += 1
        if self.kind != "acquire":
            return
        try:
            self.inner.release(server)
        except Exception as exc:
            exc.add_note(f"at release #{self.released}, in {self.name}.release({server!r})")
            raise

    def leftover(self) -> dict[str, int]:
        """Servers whose ``active(server)`` is not 0 once every request has finished."""
        if not _has(self.inner, "active"):
            return {}
        counts = {s: self.inner.active(s) for s in self.servers}
        return {s: n for s, n in counts.items() if n != 0}


def race_impl(
    impl: Callable[..., object],
    server_speeds: Sequence[float] = (1, 1, 4),
    load: float = 0.9,
    *,
    requests: int = 2000,
    seed: int = 0,
) -> RaceResult:
    """Race the learner's balancer class alone, on the same requests as :func:`race`.

    ``impl`` meets the exercise contract of ``LeastConnections(servers)`` (``acquire()``,
    ``release(server)``, ``active(server)``) or ``SmoothWeightedRoundRobin(weights)``
    (``next()``), where ``weights`` is :func:`weights_for` the speeds. If it has ``active``,
    every server must be back at 0 active connections after the run; otherwise the result's
    ``note`` says which are not.
    """
    if not callable(impl):  # required: race_impl has no default class to fall back on
        raise TypeError(f"impl must be {CONTRACT}, got {impl!r}")
    speeds = _speeds(server_speeds)
    load = _validate.finite_positive("load", load)
    requests, seed = _requests(requests), _seed(seed)
    weights = weights_for(speeds)
    made: list[_Driven] = []

    def factory(servers):
        made.append(_Driven(impl, servers, weights))
        return made[-1]

    try:
        result = _run(YOURS, factory, speeds, load, requests, seed)
    except Exception as exc:
        # SimPy re-raises a copy of a process's exception; the learner's original (with its
        # traceback and our note saying which call failed) is the cause.
        cause = exc.__cause__
        if type(cause) is type(exc) and cause.args == exc.args:
            raise cause from None
        raise
    leftover = made[0].leftover()
    note = (f"after every request finished, active() is not 0 on {leftover}: does release() "
            "take the connection back?") if leftover else ""
    return RaceResult(YOURS, result.counts, result.p50, result.p95, result.p99, result.mean, note)
