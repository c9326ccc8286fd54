"""Lesson 04's experiments on the simulated replica set (no extra needed; the widgets draw them).

* :func:`timeline` runs a seeded read-heavy workload through a router with the exercise's
  contract (``impl=``, default :class:`~highload.replication.SessionRouter`) on a ManualClock,
  and records every write and read: which node served, whether the read was stale, and each
  node's position over time.
* :func:`compare_policies` runs the same workload through :class:`ReadRouter` with several
  policies at several lags, and counts replica share and stale reads for each.

A read is *stale* when a session reads its own key and gets anything but what it last wrote:
the bug a user sees as "I saved my profile and the old one came back".
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from highload import _simulate, _validate

from .policies import Policy
from .router import ReadRouter
from .session import SessionRouter
from .simulation import SimulatedReplicaSet

__all__ = ["Op", "Timeline", "timeline", "PolicyRow", "compare_policies", "CONTRACT"]

CONTRACT = "a router class like SessionRouter(primary, replicas) with write(session, key, value) and read(session, key)"
MAX_OPS = 20_000


@dataclass(frozen=True)
class Op:
    time: float
    kind: str          # "write" or "read"
    session: int
    node: str          # who served it
    stale: bool = False


@dataclass
class Timeline:
    nodes: list[str]
    ops: list[Op] = field(default_factory=list)
    positions: dict[str, list[tuple[float, int]]] = field(default_factory=dict)
    stats: dict = field(default_factory=dict)

    @property
    def reads(self) -> int:
        return sum(op.kind == "read" for op in self.ops)

    @property
    def stale_reads(self) -> int:
        return sum(op.stale for op in self.ops)

    @property
    def replica_share(self) -> float:
        reads = [op for op in self.ops if op.kind == "read"]
        return sum(op.node != "primary" for op in reads) / len(reads) if reads else 0.0


class _Watched:
    """A replica as the router sees it, noting when it serves a read."""

    def __init__(self, replica, served: list) -> None:
        self._replica, self._served = replica, served
        self.name = replica.name

    @property
    def applied_lsn(self) -> int:
        return self._replica.applied_lsn

    def read(self, key):
        self._served.append(self.name)
        return self._replica.read(key)


def _workload(rng: random.Random, duration: float, think: float, write_share: float, sessions: int):
    t = 0.0
    count = 0
    while t < duration and count < MAX_OPS:
        yield t, ("write" if rng.random() < write_share else "read"), rng.randrange(sessions)
        t += think * rng.uniform(0.5, 1.5)
        count += 1


def timeline(impl: Callable | None = None, *, lags: Sequence[float] = (0.5, 2.0), write_share: float = 0.1,
             duration: float = 10.0, sessions: int = 8, think: float = 0.05, seed: int = 0) -> Timeline:
    """Run ``duration`` seconds of a ``write_share`` write / rest read workload through ``impl``."""
    _simulate.check_impl(impl, CONTRACT)
    seed = _simulate.check_seed(seed)
    write_share = _validate.number("write_share", write_share, minimum=0, inclusive=True)
    if write_share > 1:
        raise ValueError(f"write_share must be <= 1, got {write_share}")
    duration = _validate.number("duration", duration, minimum=0, inclusive=False)
    think = _validate.number("think", think, minimum=0, inclusive=False)
    sessions = _validate.integer("sessions", sessions, minimum=1)
    rs = SimulatedReplicaSet(lags=list(lags), seed=seed)
    served: list[str] = []
    router = _simulate.call("the constructor", impl or SessionRouter, rs.primary,
                            [_Watched(r, served) for r in rs.replicas])
    result = Timeline(["primary", *(r.name for r in rs.replicas)])
    result.positions = {name: [] for name in result.nodes}
    last: dict[int, int] = {}
    for t, kind, session in _workload(random.Random(seed), duration, think, write_share, sessions):
        rs.clock.set(t)
        key = f"profile:{session}"
        if kind == "write":
            last[session] = last.get(session, 0) + 1
            _simulate.call(f"write at t={t:.2f}", router.write, session, key, last[session])
            result.ops.append(Op(t, "write", session, "primary"))
        else:
            before = len(served)
            value = _simulate.call(f"read at t={t:.2f}", router.read, session, key)
            node = served[-1] if len(served) > before else "primary"
            result.ops.append(Op(t, "read", session, node, value != last.get(session)))
        result.positions["primary"].append((t, rs.primary.lsn))
        for r in rs.replicas:
            result.positions[r.name].append((t, r.applied_lsn))
    result.stats = dict(getattr(router, "stats", {}))
    return result


@dataclass(frozen=True)
class PolicyRow:
    policy: str
    lag: float
    reads: int
    replica_share: float
    stale_reads: int


def compare_policies(policies: Mapping[str, Callable[[], Policy]], lags: Sequence[float], *,
                     replicas: int = 2, write_share: float = 0.1, duration: float = 20.0,
                     sessions: int = 20, think: float = 0.05, seed: int = 0) -> list[PolicyRow]:
    """Each policy at each lag (all replicas that far behind), on the same seeded workload."""
    rows = []
    for lag in lags:
        for name, make in policies.items():
            rs = SimulatedReplicaSet(lags=[lag] * replicas, seed=seed)
            router = ReadRouter(rs, policy=make())
            last: dict[int, int] = {}
            stale = reads = 0
            for t, kind, session in _workload(random.Random(seed), duration, think, write_share, sessions):
                rs.clock.set(t)
                key = f"profile:{session}"
                if kind == "write":
                    last[session] = last.get(session, 0) + 1
                    router.write(session, key, last[session])
                else:
                    reads += 1
                    stale += router.read(session, key) != last.get(session)
            rows.append(PolicyRow(name, lag, reads, router.replica_share, stale))
    return rows
