"""One router for every policy: it keeps each session's token and last write, runs the policy,
reads from the chosen node, and counts what happened.

A session's *token* is the highest log position it has written or seen, whatever the policy:
the router uses it to tell a stale read (served by a replica behind the token) from a fresh one,
so the policies can be compared on the same run. The token is the client's to carry (a cookie
or an ``X-Session-LSN`` header), so :meth:`ReadRouter.set_token` takes it back in.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from typing import Any

from highload import _validate
from highload.resilience.events import Event, EventPublisher

from .policies import Context, Policy, SessionToken, rotations

__all__ = ["ReadRouter", "SessionState", "COUNTERS"]

COUNTERS = ("primary_reads", "replica_reads", "primary_fallbacks", "waits", "stale_reads", "writes")


@dataclass
class SessionState:
    token: int = 0
    last_write_at: float | None = None


class _Tally:
    """One thread's counts: reads per node name, on the primary and on replicas (a node
    promoted mid-run appears in both), and the rarer events by counter name."""

    __slots__ = ("primary", "replica", "counts")

    def __init__(self) -> None:
        self.primary: dict[str, int] = {}
        self.replica: dict[str, int] = {}
        self.counts = {"primary_fallbacks": 0, "waits": 0, "stale_reads": 0, "writes": 0}

    def add(self, other: _Tally) -> None:
        for mine, theirs in ((self.primary, other.primary), (self.replica, other.replica),
                             (self.counts, other.counts)):
            for name, count in list(theirs.items()):
                mine[name] = mine.get(name, 0) + count


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
        self.clock = _validate.clock(clock if clock is not None else default_clock, time.monotonic)
        self._sleep = getattr(self.clock, "sleep", time.sleep)
        self._context = Context(self.clock, self._sleep, lambda: self.primary.lsn)
        self.name = name
        self.detect_stale = detect_stale
        self.events = EventPublisher()
        self._sessions: dict[Hashable, SessionState] = {}
        self._lock = threading.Lock()
        # (number of replicas, their round-robin orders in a cycle); next() on a cycle is atomic,
        # so the round robin needs no lock
        self._rotation: tuple[int, Iterator] = (-1, iter(()))
        # the replica list the context's remembered positions belong to (see Context.positions)
        self._positions_of: object = None
        self._local = threading.local()
        self._tallies: list[tuple[threading.Thread, _Tally]] = []   # one per live thread
        self._retired = _Tally()                                    # threads that have ended

    @property
    def policy(self) -> Policy:
        return self._policy

    @policy.setter
    def policy(self, policy: Policy) -> None:
        if not isinstance(policy, Policy):
            raise TypeError(f"policy must be a Policy (e.g. SessionToken()), got {policy!r}")
        self._policy = policy
        # Learning what was read gives monotonic reads; a policy may keep read-your-writes only.
        self._learn = getattr(policy, "monotonic", True)

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

    def forget(self, session: Hashable) -> None:
        """Drop what the router keeps for ``session`` (its token). A server whose clients carry
        their own token (``highload.replication.fastapi``) forgets each request's session at its end."""
        with self._lock:
            self._sessions.pop(session, None)

    # -- operations ------------------------------------------------------------------------------
    def write(self, session: Hashable, key, value) -> int:
        state = self._session(session)
        lsn = self.primary.write(key, value)
        with self._lock:
            state.token = max(state.token, lsn)
            state.last_write_at = self.clock()
        (getattr(self._local, "tally", None) or self._new_tally()).counts["writes"] += 1
        self._publish("write", {"session": session, "key": key, "lsn": lsn})
        return lsn

    def read(self, session: Hashable, key) -> Any:
        return self.read_detail(session, key)[0]

    def read_detail(self, session: Hashable, key) -> tuple[Any, str, bool]:
        """``(value, target name, stale)`` for one read."""
        # Every read runs this, so it stays lean: locals, no lock unless the token moves,
        # counts in this thread's own tally, nothing allocated when nobody subscribes.
        state = self._sessions.get(session) or self._session(session)
        nodes = self._set
        replicas = self._replicas if nodes is None else nodes.replicas   # follows a failover
        n, orders = self._rotation
        if n != len(replicas):
            n, orders = self._rotation = len(replicas), itertools.cycle(rotations(len(replicas)) or ((),))
        if replicas is not self._positions_of:     # a failover: positions start over
            self._forget_positions(replicas)
        token = state.token
        index, applied, waited, fallback = self._policy.choose(
            self._context, replicas, next(orders), token, state.last_write_at)
        tally = getattr(self._local, "tally", None) or self._new_tally()
        stale = False
        if index is None:
            primary = self._primary if nodes is None else nodes.primary
            value = primary.read(key)
            seen, target, hits = primary.lsn, primary.name, tally.primary
            if fallback:
                tally.counts["primary_fallbacks"] += 1
        else:
            replica = replicas[index]
            if applied is None and self.detect_stale:
                applied = replica.applied_lsn
            value = replica.read(key)
            target, hits = replica.name, tally.replica
            if applied is None:
                seen = 0
            else:
                seen = applied
                if applied < token:
                    stale = True
                    tally.counts["stale_reads"] += 1
        hits[target] = hits.get(target, 0) + 1
        if waited > 0:
            tally.counts["waits"] += 1
        if seen > state.token and self._learn:
            self._raise_token(state, seen)
        events = self.events
        if events.all or events.kinds:
            self._publish_read(session, key, target, token, stale, waited, fallback)
        return value, target, stale

    def _forget_positions(self, replicas) -> None:
        with self._lock:
            self._context.positions = {}
            self._positions_of = replicas

    def _raise_token(self, state: SessionState, seen: int) -> None:
        with self._lock:             # two reads of one session in two threads: keep the higher
            if seen > state.token:
                state.token = seen

    def _new_tally(self) -> _Tally:
        """This thread's counts: only it writes them, so counting needs no lock.

        Ended threads' tallies are folded into one here, so a server that starts a thread per
        request keeps one tally per live thread, not one per thread it ever ran.
        """
        tally = self._local.tally = _Tally()
        with self._lock:
            live = []
            for owner, other in self._tallies:
                if owner.is_alive():
                    live.append((owner, other))
                else:
                    self._retired.add(other)
            live.append((threading.current_thread(), tally))
            self._tallies = live
        return tally

    def _total(self) -> _Tally:
        """Every thread's counts added up (under the lock, so no tally is folded mid-sum)."""
        total = _Tally()
        with self._lock:
            total.add(self._retired)
            for _, tally in self._tallies:
                total.add(tally)
        return total

    def _publish_read(self, session, key, target: str, token: int, stale: bool, waited: float,
                      fallback: bool) -> None:
        detail = {"session": session, "key": key, "target": target, "token": token, "stale": stale,
                  "waited": waited}
        self._publish("read", detail)
        if fallback:
            self._publish("fallback", detail)
        if stale:
            self._publish("stale", detail)

    # -- observability ---------------------------------------------------------------------------
    @property
    def stats(self) -> dict[str, int]:
        """Counters: primary/replica reads, fallbacks to the primary, reads that waited, stale reads, writes."""
        tally = self._total()
        return {"primary_reads": sum(tally.primary.values()), "replica_reads": sum(tally.replica.values()),
                **tally.counts}

    @property
    def reads_by_target(self) -> dict[str, int]:
        """Reads served per node name (the primary's and each replica's)."""
        tally = self._total()
        total = dict(tally.primary)
        for name, count in tally.replica.items():
            total[name] = total.get(name, 0) + count
        return total

    @property
    def replica_share(self) -> float:
        stats = self.stats
        reads = stats["primary_reads"] + stats["replica_reads"]
        return stats["replica_reads"] / reads if reads else 0.0

    def subscribe(self, listener, *kinds: str):
        return self.events.subscribe(listener, *kinds)

    def _publish(self, kind: str, detail: dict) -> None:
        if self.events.wants(kind):
            self.events.publish(Event(self.name, kind, self.clock(), None, detail))

    def __repr__(self) -> str:
        return f"ReadRouter(policy={self.policy!r}, replicas={len(self.replicas)})"
