"""One router for every policy: it keeps each session's token and last write, runs the policy,
reads from the chosen node, and counts what happened.

A session's *token* is the highest log position it has written or seen, whatever the policy:
the router uses it to tell a stale read (served by a replica behind the token) from a fresh one,
so the policies can be compared on the same run. The token is the client's to carry (a cookie
or an ``X-Session-LSN`` header), so :meth:`ReadRouter.set_token` takes it back in.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from highload import _validate
from highload.resilience.events import Event, EventPublisher

from .policies import Context, Policy, SessionToken

__all__ = ["ReadRouter", "SessionState", "COUNTERS"]

COUNTERS = ("primary_reads", "replica_reads", "primary_fallbacks", "waits", "stale_reads", "writes")


@dataclass
class SessionState:
    token: int = 0
    last_write_at: float | None = None


class ReadRouter:
    """``ReadRouter(replica_set, policy=SessionToken())`` or ``ReadRouter(primary, replicas, ...)``.

    ``write(session, key, value)`` goes to the primary; ``read(session, key)`` goes where the
    policy says. ``stats`` counts reads per target and the events below; ``subscribe`` gets
    ``Event(source, kind, time, duration, detail)`` with kind ``"read"``, ``"write"``,
    ``"fallback"`` or ``"stale"``.

    Given a replica set (anything with ``primary`` and ``replicas``), the router follows it
    after a failover; given a primary and a list, it keeps those.
    """

    def __init__(self, primary_or_set, replicas=None, policy: Policy | None = None, *,
                 clock: Callable[[], float] | None = None, name: str = "router",
                 detect_stale: bool = True) -> None:
        if replicas is None and hasattr(primary_or_set, "replicas"):
            self._set, self._primary, self._replicas = primary_or_set, None, None
            default_clock = getattr(primary_or_set, "clock", None)
        else:
            if not isinstance(replicas, (list, tuple)):
                raise TypeError(f"replicas must be a list or tuple, got {type(replicas).__name__}")
            self._set, self._primary, self._replicas = None, primary_or_set, list(replicas)
            default_clock = None
        self.policy = policy if policy is not None else SessionToken()
        if not isinstance(self.policy, Policy):
            raise TypeError(f"policy must be a Policy (e.g. SessionToken()), got {self.policy!r}")
        self.clock = _validate.clock(clock if clock is not None else default_clock, time.monotonic)
        self._sleep = getattr(self.clock, "sleep", time.sleep)
        self.name = name
        self.detect_stale = detect_stale
        self.events = EventPublisher()
        self._sessions: dict[Hashable, SessionState] = {}
        self._lock = threading.Lock()
        self._cursor = 0
        self.reads_by_target: dict[str, int] = {}
        self._counts = dict.fromkeys(COUNTERS, 0)

    # -- nodes -----------------------------------------------------------------------------------
    @property
    def primary(self):
        return self._set.primary if self._set is not None else self._primary

    @property
    def replicas(self) -> list:
        return list(self._set.replicas) if self._set is not None else self._replicas

    # -- sessions --------------------------------------------------------------------------------
    def _session(self, session: Hashable) -> SessionState:
        with self._lock:
            return self._sessions.setdefault(session, SessionState())

    def token(self, session: Hashable) -> int:
        state = self._sessions.get(session)
        return state.token if state else 0

    def set_token(self, session: Hashable, lsn: int) -> None:
        """Take a token back from the client (cookie/header); a token never goes down."""
        state = self._session(session)
        with self._lock:
            state.token = max(state.token, int(lsn))

    # -- operations ------------------------------------------------------------------------------
    def write(self, session: Hashable, key, value) -> int:
        state = self._session(session)
        lsn = self.primary.write(key, value)
        with self._lock:
            state.token = max(state.token, lsn)
            state.last_write_at = self.clock()
            self._counts["writes"] += 1
        self._publish("write", {"session": session, "key": key, "lsn": lsn})
        return lsn

    def read(self, session: Hashable, key) -> Any:
        return self.read_detail(session, key)[0]

    def read_detail(self, session: Hashable, key) -> tuple[Any, str, bool]:
        """``(value, target name, stale)`` for one read."""
        state = self._sessions.get(session) or self._session(session)
        if self._set is not None:
            primary, replicas = self._set.primary, self._set.replicas
        else:
            primary, replicas = self._primary, self._replicas
        with self._lock:
            start = self._cursor % len(replicas) if replicas else 0
            self._cursor += 1
            token, last_write_at = state.token, state.last_write_at
        choice = self.policy.choose(Context(replicas, start, token, last_write_at, self.clock, self._sleep,
                                            lambda: primary.lsn))
        stale = False
        if choice.index is None:
            value = primary.read(key)
            seen, target = primary.lsn, primary.name
        else:
            replica = replicas[choice.index]
            applied = choice.applied
            if applied is None and self.detect_stale:
                applied = replica.applied_lsn
            value = replica.read(key)
            seen, target = applied or 0, replica.name
            stale = applied is not None and applied < token
        # Learning what was read gives monotonic reads; a policy may keep read-your-writes only.
        learn = getattr(self.policy, "monotonic", True)
        counts = self._counts
        with self._lock:
            if learn and seen > state.token:
                state.token = seen
            self.reads_by_target[target] = self.reads_by_target.get(target, 0) + 1
            counts["primary_reads" if choice.index is None else "replica_reads"] += 1
            if choice.fallback:
                counts["primary_fallbacks"] += 1
            if choice.waited > 0:
                counts["waits"] += 1
            if stale:
                counts["stale_reads"] += 1
        events = self.events
        if events.wants("read") or (choice.fallback and events.wants("fallback")) or (stale and events.wants("stale")):
            detail = {"session": session, "key": key, "target": target, "token": token, "stale": stale,
                      "waited": choice.waited}
            self._publish("read", detail)
            if choice.fallback:
                self._publish("fallback", detail)
            if stale:
                self._publish("stale", detail)
        return value, target, stale

    # -- observability ---------------------------------------------------------------------------
    @property
    def stats(self) -> dict[str, int]:
        """Counters: primary/replica reads, fallbacks to the primary, reads that waited, stale reads, writes."""
        return dict(self._counts)

    @property
    def replica_share(self) -> float:
        reads = self._counts["primary_reads"] + self._counts["replica_reads"]
        return self._counts["replica_reads"] / reads if reads else 0.0

    def subscribe(self, listener, *kinds: str):
        return self.events.subscribe(listener, *kinds)

    def _publish(self, kind: str, detail: dict) -> None:
        if self.events.wants(kind):
            self.events.publish(Event(self.name, kind, self.clock(), None, detail))

    def __repr__(self) -> str:
        return f"ReadRouter(policy={self.policy!r}, replicas={len(self.replicas)})"
