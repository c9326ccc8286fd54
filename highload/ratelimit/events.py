"""What a keyed limiter reports to its listeners (:meth:`RateLimiter.subscribe`).

One event so far, ``state_reset``: under an explicit policy ``name=``, a key's stored state had
been written by another algorithm or other parameters (another definition sharing the name, or
a deploy that changed the policy). The state was deleted and the check ran on a fresh one;
the event says so, because silently forgetting a client's usage is worth knowing about.

Listeners run synchronously in the thread (or task) that made the check, after the storage
answered; an exception in a listener propagates to that caller. Keep them short.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["LimiterEvent", "STATE_RESET", "emit"]

STATE_RESET = "state_reset"

log = logging.getLogger("highload.ratelimit")


@dataclass(frozen=True, slots=True)
class LimiterEvent:
    """``name`` (e.g. :data:`STATE_RESET`), the client ``key`` and the limiter's ``namespace``."""

    name: str
    key: str
    namespace: str


def emit(listeners: list[Callable[[LimiterEvent], object]], name: str, key: str, namespace: str) -> None:
    log.info("rate limiter %s: %s for key %r (another policy's state under this name)", namespace, name, key)
    event = LimiterEvent(name, key, namespace)
    for listener in tuple(listeners):
        listener(event)
