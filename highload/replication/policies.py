"""Where a read may go: the routing policies :class:`~highload.replication.ReadRouter` applies.

Each policy looks at the replicas in round-robin order (starting at the router's cursor) and
picks one, or ``None`` for the primary. They differ in what makes a replica good enough:

========================  =====================================================================
:class:`PrimaryOnly`      nothing: every read on the primary (strong, no read scaling)
:class:`AnyReplica`       anything: the next replica (eventual; a session may not see its writes)
:class:`SessionToken`     applied position ≥ the session's token (read-your-writes + monotonic)
:class:`BoundedStaleness` at most ``max_seconds`` behind and/or ``max_behind`` positions behind
:class:`TimePinning`      anything, except for ``pin`` seconds after the session wrote
                          (what Rails and django-multidb-router do; stale when lag > pin)
========================  =====================================================================

A policy is asked once per read, so the call is kept cheap: the router passes the per-read
facts as plain arguments, ``choose(ctx, replicas, order, token, last_write_at)``, where ``ctx``
(a :class:`Context`, one per router) holds what does not change between reads: the clock, its
sleep, and the primary's position. ``order`` is the replica indices in round-robin order for
this read (a tuple the router computed once for the number of replicas). ``choose`` returns a
:class:`Choice`, or a plain 4-tuple in the same field order (the built-in policies do: a tuple
costs a fraction of a named one, and this runs on every read).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from highload import _validate

__all__ = ["Choice", "Context", "Policy", "PrimaryOnly", "AnyReplica", "SessionToken",
           "BoundedStaleness", "TimePinning", "rotations"]


class Choice(NamedTuple):
    """``index`` of the replica to read (``None``: the primary), the ``applied`` position the
    policy saw on it (``None`` if it did not look), and ``waited`` seconds."""

    index: int | None
    applied: int | None = None
    waited: float = 0.0
    fallback: bool = False        # the policy wanted a replica and had to use the primary


_PRIMARY = Choice(None)
_FALLBACK = Choice(None, fallback=True)


class Context:
    """What a policy may look at besides the read itself; one per router, shared by its reads.

    ``positions`` maps ``id(replica)`` to ``(replica, applied position)`` for positions a policy
    has queried: a lower bound of where the replica is now, since positions only grow along one
    primary's log. The router empties it whenever its list of replicas changes (a failover
    replaces it), and the replica is kept in the entry so its id cannot be reused meanwhile.
    """

    __slots__ = ("now", "sleep", "primary_lsn", "positions")

    def __init__(self, now: Callable[[], float], sleep: Callable[[float], None],
                 primary_lsn: Callable[[], int]) -> None:
        self.now, self.sleep, self.primary_lsn = now, sleep, primary_lsn
        self.positions: dict[int, tuple[object, int]] = {}


def rotations(n: int) -> tuple[tuple[int, ...], ...]:
    """The round-robin orders of ``n`` replicas: ``rotations(3)[1] == (1, 2, 0)``."""
    return tuple(tuple((start + i) % n for i in range(n)) for start in range(n))


class Policy:
    name = "policy"

    def choose(self, ctx: Context, replicas: Sequence, order: Sequence[int], token: int,
               last_write_at: float | None) -> Choice | tuple:   # pragma: no cover - interface
        """Pick a replica for one read: ``token`` is the session's highest written or seen
        position, ``last_write_at`` when it last wrote (clock time; ``None`` if never)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"


class PrimaryOnly(Policy):
    name = "primary-only"

    def choose(self, ctx, replicas, order, token, last_write_at):
        return _PRIMARY


class AnyReplica(Policy):
    name = "any replica"

    def choose(self, ctx, replicas, order, token, last_write_at):
        return (order[0], None, 0.0, False) if order else _PRIMARY


