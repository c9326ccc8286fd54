"""Back-of-envelope capacity math: requests per day -> requests per second -> servers.

The URL shortener of lesson 00 takes 2 billion clicks a day:

>>> round(average_rps(2_000_000_000), 1)
23148.1
>>> round(peak_rps(2_000_000_000, peak_factor=5), 1)
115740.7
>>> required_servers(2_000_000_000, peak_factor=5, capacity_per_server=10_000, headroom=0.3)
17

``required_servers`` computes with exact fractions (floats are read as the decimal they print
as), so an exact multiple never rounds up by one server because ``0.2`` is not exactly 1/5 in
binary.
"""

from __future__ import annotations

import math
from fractions import Fraction

from highload import _validate

__all__ = [
    "SECONDS_PER_DAY",
    "average_rps",
    "peak_rps",
    "required_servers",
    "littles_law",
    "littles_law_arrival_rate",
    "littles_law_time",
]

SECONDS_PER_DAY = 86_400


def _exact(value: float | int) -> Fraction:
    """The decimal a number prints as (``0.2`` -> 1/5), not its binary approximation."""
    return Fraction(value) if isinstance(value, int) else Fraction(repr(float(value)))


def _positive(name: str, value) -> float:
    return _validate.number(name, value, minimum=0, inclusive=False)


def average_rps(requests_per_day: float) -> float:
    """Average requests per second: ``requests_per_day / 86_400``.

    >>> round(average_rps(2_000_000_000))
    23148
    """
    _validate.number("requests_per_day", requests_per_day, minimum=0, inclusive=True)
    return requests_per_day / SECONDS_PER_DAY


def peak_rps(requests_per_day: float, peak_factor: float) -> float:
    """Peak requests per second: the average times ``peak_factor`` (e.g. 5 for a 5x peak).

    >>> round(peak_rps(2_000_000_000, 5))
    115741
    """
    _validate.number("requests_per_day", requests_per_day, minimum=0, inclusive=True)
    _positive("peak_factor", peak_factor)
    return float(_exact(requests_per_day) * _exact(peak_factor) / SECONDS_PER_DAY)


def required_servers(
    requests_per_day: float,
    peak_factor: float,
    capacity_per_server: float,
    headroom: float = 0.0,
) -> int:
    """Servers needed to serve the peak while keeping ``headroom`` of each server free.

    ``ceil(average_rps * peak_factor / (capacity_per_server * (1 - headroom)))``, computed with
    exact fractions. ``headroom=0.3`` means each server runs at most at 70% of its capacity.

    >>> required_servers(2_000_000_000, 5, capacity_per_server=10_000)
    12
    >>> required_servers(86_400_000, 1, 1000)  # exactly 1000 req/s on a 1000 req/s server
    1

    Raises ``ValueError`` when ``requests_per_day``, ``peak_factor`` or ``capacity_per_server``
    is not > 0, or ``headroom`` is outside [0, 1); ``TypeError`` for a non-number (or a bool).
    """
    _positive("requests_per_day", requests_per_day)
    _positive("peak_factor", peak_factor)
    _positive("capacity_per_server", capacity_per_server)
    _validate.number("headroom", headroom, minimum=0, inclusive=True)
    if not headroom < 1:
        raise ValueError(f"headroom must be in [0, 1), got {headroom!r}")
    peak = _exact(requests_per_day) * _exact(peak_factor) / SECONDS_PER_DAY
    usable = _exact(capacity_per_server) * (1 - _exact(headroom))
    return math.ceil(peak / usable)


def littles_law(arrival_rate: float, time_in_system: float) -> float:
    """Little's law ``L = lambda * W``: how many requests are in the system at once.

    23,148 req/s that each spend 0.05 s in the system keep about 1,157 requests in flight:

    >>> round(littles_law(23_148, 0.05))
    1157
    """
    _validate.number("arrival_rate", arrival_rate, minimum=0, inclusive=True)
    _validate.number("time_in_system", time_in_system, minimum=0, inclusive=True)
    return float(_exact(arrival_rate) * _exact(time_in_system))


def littles_law_arrival_rate(in_system: float, time_in_system: float) -> float:
    """Little's law solved for the throughput: ``lambda = L / W``.

    >>> littles_law_arrival_rate(in_system=200, time_in_system=0.1)  # 200 workers, 100 ms each
    2000.0
    """
    _validate.number("in_system", in_system, minimum=0, inclusive=True)
    _positive("time_in_system", time_in_system)
    return float(_exact(in_system) / _exact(time_in_system))


def littles_law_time(in_system: float, arrival_rate: float) -> float:
    """Little's law solved for the time in the system: ``W = L / lambda``.

    >>> littles_law_time(in_system=1000, arrival_rate=20_000)
    0.05
    """
    _validate.number("in_system", in_system, minimum=0, inclusive=True)
    _positive("arrival_rate", arrival_rate)
    return float(_exact(in_system) / _exact(arrival_rate))
