"""Health checks: which servers a balancer may pick.

Passive checks watch real traffic (nginx's ``max_fails``/``fail_timeout``); active checks probe
each server on a schedule (``rise``/``fall`` as in HAProxy and nginx Plus ``health_check``).
Both take ``clock=``; nothing here starts a thread, so tests drive them with a ``ManualClock``.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence

from highload import _validate

from .algorithms import NoServerAvailable, _server_list

__all__ = ["PassiveHealth", "ActiveHealth", "HealthyBalancer"]


class PassiveHealth:
    """nginx-style passive health: take a server out after ``max_fails`` failures.

    nginx (``ngx_http_upstream_module``, ``server`` directive): *max_fails* "sets the number of
    unsuccessful attempts to communicate with the server that should happen in the duration set
    by the fail_timeout parameter to consider the server unavailable for a duration also set by
    the fail_timeout parameter"; the zero value disables the accounting; defaults are
    ``max_fails=1`` and ``fail_timeout=10s``. A ``backup`` server gets requests only when every
    primary server is unavailable. The exact rules here:

    1. ``report(server, ok=False)`` at time ``t`` records a failure. A failure counts while
       ``now < t + fail_timeout``.
    2. When the counted failures reach ``max_fails``, the server is down from ``t`` and is
       available again at exactly ``t + fail_timeout``.
    3. Back from down, the server is on probation (nginx keeps its failure count): the next
       failure takes it down again at once, for another ``fail_timeout``; the next success
       clears the probation and the count.
    4. Successes outside probation do not erase earlier failures; only time does (rule 1).
    5. ``max_fails=0`` never marks a server down.
    6. ``available()`` lists the primaries that are up, in order; if none are, the backups that
       are up; if none of those either, an empty list.
    """

    def __init__(
        self,
        servers: Sequence[str],
        max_fails: int = 1,
        fail_timeout: float = 10.0,
        backup: Sequence[str] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._primary = _server_list(servers)
        self._backup = list(backup)
        if isinstance(backup, str) or len(set(self._backup)) != len(self._backup):
            raise ValueError(f"backup must be a sequence of distinct server names, got {backup!r}")
        if set(self._primary) & set(self._backup):
            raise ValueError(f"a server cannot be both primary and backup: {sorted(set(self._primary) & set(self._backup))!r}")
        self.max_fails = _validate.integer("max_fails", max_fails, minimum=0)
        self.fail_timeout = _validate.number("fail_timeout", fail_timeout, minimum=0, inclusive=False)
        self._clock = _validate.clock(clock)
        everyone = self._primary + self._backup
        self._failures: dict[str, deque[float]] = {s: deque() for s in everyone}
        self._down_until: dict[str, float | None] = dict.fromkeys(everyone)
        self._probation = dict.fromkeys(everyone, False)
        self._lock = threading.Lock()

    @property
    def servers(self) -> list[str]:
        return self._primary + self._backup

    def _check(self, server: str) -> None:
        if server not in self._failures:
            raise ValueError(f"server must be one of {self.servers!r}, got {server!r}")

    def _is_up(self, server: str, now: float) -> bool:
        until = self._down_until[server]
        if until is None:
            return True
        if now < until:
            return False
        self._down_until[server] = None  # back, on probation (rule 3)
        self._probation[server] = True
        self._failures[server].clear()
        return True

    def report(self, server: str, ok: bool) -> None:
        """Record the outcome of one attempt to talk to ``server``."""
        self._check(server)
        if not isinstance(ok, bool):
            raise TypeError(f"ok must be a bool, got {ok!r}")
        with self._lock:
            now = self._clock()
            if not self._is_up(server, now):
                return  # a late answer from a server already marked down changes nothing
            if ok:
                if self._probation[server]:
                    self._probation[server] = False
                return
            if self.max_fails == 0:
                return
            failures = self._failures[server]
            failures.append(now)
            while failures and not now < failures[0] + self.fail_timeout:
                failures.popleft()
            if self._probation[server] or len(failures) >= self.max_fails:
                self._down_until[server] = now + self.fail_timeout
                self._probation[server] = False
                failures.clear()

    def is_available(self, server: str) -> bool:
        """Whether ``server`` is up now (ignoring the primary/backup rule)."""
        self._check(server)
        with self._lock:
            return self._is_up(server, self._clock())

    def available(self) -> list[str]:
        """Primaries that are up; if none, the backups that are up."""
        with self._lock:
            now = self._clock()
            up = [s for s in self._primary if self._is_up(s, now)]
            return up or [s for s in self._backup if self._is_up(s, now)]

    def __repr__(self) -> str:
        return f"PassiveHealth({self._primary!r}, max_fails={self.max_fails}, fail_timeout={self.fail_timeout:g}, backup={self._backup!r})"


class ActiveHealth:
    """Active health checks: probe each server every ``interval`` seconds.

    ``tick()`` runs the checks that are due at ``clock()`` and returns ``{server: result}`` for
    them. Rules:

    1. Every server starts up. Its first check is due at construction time, then each check is
       due ``interval`` seconds after the previous one ran (a late tick does not cause a burst).
    2. An up server goes down after ``fall`` consecutive failed checks; a down server comes up
       after ``rise`` consecutive passed checks. The other result breaks the streak.
    3. A check that raises counts as failed.
    """

    def __init__(
        self,
        check: Callable[[str], bool],
        servers: Sequence[str],
        interval: float = 5.0,
        rise: int = 2,
        fall: int = 3,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not callable(check):
            raise TypeError(f"check must be a callable taking a server and returning bool, got {check!r}")
        self._check_fn = check
        self._servers = _server_list(servers)
        self.interval = _validate.number("interval", interval, minimum=0, inclusive=False)
        self.rise = _validate.integer("rise", rise, minimum=1)
        self.fall = _validate.integer("fall", fall, minimum=1)
        self._clock = _validate.clock(clock)
        start = self._clock()
        self._due = dict.fromkeys(self._servers, start)
        self._up = dict.fromkeys(self._servers, True)
        self._streak = dict.fromkeys(self._servers, 0)  # consecutive results against the state
        self._lock = threading.Lock()

    @property
    def servers(self) -> list[str]:
        return list(self._servers)

    def tick(self) -> dict[str, bool]:
        """Run every check that is due now; return each checked server's result."""
        now = self._clock()
        due = [s for s in self._servers if self._due[s] <= now]
        results = {}
        for server in due:  # checks run outside the lock: they may be slow network calls
            try:
                results[server] = bool(self._check_fn(server))
            except Exception:
                results[server] = False
        with self._lock:
            for server, ok in results.items():
                self._due[server] = now + self.interval
                if ok == self._up[server]:
                    self._streak[server] = 0
                    continue
                self._streak[server] += 1
                if self._streak[server] >= (self.rise if ok else self.fall):
                    self._up[server] = ok
                    self._streak[server] = 0
        return results

    def is_available(self, server: str) -> bool:
        if server not in self._up:
            raise ValueError(f"server must be one of {self._servers!r}, got {server!r}")
        return self._up[server]

    def available(self) -> list[str]:
        """The servers that are up, in order."""
        return [s for s in self._servers if self._up[s]]

    def __repr__(self) -> str:
        return f"ActiveHealth({self._servers!r}, interval={self.interval:g}, rise={self.rise}, fall={self.fall})"


