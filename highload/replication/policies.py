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
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from highload import _validate

__all__ = ["Choice", "Context", "Policy", "PrimaryOnly", "AnyReplica", "SessionToken",
           "BoundedStaleness", "TimePinning"]


@dataclass(frozen=True)
class Choice:
    """``index`` of the replica to read (``None``: the primary), the ``applied`` position the
    policy saw on it (``None`` if it did not look), and ``waited`` seconds."""

    index: int | None
    applied: int | None = None
    waited: float = 0.0
    fallback: bool = False        # the policy wanted a replica and had to use the primary


@dataclass
class Context:
    """What a policy may look at for one read."""

    replicas: Sequence
    start: int                     # the round-robin cursor for this read
    token: int                     # the session's highest written or seen position
    last_write_at: float | None    # when the session last wrote (clock time), None if never
    now: Callable[[], float]
    sleep: Callable[[float], None]
    primary_lsn: Callable[[], int]

    def order(self):
        n = len(self.replicas)
        return [(self.start + i) % n for i in range(n)]


class Policy:
    name = "policy"

    def choose(self, ctx: Context) -> Choice:   # pragma: no cover - interface
        raise NotImplementedError

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"


class PrimaryOnly(Policy):
    name = "primary-only"

    def choose(self, ctx: Context) -> Choice:
        return Choice(None)


class AnyReplica(Policy):
    name = "any replica"

    def choose(self, ctx: Context) -> Choice:
        return Choice(ctx.order()[0]) if ctx.replicas else Choice(None)


class SessionToken(Policy):
    """The first replica (round robin) whose applied position ≥ the session's token; else wait
    up to ``max_wait`` seconds (polling every ``poll``) for one to catch up; else the primary.

    ``monotonic=True`` (the default) also gives monotonic reads: the token learns the position of
    whatever the session read, including the primary's head after a primary read. Under steady
    writes from other sessions that head keeps moving, so a session that reads again sooner than
    the lag stays on the primary. ``monotonic=False`` keeps read-your-writes only (the token is
    the session's own writes), which leaves far more reads on the replicas.
    """

    name = "session token"

    def __init__(self, max_wait: float = 0.0, poll: float = 0.01, *, monotonic: bool = True) -> None:
        self.max_wait = _validate.number("max_wait", max_wait, minimum=0, inclusive=True)
        self.poll = _validate.number("poll", poll, minimum=0, inclusive=False)
        self.monotonic = bool(monotonic)

    def choose(self, ctx: Context) -> Choice:
        if not ctx.replicas:
            return Choice(None)
        started = ctx.now()
        while True:
            for i in ctx.order():
                applied = ctx.replicas[i].applied_lsn   # read once: checked and learned
                if applied >= ctx.token:
                    return Choice(i, applied, ctx.now() - started)
            waited = ctx.now() - started
            if waited >= self.max_wait:
                return Choice(None, None, waited, fallback=True)
            ctx.sleep(min(self.poll, self.max_wait - waited))


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

    def choose(self, ctx: Context) -> Choice:
        head = ctx.primary_lsn() if self.max_behind is not None and ctx.replicas else 0
        for i in ctx.order() if ctx.replicas else ():
            r = ctx.replicas[i]
            applied = r.applied_lsn
            if self.max_behind is not None and head - applied > self.max_behind:
                continue
            if self.max_seconds is not None and r.staleness() > self.max_seconds:
                continue
            return Choice(i, applied)
        return Choice(None, fallback=bool(ctx.replicas))


class TimePinning(Policy):
    """The primary for ``pin`` seconds after the session's last write, then any replica."""

    name = "time pinning"

    def __init__(self, pin: float = 2.0) -> None:
        self.pin = _validate.number("pin", pin, minimum=0, inclusive=True)

    def choose(self, ctx: Context) -> Choice:
        if not ctx.replicas or (ctx.last_write_at is not None and ctx.now() - ctx.last_write_at < self.pin):
            return Choice(None)
        return Choice(ctx.order()[0])
