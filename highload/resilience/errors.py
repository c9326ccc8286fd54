"""The typed errors resilience primitives raise instead of calling a struggling dependency."""

from __future__ import annotations

__all__ = ["CircuitOpenError", "BulkheadFullError"]


class CircuitOpenError(Exception):
    """The circuit refused the call. ``retry_after``: seconds until it may admit calls again."""

    def __init__(self, name: str = "default", retry_after: float = 0.0, state: str = "open") -> None:
        self.name, self.retry_after, self.state = name, max(0.0, retry_after), state
        super().__init__(f"circuit {name!r} is {state}; retry after {self.retry_after:g} s")


class BulkheadFullError(Exception):
    """Every slot of the bulkhead was busy for longer than its ``max_wait``."""

    def __init__(self, name: str, max_concurrent: int) -> None:
        self.name, self.max_concurrent = name, max_concurrent
        super().__init__(f"bulkhead {name!r} is full ({max_concurrent} calls in flight)")

