"""The frozen configuration of a circuit breaker (resilience4j style), validated on construction."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from highload import _validate

__all__ = ["BreakerConfig", "WINDOWS"]

#: consecutive: open after N failures in a row (the classic breaker's semantics, the default).
#: count: open when the failure (or slow-call) rate over the last N calls crosses a threshold.
#: time: the same over the calls of the last N seconds.
WINDOWS = ("consecutive", "count", "time")


@dataclass(frozen=True, slots=True)
class BreakerConfig:
    failure_threshold: int = 5
    success_threshold: int = 2
    open_timeout: float = 30.0
    half_open_max_calls: int = 1
    window: str = "consecutive"
    window_size: float = 100
    minimum_calls: int = 10
    failure_rate_threshold: float = 0.5
    slow_call_duration: float = math.inf
    slow_call_rate_threshold: float = 1.0
    exclude: tuple[type[BaseException], ...] = ()
    is_failure: Callable[[BaseException], bool] | None = None
    record_latency: bool = False
    latency_samples: int = 1024

    def __post_init__(self) -> None:
        for name in ("failure_threshold", "success_threshold", "half_open_max_calls", "minimum_calls"):
            _validate.integer(name, getattr(self, name), minimum=1)
        _validate.number("open_timeout", self.open_timeout, minimum=0, inclusive=True)
        _validate.choice("window", self.window, WINDOWS)
        _validate.number("window_size", self.window_size, minimum=0, inclusive=False)
        if self.window == "count":
            _validate.integer("window_size", self.window_size, minimum=1)
        _validate.rate("failure_rate_threshold", self.failure_rate_threshold)
        _validate.number("slow_call_duration", self.slow_call_duration, minimum=0, inclusive=False)
        _validate.rate("slow_call_rate_threshold", self.slow_call_rate_threshold)
        _validate.integer("latency_samples", self.latency_samples, minimum=1)
        if not isinstance(self.exclude, tuple) or not all(
            isinstance(t, type) and issubclass(t, BaseException) for t in self.exclude
        ):
            raise TypeError(f"exclude must be a tuple of exception types, got {self.exclude!r}")
        if self.is_failure is not None and not callable(self.is_failure):
            raise TypeError(f"is_failure must be a callable taking the exception, got {self.is_failure!r}")

    @classmethod
    def from_dict(cls, values: dict) -> BreakerConfig:
        """Build from plain data (e.g. a YAML/JSON file); ``timeout`` is accepted for ``open_timeout``."""
        values = dict(values)
        if "timeout" in values:  # OpenResty breaker configs call it timeout
            values["open_timeout"] = values.pop("timeout")
        unknown = set(values) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown breaker settings {sorted(unknown)}; known: {sorted(cls.__dataclass_fields__)}")
        return cls(**values)

    def counts_as_failure(self, exc: BaseException) -> bool:
        """Timeouts and connection errors are failures; excluded types (say, a 4xx) are not."""
        if self.exclude and isinstance(exc, self.exclude):
            return False
        if self.is_failure is not None:
            return bool(self.is_failure(exc))
        return True
