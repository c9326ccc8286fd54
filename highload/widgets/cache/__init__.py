"""Cache visualizers for lesson 03: what a read-through cache saves, and what a stampede costs.

* :class:`HitRatioLab` (``hit_ratio_lab.py``) draws
  :func:`highload.cache.simulation.simulate_hit_ratio`: the hit ratio, the queries that reach
  the database and the stale reads of a seeded workload through a real
  :class:`~highload.cache.CacheAside`, or the learner's own (``impl=``).
* :class:`StampedeVisualizer` (``stampede_visualizer.py``) draws :func:`highload.cache.simulation.stampede`:
  every database query and every read that had to wait, with no protection, a single-flight
  lock or XFetch.

The engines live in :mod:`highload.cache.simulation` and need no extra; they are re-exported
here so ``from highload.widgets.cache import simulate_hit_ratio`` keeps working::

    from highload.widgets import HitRatioLab, StampedeVisualizer
    HitRatioLab(zipf_s=1.0, cache_size=100, ttl=60, impl=MyCacheAside)
    StampedeVisualizer(readers=50, protection=("none", "lock", "xfetch"))
"""

from highload.cache.simulation import (
    DEFAULT_PROTECTIONS,
    MAX_KEYS,
    MAX_READERS,
    PROTECTIONS,
    THINK,
    HitRatioResult,
    Read,
    Row,
    StampedeResult,
    simulate_hit_ratio,
    simulate_stampede,
    stampede,
    zipf_weights,
)

from .._style import BLUE, GREEN, GREY, ORANGE, PURPLE, RED
from .hit_ratio_lab import SIZE_STOPS, TTL_STOPS, HitRatioLab
from .stampede_visualizer import COLOURS, LINES, StampedeVisualizer

__all__ = [
    "PROTECTIONS",
    "DEFAULT_PROTECTIONS",
    "Row",
    "HitRatioResult",
    "simulate_hit_ratio",
    "zipf_weights",
    "StampedeResult",
    "simulate_stampede",
    "stampede",
    "HitRatioLab",
    "StampedeVisualizer",
    # constants this module held before the split, kept importable from here
    "Read",
    "MAX_KEYS",
    "MAX_READERS",
    "THINK",
    "SIZE_STOPS",
    "TTL_STOPS",
    "COLOURS",
    "LINES",
    "RED",
    "ORANGE",
    "BLUE",
    "GREEN",
    "PURPLE",
    "GREY",
]
