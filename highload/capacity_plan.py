"""Lesson 00's capacity plan: average and peak load, and the servers a sizing function asks for,
at one traffic level and across a whole range of traffic.

The numbers come from ``required_servers`` (:func:`highload.capacity.required_servers`, or a
learner's function with its contract, ``impl=``). No extra is needed;
``highload.widgets.CapacityCalculator`` draws the plan::

    from highload.capacity_plan import plan_capacity
    plan_capacity(2_000_000_000, peak_factor=5, capacity_per_server=10_000, headroom=0.3).servers
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from highload import _simulate, _validate
from highload.capacity import average_rps, peak_rps, required_servers

__all__ = ["TRAFFIC_RANGE", "CapacityPlan", "traffic_grid", "plan_capacity"]

#: What ``impl=`` must be, for the error when it is not.
CONTRACT = "a function like required_servers"
#: Requests per day the traffic axis and slider span by default: a million to 100 billion.
TRAFFIC_RANGE = (1e6, 1e11)
#: Points per decade on the traffic axis.
POINTS_PER_DECADE = 10


def _check_headroom(headroom) -> float:
    _validate.number("headroom", headroom, minimum=0, inclusive=True)
    if not headroom < 1:
        raise ValueError(f"headroom must be in [0, 1): the share of each server kept free, got {headroom!r}")
    return float(headroom)


def _servers(impl: Callable[..., object], *args: float) -> int:
    """``impl(*args)``, checked to be a whole number of servers."""
    got = impl(*args)
    if isinstance(got, bool) or not isinstance(got, numbers.Integral):
        raise TypeError(f"must return an int number of servers, got {got!r} for {args}")
    return int(got)


def traffic_grid(low: float = TRAFFIC_RANGE[0], high: float = TRAFFIC_RANGE[1],
                 *, extra: Sequence[float] = ()) -> tuple[float, ...]:
    """Requests per day, evenly spaced on a log axis from ``low`` to ``high``, plus ``extra``, sorted.

    >>> len(traffic_grid(1e6, 1e11)), traffic_grid(1e6, 1e11)[0], traffic_grid(1e6, 1e11)[-1]
    (51, 1000000.0, 100000000000.0)
    """
    low, high = _validate.finite_positive("low", low), _validate.finite_positive("high", high)
    if not low < high:
        raise ValueError(f"high must be > low, got low={low!r}, high={high!r}")
    start, stop = math.log10(low), math.log10(high)
    n = max(1, round((stop - start) * POINTS_PER_DECADE))
    points = {10 ** (start + (stop - start) * i / n) for i in range(n + 1)}
    points.update(float(x) for x in extra)
    return tuple(sorted(points))


@dataclass(frozen=True)
class CapacityPlan:
    """Everything :class:`CapacityCalculator` shows for one setting of its sliders.

    ``servers`` is the impl's answer for the peak with headroom; ``servers_for_average`` is what
    sizing for the *average* (peak factor 1, no headroom) would buy. ``curve`` and
    ``average_curve`` are the same two answers at every point of ``traffic``.
    """

    requests_per_day: float
    peak_factor: float
    capacity_per_server: float
    headroom: float
    average_rps: float
    peak_rps: float
    servers: int
    servers_for_average: int
    traffic: tuple[float, ...]
    curve: tuple[int, ...]
    average_curve: tuple[int, ...]

    @property
    def usable_rps(self) -> float:
        """What the fleet may serve while every server keeps ``headroom`` free."""
        return self.servers * self.capacity_per_server * (1 - self.headroom)

    @property
    def fleet_rps(self) -> float:
        """What the fleet serves with every server at 100%."""
        return self.servers * self.capacity_per_server

    @property
    def peak_utilisation(self) -> float:
        """How busy each server is at the peak (``peak_rps / fleet_rps``)."""
        return self.peak_rps / self.fleet_rps if self.servers > 0 else math.inf


def plan_capacity(
    requests_per_day: float,
    peak_factor: float,
    capacity_per_server: float,
    headroom: float = 0.0,
    *,
    impl: Callable[..., object] | None = None,
    traffic: Sequence[float] | None = None,
) -> CapacityPlan:
    """Average and peak req/s, and ``impl``'s server counts here and across ``traffic``.

    ``impl`` has the exercise contract ``required_servers(requests_per_day, peak_factor,
    capacity_per_server, headroom=0.0) -> int`` (default :func:`highload.capacity.required_servers`);
    it is called positionally. ``traffic`` defaults to :func:`traffic_grid` around ``requests_per_day``.

    >>> p = plan_capacity(2_000_000_000, 5, 10_000, 0.3)
    >>> round(p.average_rps), round(p.peak_rps), p.servers, p.servers_for_average
    (23148, 115741, 17, 3)
    """
    impl = required_servers if impl is None else impl
    _simulate.check_impl(impl, CONTRACT)
    requests_per_day = _validate.finite_positive("requests_per_day", requests_per_day)
    peak_factor = _validate.finite_positive("peak_factor", peak_factor)
    capacity_per_server = _validate.finite_positive("capacity_per_server", capacity_per_server)
    headroom = _check_headroom(headroom)
    if traffic is None:
        traffic = traffic_grid(min(TRAFFIC_RANGE[0], requests_per_day), max(TRAFFIC_RANGE[1], requests_per_day),
                               extra=[requests_per_day])
    else:
        traffic = tuple(sorted(_validate.finite_positive("traffic", t) for t in traffic))
    return CapacityPlan(
        requests_per_day=requests_per_day,
        peak_factor=peak_factor,
        capacity_per_server=capacity_per_server,
        headroom=headroom,
        average_rps=average_rps(requests_per_day),
        peak_rps=peak_rps(requests_per_day, peak_factor),
        servers=_servers(impl, requests_per_day, peak_factor, capacity_per_server, headroom),
        servers_for_average=_servers(impl, requests_per_day, 1.0, capacity_per_server, 0.0),
        traffic=tuple(traffic),
        curve=tuple(_servers(impl, t, peak_factor, capacity_per_server, headroom) for t in traffic),
        average_curve=tuple(_servers(impl, t, 1.0, capacity_per_server, 0.0) for t in traffic),
    )
