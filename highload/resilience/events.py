"""Structured events and a tiny publisher: primitives report what they decide, listeners export it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Event", "EventPublisher"]

log = logging.getLogger("highload.resilience")


@dataclass(frozen=True, slots=True)
class Event:
    """One decision: ``kind`` is e.g. "transition", "success", "failure", "rejected", "retry"."""

    source: str
    kind: str
    time: float
    duration: float | None = None
    detail: dict = field(default_factory=dict)


class EventPublisher:
    """Listeners subscribe to all events or to some kinds; a failing listener never breaks a call."""

    def __init__(self) -> None:
        self._listeners: list[tuple[frozenset[str] | None, Callable[[Event], None]]] = []
        self.kinds: frozenset[str] = frozenset()
        self.all = False

    def subscribe(self, listener: Callable[[Event], None], *kinds: str) -> Callable[[], None]:
        """Call ``listener(event)`` for every event (or only ``kinds``); returns an unsubscribe."""
        entry = (frozenset(kinds) or None, listener)
        self._listeners.append(entry)
        self._refresh()

        def unsubscribe() -> None:
            if entry in self._listeners:
                self._listeners.remove(entry)
                self._refresh()

        return unsubscribe

    def _refresh(self) -> None:
        self.all = any(kinds is None for kinds, _ in self._listeners)
        self.kinds = frozenset().union(*(k for k, _ in self._listeners if k is not None))

    def wants(self, kind: str) -> bool:
        return self.all or kind in self.kinds

    def publish(self, event: Event) -> None:
        for kinds, listener in list(self._listeners):
            if kinds is None or event.kind in kinds:
                try:
                    listener(event)
                except Exception:  # a metrics exporter must never take the call down with it
                    log.exception("event listener %r failed", listener)
