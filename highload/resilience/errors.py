"""The typed errors resilience primitives raise instead of calling a struggling dependency."""

from __future__ import annotations

__all__ = ["CircuitOpenError", "BulkheadFullError"]


class CircuitOpenError(Exception):
    """The circuit refused the call.

    ``retry_after`` is the time left until a trial is admitted: the rest of ``open_timeout``
    while open, and 0 while half-open with every trial slot busy, because a slot frees the
    moment a trial finishes, which nothing can foresee (a :class:`~highload.resilience.Retry`
    waits its own backoff when that is longer)."""

    def __init__(self, name: str = "default", retry_after: float = 0.0, state: str = "open") -> None:
        # Rejections are the hot path of an open circuit: the message is built only when read.
        super().__init__(name)
        self.name, self.retry_after, self.state = name, retry_after if retry_after > 0 else 0.0, state

    def __str__(self) -> str:
        return f"circuit {self.name!r} is {self.state}; retry after {self.retry_after:g} s"


class BulkheadFullError(Exception):
    """Every slot of the bulkhead was busy for longer than its ``max_wait``."""

    def __init__(self, name: str, max_concurrent: int) -> None:
        self.name, self.max_concurrent = name, max_concurrent
        super().__init__(f"bulkhead {name!r} is full ({max_concurrent} calls in flight)")

