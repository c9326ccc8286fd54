"""Interactive visualizers for the course (needs the ``viz`` extra: ``pip install "highload[viz]"``).

Every visualizer drives a real ``highload`` class, or any class meeting the exercise
contract (``impl=``), on a ManualClock, so a learner watches their own code behave.

Widgets only draw. What they draw is computed by engines in the core, which need no extra:
``highload.cache.simulation``, ``highload.ratelimit.simulation``, ``highload.balancing.race``,
``highload.capacity_plan``, ``highload.carts.drill``, ``highload.replication.experiments`` and
``highload.resilience.simulation``
(async ones run in virtual time with ``highload.clock.run_in_virtual_time``). Each widget
module re-exports its engine's names, so ``from highload.widgets.cache import
simulate_hit_ratio`` keeps working. Colours come from ``_style``; seed and ``impl=`` checks
from ``highload._simulate``.
"""

from __future__ import annotations

_EXPORTS = {
    "CapacityCalculator": ".capacity",
    "TokenBucketVisualizer": ".ratelimit",
    "BreakerTimeline": ".resilience",
    "RetryStorm": ".resilience",
    "LoadBalancerRace": ".balancing",
    "HitRatioLab": ".cache",
    "StampedeVisualizer": ".cache",
    "CartCrashDrill": ".carts",
    "RingExplorer": ".sharding",
    "LagTimeline": ".replication",
    "Quiz": ".quiz",
    "Question": ".quiz",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'highload.widgets' has no attribute {name!r}")
    try:
        from importlib import import_module

        return getattr(import_module(module, __name__), name)
    except ImportError as exc:
        raise ImportError(f'highload.widgets needs the viz extra: pip install "highload[viz]" ({exc})') from exc
