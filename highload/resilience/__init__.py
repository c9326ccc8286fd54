"""Resilience: circuit breakers, retries with backoff and jitter, retry budgets, bulkheads,
timeouts, fallbacks and failover, with events and metrics.

    breaker = CircuitBreaker(failure_threshold=5, open_timeout=30)
    breaker.call(payment_client.charge, order)          # CircuitOpenError while open

    retry = Retry(stop=stop_after_attempt(3), wait=wait_exponential(0.1, jitter="full"))
    charge = resilient(payment_client.charge, retry=retry, breaker=breaker, fallback=Fallback(default=None))
"""

from .backoff import JITTERS, backoff_delays
from .breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker
from .budget import RetryBudget
from .bulkhead import AsyncBulkhead, Bulkhead
from .compose import resilient
from .config import WINDOWS, BreakerConfig
from .errors import BulkheadFullError, CircuitOpenError
from .events import Event, EventPublisher
from .fallback import CACHE, DEFAULT, LIVE, Failover, Fallback, with_timeout
from .metrics import BreakerMetrics
from .registry import SEED_SERVICES, SERVICE_THRESHOLDS, BreakerRegistry  # noqa: F401
from .retry import (
    Retry,
    RetryState,
    is_transient,
    retry_after_of,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
    wait_fixed,
    wait_random,
)
from .shared import RedisBreakerState

__all__ = [
    "CircuitBreaker", "CircuitOpenError", "BreakerConfig", "BreakerMetrics", "BreakerRegistry",
    "SERVICE_THRESHOLDS", "RedisBreakerState", "CLOSED", "OPEN", "HALF_OPEN", "WINDOWS",
    "backoff_delays", "JITTERS", "Retry", "RetryState", "RetryBudget",
    "stop_after_attempt", "stop_after_delay", "wait_fixed", "wait_random", "wait_exponential",
    "is_transient", "retry_if_exception_type", "retry_after_of",
    "Bulkhead", "AsyncBulkhead", "BulkheadFullError", "Fallback", "Failover", "with_timeout",
    "LIVE", "CACHE", "DEFAULT", "resilient", "Event", "EventPublisher",
]
# Imported but not in __all__: SEED_SERVICES, the old name of SERVICE_THRESHOLDS, a plain alias
# (no warning) until the next release.