class HealthyBalancer:
    """A balancer that only picks servers a health checker says are available.

    >>> from highload.clock import ManualClock
    >>> from highload.balancing import RoundRobin
    >>> health = PassiveHealth(["a", "b"], max_fails=1, fail_timeout=10, clock=ManualClock())
    >>> lb = HealthyBalancer(RoundRobin(["a", "b"]), health)
    >>> health.report("a", ok=False)
    >>> lb.acquire(), lb.acquire()
    ('b', 'b')

    ``acquire()``/``release()`` delegate with ``among=health.available()``; ``pick(key)`` does
    the same for a :class:`ConsistentHash`. ``report(server, ok)`` forwards to a passive checker.
    Raises :class:`NoServerAvailable` when nothing is available. The balancer's pool must hold
    the backup servers too, or they can never be picked.
    """

    def __init__(self, balancer, health) -> None:
        self.balancer, self.health = balancer, health

    def _among(self) -> list[str]:
        among = self.health.available()
        if not among:
            raise NoServerAvailable("every server is unavailable")
        return among

    def acquire(self) -> str:
        return self.balancer.acquire(among=self._among())

    def release(self, server: str) -> None:
        self.balancer.release(server)

    def pick(self, key: str) -> str:
        return self.balancer.pick(key, among=self._among())

    def report(self, server: str, ok: bool) -> None:
        self.health.report(server, ok)

    def __repr__(self) -> str:
        return f"HealthyBalancer({self.balancer!r}, {self.health!r})"
