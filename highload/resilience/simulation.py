"""Lesson 09's resilience simulations: a circuit breaker riding out an outage, and many clients
retrying into a recovering server, with and without jitter.

* :func:`simulate_breaker` sends calls through a fresh breaker (the package's
  :class:`~highload.resilience.CircuitBreaker`, or a learner's class with its contract) on a
  :class:`~highload.clock.ManualClock`, against a downstream whose failure rate follows a
  schedule, and records every outcome, latency and state.
* :func:`retry_storm` replays clients retrying with :func:`~highload.resilience.backoff_delays`
  into a server that is down, then back with limited capacity, per jitter strategy.

Nothing sleeps and randomness comes from ``seed``, so a minute of traffic replays in
milliseconds and the same arguments give the same numbers. No extra is needed;
``highload.widgets.BreakerTimeline`` and ``RetryStorm`` draw these results::

    from highload.resilience.simulation import retry_storm, simulate_breaker
    simulate_breaker(schedule="outage 20-35 s").rejections
    retry_storm(clients=100)["full jitter"].peak_after_recovery
"""

from __future__ import annotations

import heapq
import math
import numbers
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from highload import _validate
from highload.clock import ManualClock
from highload.resilience import CircuitBreaker, backoff_delays

__all__ = [
    "SCHEDULES",
    "STATES",
    "parse_schedule",
    "failure_rate_at",
    "DownstreamError",
    "BreakerRun",
    "simulate_breaker",
    "STRATEGIES",
    "StormRun",
    "retry_storm",
]

_positive = _validate.finite_positive


