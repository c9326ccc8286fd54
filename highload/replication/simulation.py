"""A replica set in one process, on a :class:`~highload.clock.ManualClock`: the embedded
stand-in for Postgres streaming replication when Postgres is not installed (it says so in
:meth:`SimulatedReplicaSet.describe`).

The model follows Postgres closely enough to teach from it:

* every write appends one entry to the primary's log; its position is the entry's number (1, 2, …);
* a connected replica *receives* an entry at once and *applies* it ``lag`` seconds after the
  commit (like ``recovery_min_apply_delay``), in log order;
* ``lag`` is a constant, or a callable ``rng -> seconds`` drawn once per write from a seeded
  ``random.Random`` (so the same ``seed`` gives the same run);
* :meth:`pause` stops applying (received entries pile up), :meth:`resume` catches up;
* :meth:`cut` stops receiving; :meth:`promote` applies all received entries and counts the
  primary's commits past the replica's received position as lost.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from highload import _validate
from highload.clock import ManualClock

from .base import Failover, find_replica

__all__ = ["SimulatedPrimary", "SimulatedReplica", "SimulatedReplicaSet", "Lag"]

#: seconds, or ``rng -> seconds`` drawn per write
Lag = float | Callable[[random.Random], float]


@dataclass(frozen=True)
class _Entry:
    lsn: int
    at: float
    key: str
    value: Any


class SimulatedPrimary:
    """Takes every write; its log is what the replicas replay."""

    def __init__(self, name: str, clock: Callable[[], float]) -> None:
        self.name = name
        self._clock = clock
        self.log: list[_Entry] = []
        self._data: dict[str, Any] = {}
        self._replicas: list[SimulatedReplica] = []

    @property
    def lsn(self) -> int:
        return len(self.log)

    def write(self, key: str, value: Any) -> int:
        entry = _Entry(len(self.log) + 1, self._clock(), key, value)
        self.log.append(entry)
        self._data[key] = value
        for replica in self._replicas:
            replica._receive(entry)
        return entry.lsn

    def read(self, key: str) -> Any:
        return self._data.get(key)

    def __repr__(self) -> str:
        return f"SimulatedPrimary({self.name!r}, lsn={self.lsn})"


class SimulatedReplica:
    """Applies the primary's log ``lag`` seconds after each commit; read what it has applied."""

    def __init__(self, name: str, clock: Callable[[], float], lag: Lag, rng: random.Random) -> None:
        self.name = name
        self._clock = clock
        self._rng = rng
        self.lag = lag
        self._pending: list[tuple[float, _Entry]] = []   # (due time, entry), in log order
        self._data: dict[str, Any] = {}
        self._applied = 0
        self._received = 0
        self._paused = False
        self.connected = True

    # -- the lag knob --------------------------------------------------------------------------
    @property
    def lag(self) -> Lag:
        return self._lag

    @lag.setter
    def lag(self, value: Lag) -> None:
        if not callable(value):
            value = _validate.number("lag", value, minimum=0, inclusive=True)
        self._lag = value

    def _delay(self) -> float:
        return max(0.0, float(self._lag(self._rng))) if callable(self._lag) else self._lag

    # -- replication ---------------------------------------------------------------------------
    def _receive(self, entry: _Entry) -> None:
        if not self.connected:
            return
        due = entry.at + self._delay()
        # Replay is in log order: an entry is never applied before the one ahead of it.
        if self._pending:
            due = max(due, self._pending[-1][0])
        self._pending.append((due, entry))
        self._received = entry.lsn

    def _catch_up(self, everything: bool = False) -> None:
        if self._paused and not everything:
            return
        now = self._clock()
        done = 0
        for due, entry in self._pending:
            if not everything and due > now:
                break
            self._data[entry.key] = entry.value
            self._applied = entry.lsn
            done += 1
        del self._pending[:done]

    @property
    def applied_lsn(self) -> int:
        self._catch_up()
        return self._applied

    @property
    def received_lsn(self) -> int:
        return self._received

    def read(self, key: str) -> Any:
        self._catch_up()
        return self._data.get(key)

    def staleness(self) -> float:
        """Seconds since the oldest commit this replica has not applied yet (0 when caught up)."""
        self._catch_up()
        return max(0.0, self._clock() - self._pending[0][1].at) if self._pending else 0.0

    # -- faults --------------------------------------------------------------------------------
    def pause(self) -> None:
        self._catch_up()
        self._paused = True

    def resume(self) -> None:
        self._paused = False

    @property
    def paused(self) -> bool:
        return self._paused

    def __repr__(self) -> str:
        return f"SimulatedReplica({self.name!r}, applied_lsn={self._applied}, received_lsn={self._received})"