class SessionToken(Policy):
    """The first replica (round robin) whose applied position ≥ the session's token; else wait
    up to ``max_wait`` seconds (polling every ``poll``) for one to catch up; else the primary.

    ``monotonic=True`` (the default) also gives monotonic reads: the token learns the position of
    whatever the session read, including the primary's head after a primary read. Under steady
    writes from other sessions that head keeps moving, so a session that reads again sooner than
    the lag stays on the primary. ``monotonic=False`` keeps read-your-writes only (the token is
    the session's own writes), which leaves far more reads on the replicas.

    ``remember_positions=True`` (read-your-writes only) skips asking a replica its position when
    a position it reported earlier already covers the token: on a real engine that is one round
    trip per read instead of two, for most reads. A remembered position is a lower bound, which
    is all read-your-writes needs; monotonic reads would need the position the read actually saw.
    """

    name = "session token"

    def __init__(self, max_wait: float = 0.0, poll: float = 0.01, *, monotonic: bool = True,
                 remember_positions: bool = False) -> None:
        self.max_wait = _validate.number("max_wait", max_wait, minimum=0, inclusive=True)
        self.poll = _validate.number("poll", poll, minimum=0, inclusive=False)
        self.monotonic = bool(monotonic)
        self.remember_positions = bool(remember_positions)
        if self.monotonic and self.remember_positions:
            raise ValueError("remember_positions needs monotonic=False: a remembered position is a "
                             "lower bound, and monotonic reads need the position the read saw")

    def choose(self, ctx, replicas, order, token, last_write_at):
        if self.remember_positions:
            known = ctx.positions
            for i in order:
                entry = known.get(id(replicas[i]))
                if entry is not None and entry[1] >= token:
                    return i, entry[1], 0.0, False
            for i in order:
                replica = replicas[i]
                applied = replica.applied_lsn
                known[id(replica)] = (replica, applied)
                if applied >= token:
                    return i, applied, 0.0, False
            return self._none_caught_up(ctx, replicas, order, token)
        # The first pass reads no clock: a read that finds a caught-up replica waited nothing.
        for i in order:
            applied = replicas[i].applied_lsn   # read once: checked and learned
            if applied >= token:
                return i, applied, 0.0, False
        return self._none_caught_up(ctx, replicas, order, token)

    def _none_caught_up(self, ctx, replicas, order, token):
        if not order:
            return _PRIMARY
        if self.max_wait <= 0:
            return _FALLBACK
        return self._wait(ctx, replicas, order, token)

    def _wait(self, ctx, replicas, order, token):
        started = ctx.now()
        while True:
            waited = ctx.now() - started
            if waited >= self.max_wait:
                return Choice(None, None, waited, fallback=True)
            ctx.sleep(min(self.poll, self.max_wait - waited))
            for i in order:
                applied = replicas[i].applied_lsn
                if applied >= token:
                    return Choice(i, applied, ctx.now() - started)


class BoundedStaleness(Policy):
    """The first replica at most ``max_seconds`` behind (by its own ``staleness()``) and at most
    ``max_behind`` positions behind the primary; else the primary. ``None`` = no bound."""

    name = "bounded staleness"

    def __init__(self, max_seconds: float | None = None, max_behind: int | None = None) -> None:
        if max_seconds is None and max_behind is None:
            raise ValueError("BoundedStaleness needs max_seconds or max_behind (or both)")
        self.max_seconds = None if max_seconds is None else _validate.number(
            "max_seconds", max_seconds, minimum=0, inclusive=True)
        self.max_behind = None if max_behind is None else _validate.integer(
            "max_behind", max_behind, minimum=0)

    def choose(self, ctx, replicas, order, token, last_write_at):
        head = ctx.primary_lsn() if self.max_behind is not None and order else 0
        for i in order:
            r = replicas[i]
            applied = r.applied_lsn
            if self.max_behind is not None and head - applied > self.max_behind:
                continue
            if self.max_seconds is not None and r.staleness() > self.max_seconds:
                continue
            return i, applied, 0.0, False
        return _FALLBACK if order else _PRIMARY


class TimePinning(Policy):
    """The primary for ``pin`` seconds after the session's last write, then any replica."""

    name = "time pinning"

    def __init__(self, pin: float = 2.0) -> None:
        self.pin = _validate.number("pin", pin, minimum=0, inclusive=True)

    def choose(self, ctx, replicas, order, token, last_write_at):
        if not order or (last_write_at is not None and ctx.now() - last_write_at < self.pin):
            return _PRIMARY
        return order[0], None, 0.0, False