def _count(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


# -- failure-rate schedules ---------------------------------------------------------------------


#: Downstream failure-rate schedules: (from time s, failure rate) steps, each rate holding until the next.
SCHEDULES: dict[str, tuple[tuple[float, float], ...]] = {
    "outage 20-35 s": ((0, 0.0), (20, 1.0), (35, 0.0)),
    "flapping": ((0, 0.0), (10, 0.9), (16, 0.05), (22, 0.9), (28, 0.05), (34, 0.9), (40, 0.0)),
    "slow recovery": ((0, 0.0), (10, 1.0), (25, 0.6), (35, 0.3), (45, 0.05)),
    "10% errors": ((0, 0.1),),
}
#: The states a breaker reports, in the order their bands are drawn.
STATES = ("closed", "open", "half_open")
#: The latency drawn for a rejected call: the breaker answers at once ("fail fast").
REJECT_LATENCY = 0.001
#: A healthy downstream answers in this many seconds (uniform).
HEALTHY_LATENCY = (0.03, 0.08)


def parse_schedule(schedule: str | Sequence[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    """A schedule as sorted ``(time, rate)`` steps, from a preset name, ``"t:rate, t:rate"`` or pairs.

    Rates are fractions in [0, 1] (``"20:100%"`` also works). Before the first step the rate is 0.

    >>> parse_schedule("0:0, 20:1, 35:0")
    ((0.0, 0.0), (20.0, 1.0), (35.0, 0.0))
    """
    if isinstance(schedule, str):
        if schedule in SCHEDULES:
            return SCHEDULES[schedule]
        pairs = []
        for part in schedule.replace(";", ",").split(","):
            if not part.strip():
                continue
            t, sep, rate = part.partition(":")
            if not sep:
                raise ValueError(f"schedule steps look like 't:rate', e.g. '20:1'; got {part.strip()!r}")
            rate = rate.strip()
            try:
                value = float(rate[:-1]) / 100 if rate.endswith("%") else float(rate)
                pairs.append((float(t), value))
            except ValueError:
                raise ValueError(f"schedule steps look like 't:rate', e.g. '20:1'; got {part.strip()!r}") from None
        schedule = pairs
    steps = []
    for step in schedule:
        try:
            t, rate = step
        except (TypeError, ValueError):
            raise ValueError(f"schedule must hold (time, rate) pairs, got {step!r}") from None
        if isinstance(t, bool) or not isinstance(t, numbers.Real) or not 0 <= t < math.inf:
            raise ValueError(f"schedule times must be finite seconds >= 0, got {t!r}")
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 <= rate <= 1:
            raise ValueError(f"schedule rates must be between 0 and 1, got {rate!r}")
        steps.append((float(t), float(rate)))
    if not steps:
        raise ValueError(f"schedule needs at least one 't:rate' step, got {schedule!r}")
    return tuple(sorted(steps))


def failure_rate_at(schedule: Sequence[tuple[float, float]], t: float) -> float:
    """The failure rate in force at time ``t`` (0 before the first step)."""
    rate = 0.0
    for start, value in schedule:
        if start <= t:
            rate = value
        else:
            break
    return rate


# -- replaying calls through a breaker ----------------------------------------------------------


class DownstreamError(Exception):
    """What the simulated downstream raises when a call fails (after the call timeout)."""


@dataclass(frozen=True)
class BreakerRun:
    """What one replay observed, call by call.

    ``outcomes[i]`` is "success", "failure" or "rejected"; ``latencies[i]`` is how long the
    caller waited (a failure holds a worker for the whole ``call_timeout``, a rejection for
    next to nothing). ``states[i]`` is ``.state`` right after call ``i``. ``bands`` are
    ``(start, end, state)`` periods and ``transitions`` are ``(time, from, to)``, both as seen
    through ``.state`` just before and just after each call: a breaker whose ``.state`` turns
    half-open lazily (like highload's) shows a failed trial as open -> half_open -> open at one
    instant; one that moves only inside ``call`` (like the OpenResty breaker port) shows nothing.
    """

    times: tuple[float, ...]
    outcomes: tuple[str, ...]
    latencies: tuple[float, ...]
    states: tuple[str, ...]
    bands: tuple[tuple[float, float, str], ...]
    transitions: tuple[tuple[float, str, str], ...]
    down: tuple[bool, ...]
    downstream_latencies: tuple[float, ...]

    def count(self, outcome: str) -> int:
        return self.outcomes.count(outcome)

    @property
    def successes(self) -> int:
        return self.count("success")

    @property
    def failures(self) -> int:
        return self.count("failure")

    @property
    def rejections(self) -> int:
        return self.count("rejected")

    @property
    def opened(self) -> int:
        """How many times the circuit opened (from closed or from half-open)."""
        return sum(1 for _, _, to in self.transitions if to == "open")

    @property
    def worker_seconds(self) -> float:
        """Seconds of caller time spent waiting, summed over every call."""
        return sum(self.latencies)

    @property
    def worker_seconds_unprotected(self) -> float:
        """The same traffic with no breaker: every call waits for the downstream."""
        return sum(self.downstream_latencies)

    def state_at(self, t: float) -> str:
        """The band's state at time ``t``."""
        for start, end, state in self.bands:
            if start <= t < end:
                return state
        return self.bands[-1][2]


def _state_of(breaker) -> str:
    state = breaker.state
    text = str(getattr(state, "value", state)).strip().lower().replace("-", "_").replace(" ", "_")
    if text == "halfopen":
        text = "half_open"
    if text not in STATES:
        raise ValueError(f".state must be one of {STATES}, got {state!r}")
    return text


def simulate_breaker(
    impl: Callable[..., object] | None = None,
    *,
    schedule: str | Sequence[tuple[float, float]] = "outage 20-35 s",
    duration: float = 60.0,
    rate: float = 5.0,
    seed: int = 0,
    call_timeout: float = 2.0,
    failure_threshold: int = 5,
    success_threshold: int = 2,
    open_timeout: float = 10.0,
    half_open_max_calls: int = 1,
) -> BreakerRun:
    """Send ``rate`` calls per second for ``duration`` s through a fresh ``impl`` on a ManualClock.

    ``impl`` (default :class:`~highload.resilience.CircuitBreaker`) is built with the exercise
    contract: ``impl(failure_threshold=..., success_threshold=..., open_timeout=...,
    half_open_max_calls=..., clock=...)``, then driven with ``.call(fn)`` and ``.state``. A call
    it refuses must raise an exception *named* ``CircuitOpenError`` (from any module).

    Whether the downstream fails at call ``i`` is drawn from ``random.Random(seed)`` before the
    call, for every call, so the same seed gives the same downstream whatever the breaker does.
    The clock does not move during a call: latency is recorded, not waited.
    """
    impl = CircuitBreaker if impl is None else impl
    steps = parse_schedule(schedule)
    duration, rate = _positive("duration", duration), _positive("rate", rate)
    call_timeout = _positive("call_timeout", call_timeout)
    n = math.ceil(duration * rate - 1e-9)
    rng = random.Random(seed)
    clock = ManualClock(0.0)
    breaker = impl(failure_threshold=failure_threshold, success_threshold=success_threshold,
                   open_timeout=open_timeout, half_open_max_calls=half_open_max_calls, clock=clock)

    times, outcomes, latencies, states, downs, waits = [], [], [], [], [], []
    changes: list[tuple[float, str]] = []  # every (time, state) the breaker reported, when it changed

    def seen(t: float, state: str) -> None:
        if not changes or changes[-1][1] != state:
            changes.append((t, state))

    for i in range(n):
        t = i / rate  # i / rate, not a running sum: exact spacing however long the run
        down = rng.random() < failure_rate_at(steps, t)
        healthy = rng.uniform(*HEALTHY_LATENCY)
        clock.set(t)
        try:
            seen(t, _state_of(breaker))
        except Exception as exc:
            exc.add_note(f"at t={t:g} s, reading .state")
            raise
        called = []

        def downstream(down=down, t=t, called=called):
            called.append(True)
            if down:
                raise DownstreamError(f"downstream timed out at t={t:g} s")
            return "ok"

        try:
            breaker.call(downstream)
            outcome = "failure" if down else "success"
            if not called:
                raise RuntimeError("call(fn) returned without calling fn: refuse a call by raising "
                                   "CircuitOpenError")
        except DownstreamError:
            outcome = "failure"
        except Exception as exc:
            if type(exc).__name__ != "CircuitOpenError":
                exc.add_note(f"at t={t:g} s, in .call()")
                raise
            outcome = "rejected"
        latency = {"success": healthy, "failure": call_timeout, "rejected": REJECT_LATENCY}[outcome]
        state = _state_of(breaker)
        seen(t, state)
        times.append(t)
        outcomes.append(outcome)
        latencies.append(latency)
        states.append(state)
        downs.append(down)
        waits.append(call_timeout if down else healthy)

    transitions = tuple((t, a, b) for (_, a), (t, b) in zip(changes, changes[1:], strict=False))
    merged: list[tuple[float, str]] = []
    for t, state in changes:  # a state that lasted no time at all gets no band
        if merged and merged[-1][0] == t:
            merged.pop()
        if not merged or merged[-1][1] != state:
            merged.append((t, state))
    ends = [t for t, _ in merged[1:]] + [duration]
    bands = tuple((start, end, state) for (start, state), end in zip(merged, ends, strict=True))
    return BreakerRun(tuple(times), tuple(outcomes), tuple(latencies), tuple(states), bands,
                      transitions, tuple(downs), tuple(waits))


# -- retry storms ------------------------------------------------------------------------------


#: Retry strategies :func:`retry_storm` compares, as ``backoff_delays`` jitter names.
STRATEGIES = {"no jitter": "none", "full jitter": "full", "decorrelated jitter": "decorrelated"}


@dataclass(frozen=True)
class StormRun:
    """One strategy's storm: requests per bucket, and what became of each client.

    ``load[b]`` counts requests that arrived in ``[b * bucket, (b + 1) * bucket)``;
    ``served[b]`` how many of them the server answered. Every client ends ``succeeded``,
    ``gave_up`` (out of attempts) or ``pending`` (its next retry falls after ``duration``).
    """

    strategy: str
    bucket: float
    load: tuple[int, ...]
    served: tuple[int, ...]
    succeeded: int
    gave_up: int
    pending: int
    last_success: float | None
    failure_until: float

    @property
    def requests(self) -> int:
        return sum(self.load)

    @property
    def peak(self) -> int:
        return max(self.load, default=0)

    @property
    def peak_after_recovery(self) -> int:
        """The busiest bucket once the server is back: what the recovering server must absorb."""
        first = math.floor(self.failure_until / self.bucket + 1e-9)
        return max(self.load[first:], default=0)

    @property
    def clients(self) -> int:
        return self.succeeded + self.gave_up + self.pending


def retry_storm(
    *,
    clients: int = 100,
    failure_until: float = 10.0,
    capacity: int = 20,
    duration: float = 40.0,
    base: float = 0.5,
    factor: float = 2.0,
    max_delay: float = 8.0,
    attempts: int = 10,
    spread: float = 0.5,
    bucket: float = 0.5,
    strategies: Sequence[str] = tuple(STRATEGIES),
    seed: int = 0,
) -> dict[str, StormRun]:
    """``clients`` each send one request in ``[0, spread)``; the server fails everything until
    ``failure_until``, then serves at most ``capacity`` requests per ``bucket`` seconds and fails
    the rest (overload). Every failed request is retried after the client's next
    :func:`~highload.resilience.backoff_delays` delay, up to ``attempts`` requests per client.

    Returns one :class:`StormRun` per strategy name ("no jitter", "full jitter",
    "decorrelated jitter", "equal jitter"). Every strategy sees the same start times; the
    delays come from ``random.Random(seed)``, so the same seed gives the same storm.
    """
    clients = _count("clients", clients)
    capacity = _count("capacity", capacity, minimum=0)
    attempts = _count("attempts", attempts)
    duration, bucket = _positive("duration", duration), _positive("bucket", bucket)
    failure_until = float(failure_until)
    if not 0 <= failure_until < math.inf:
        raise ValueError(f"failure_until must be finite seconds >= 0, got {failure_until!r}")
    if isinstance(spread, bool) or not isinstance(spread, numbers.Real) or spread < 0:
        raise ValueError(f"spread must be seconds >= 0, got {spread!r}")
    known = {**STRATEGIES, "equal jitter": "equal"}
    unknown = [s for s in strategies if s not in known]
    if unknown or not strategies:
        raise ValueError(f"strategies must be names from {sorted(known)}, got {list(strategies)!r}")
    starter = random.Random(f"{seed}:starts")
    starts = sorted(starter.uniform(0, spread) for _ in range(clients))
    n_buckets = math.ceil(duration / bucket - 1e-9)
    out = {}
    for name in strategies:
        rng = random.Random(seed)
        schedules = [backoff_delays(attempts - 1, base, factor, max_delay, known[name], rng)
                     for _ in range(clients)]
        load, served = [0] * n_buckets, [0] * n_buckets
        succeeded = gave_up = pending = 0
        last_success = None
        # Requests are served in order of arrival: a heap holds each client's next request.
        heap = [(t, c, 0) for c, t in enumerate(starts)]
        heapq.heapify(heap)
        while heap:
            t, c, attempt = heapq.heappop(heap)
            if t >= duration:
                pending += 1
                continue
            b = min(math.floor(t / bucket), n_buckets - 1)
            load[b] += 1
            if t >= failure_until and served[b] < capacity:
                served[b] += 1
                succeeded += 1
                last_success = t if last_success is None else max(last_success, t)
                continue
            if attempt + 1 >= attempts:
                gave_up += 1
                continue
            heapq.heappush(heap, (t + schedules[c][attempt], c, attempt + 1))
        out[name] = StormRun(name, bucket, tuple(load), tuple(served), succeeded, gave_up, pending,
                             last_success, failure_until)
    return out