class SimulatedReplicaSet:
    """A primary and ``len(lags)`` replicas on one clock: the embedded replica set.

    >>> rs = SimulatedReplicaSet(lags=[0.5, 2.0])
    >>> lsn = rs.primary.write("profile:1", "new")
    >>> rs.replicas[0].read("profile:1") is None      # not applied yet
    True
    >>> _ = rs.clock.advance(0.5)
    >>> rs.replicas[0].read("profile:1")
    'new'
    """

    def __init__(self, lags: Sequence[Lag] = (0.5, 2.0), *, clock: ManualClock | None = None,
                 seed: int = 0) -> None:
        if isinstance(lags, (str, bytes)) or not isinstance(lags, Sequence):
            raise TypeError(f"lags must be a list of seconds or samplers, got {lags!r}")
        self.clock = clock if clock is not None else ManualClock()
        self.seed = seed
        rng = random.Random(seed)
        self.primary = SimulatedPrimary("primary", self.clock)
        self.replicas: list[SimulatedReplica] = [
            SimulatedReplica(f"replica{i + 1}", self.clock, lag, random.Random(rng.random()))
            for i, lag in enumerate(lags)]
        self.primary._replicas = list(self.replicas)

    def describe(self) -> str:
        lags = ", ".join(f"{r.name}: {'sampled' if callable(r.lag) else f'{r.lag:g} s'}" for r in self.replicas)
        return (f"simulated replica set (in-process, ManualClock; not a real database): "
                f"primary + {len(self.replicas)} replicas ({lags})")

    def replica(self, which: int | str) -> SimulatedReplica:
        return find_replica(self.replicas, which)

    def set_lag(self, which: int | str, lag: Lag) -> None:
        self.replica(which).lag = lag

    def pause(self, which: int | str) -> None:
        self.replica(which).pause()

    def resume(self, which: int | str) -> None:
        self.replica(which).resume()

    def cut(self, which: int | str) -> None:
        """The replica stops receiving the log (a network partition); it keeps serving reads."""
        r = self.replica(which)
        r.connected = False
        self.primary._replicas = [x for x in self.primary._replicas if x is not r]

    def heal(self, which: int | str) -> None:
        """Reconnect a cut replica: it receives what it missed, then follows again."""
        r = self.replica(which)
        if r.connected:
            return
        r.connected = True
        for entry in self.primary.log:
            if entry.lsn > r.received_lsn:
                r._receive(entry)
        self.primary._replicas.append(r)

    def promote(self, which: int | str) -> Failover:
        """Make the replica the primary: it applies all it received, and whatever it never
        received is gone. The old primary is dropped; the other replicas follow the new one."""
        r = self.replica(which)
        r._catch_up(everything=True)
        lost = [e for e in self.primary.log if e.lsn > r.received_lsn]
        new = SimulatedPrimary(r.name, self.clock)
        new.log = [e for e in self.primary.log if e.lsn <= r.received_lsn]
        new._data = dict(r._data)
        others = [x for x in self.replicas if x is not r]
        for other in others:
            # Followers that are ahead of the new primary would need a rewind; start them from its state.
            other._catch_up(everything=True)
            other._pending.clear()
            other._data = dict(new._data)
            other._applied = other._received = new.lsn
            other.connected = True
        new._replicas = list(others)
        self.primary, self.replicas = new, others
        return Failover(r.name, r.received_lsn, len(lost), tuple(e.key for e in lost))

    def __repr__(self) -> str:
        return f"SimulatedReplicaSet({self.describe()})"
