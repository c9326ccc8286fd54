"""Named breakers with per-name settings: one breaker per upstream, configured in one place."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping

from .breaker import CircuitBreaker
from .config import BreakerConfig

__all__ = ["BreakerRegistry", "SERVICE_THRESHOLDS"]

#: Per-service breaker thresholds for the shop's payment, inventory, recommendation and order
#: services (from an OpenResty gateway guide): the more critical the service, the fewer failures
#: it tolerates and the more successes it needs before it is trusted again.
SERVICE_THRESHOLDS: dict[str, dict] = {
    "payment": {"failure_threshold": 3, "success_threshold": 5, "open_timeout": 30, "half_open_max_calls": 2},
    "inventory": {"failure_threshold": 10, "success_threshold": 3, "open_timeout": 60, "half_open_max_calls": 5},
    "recommendation": {"failure_threshold": 20, "success_threshold": 2, "open_timeout": 120,
                       "half_open_max_calls": 10},
    "order": {"failure_threshold": 5, "success_threshold": 3, "open_timeout": 45, "half_open_max_calls": 3},
}

#: The old name, a plain alias (no warning) until the next release.
SEED_SERVICES = SERVICE_THRESHOLDS


class BreakerRegistry:
    """Creates each named breaker once, from its own config or the default.

    >>> registry = BreakerRegistry.from_dict(SERVICE_THRESHOLDS)
    >>> registry.get("payment").config.failure_threshold
    3
    """

    def __init__(self, configs: Mapping[str, BreakerConfig] | None = None, *,
                 default: BreakerConfig | None = None, clock: Callable[[], float] = time.monotonic,
                 shared=None) -> None:
        self.configs = dict(configs or {})
        self.default = BreakerConfig() if default is None else default
        self.clock, self.shared = clock, shared
        self._breakers: dict[str, CircuitBreaker] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_dict(cls, settings: Mapping[str, Mapping], **kwargs) -> BreakerRegistry:
        """``{"payment": {"failure_threshold": 3, ...}, ...}`` (``timeout`` is read as ``open_timeout``)."""
        default = settings.get("default")
        configs = {name: BreakerConfig.from_dict(values) for name, values in settings.items() if name != "default"}
        if default is not None:
            kwargs.setdefault("default", BreakerConfig.from_dict(default))
        return cls(configs, **kwargs)

    def get(self, name: str) -> CircuitBreaker:
        breaker = self._breakers.get(name)
        if breaker is None:
            with self._lock:
                breaker = self._breakers.get(name)
                if breaker is None:
                    config = self.configs.get(name, self.default)
                    breaker = self._breakers[name] = CircuitBreaker.from_config(
                        config, name=name, clock=self.clock, shared=self.shared)
        return breaker

    __getitem__ = get

    def __iter__(self) -> Iterator[CircuitBreaker]:
        return iter(list(self._breakers.values()))

    def __len__(self) -> int:
        return len(self._breakers)

    def states(self) -> dict[str, str]:
        """Every breaker's state, like an OpenResty gateway's /internal/circuit-status endpoint."""
        return {breaker.name: breaker.state for breaker in self}
