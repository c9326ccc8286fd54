"""Load-balancing algorithms: which server gets the next request.

Every balancer offers ``acquire(among=None) -> server`` and ``release(server)``, so a proxy (or the
simulation) can drive any of them the same way: acquire before sending a request, release when
it finishes. Round robin also has ``next()``; consistent hashing picks by key with ``pick(key)``.
``among`` restricts the choice to a subset (the servers a health checker says are up), keeping
each algorithm's own order and state; :class:`~highload.balancing.health.HealthyBalancer` passes it
for you. All state changes happen under a lock, and randomness comes from a seed or a
``random.Random`` you pass in.
"""

from __future__ import annotations

import bisect
import hashlib
import random
import threading
from collections.abc import Collection, Iterable, Mapping, Sequence

from highload import _validate

__all__ = [
    "NoServerAvailable",
    "RoundRobin",
    "SmoothWeightedRoundRobin",
    "LeastConnections",
    "PowerOfTwoChoices",
    "ConsistentHash",
]


class NoServerAvailable(RuntimeError):
    """Raised when every server is excluded (all are down, or ``among`` is empty)."""


def _server_list(servers: Iterable[str], name: str = "servers") -> list[str]:
    if isinstance(servers, str | bytes):
        raise TypeError(f"{name} must be a sequence of server names, not a single string: {servers!r}")
    result = list(servers)
    if not result:
        raise ValueError(f"{name} must not be empty, got {result!r}")
    if len(set(result)) != len(result):
        raise ValueError(f"{name} must be distinct, got {result!r}")
    return result


def _candidates(servers: Sequence[str], among: Collection[str] | None) -> list[str]:
    """``servers`` restricted to ``among``, in the balancer's own order."""
    if among is None:
        return list(servers)
    allowed = set(among)
    picked = [s for s in servers if s in allowed]
    if not picked:
        raise NoServerAvailable(f"no server available among {sorted(allowed)!r}")
    return picked


class _Stateless:
    """``acquire``/``release`` for algorithms that ignore connection counts."""

    _servers: list[str]

    def acquire(self, among: Collection[str] | None = None) -> str:
        """Same as ``next(among)``; provided so every balancer can be driven the same way."""
        return self.next(among)  # type: ignore[attr-defined]

    def release(self, server: str) -> None:
        """Nothing to count; only checks that ``server`` belongs to the pool."""
        if server not in self._servers:
            raise ValueError(f"server must be one of {self._servers!r}, got {server!r}")

    @property
    def servers(self) -> list[str]:
        return list(self._servers)


class RoundRobin(_Stateless):
    """Each server in turn: a, b, c, a, b, c, ...

    >>> rr = RoundRobin(["a", "b", "c"])
    >>> [rr.next() for _ in range(4)]
    ['a', 'b', 'c', 'a']

    With ``among``, servers outside it are skipped and the turn moves past the one picked.
    """

    def __init__(self, servers: Sequence[str]) -> None:
        self._servers = _server_list(servers)
        self._cursor = 0
        self._lock = threading.Lock()

    def next(self, among: Collection[str] | None = None) -> str:
        allowed = None if among is None else set(among)
        with self._lock:
            n = len(self._servers)
            for step in range(n):
                server = self._servers[(self._cursor + step) % n]
                if allowed is None or server in allowed:
                    self._cursor = (self._cursor + step + 1) % n
                    return server
        raise NoServerAvailable(f"no server available among {sorted(allowed or ())!r}")

    def __repr__(self) -> str:
        return f"RoundRobin({self._servers!r})"


class SmoothWeightedRoundRobin(_Stateless):
    """nginx's smooth weighted round robin: heavy servers get more turns, spread out evenly.

    Each ``next()``: (1) every server's current weight grows by its weight; (2) the server with
    the largest current weight is picked, ties to the earliest in mapping order; (3) the picked
    server's current weight drops by the total weight.

    >>> swrr = SmoothWeightedRoundRobin({"a": 5, "b": 1, "c": 1})
    >>> "".join(swrr.next() for _ in range(7))
    'aabacaa'

    With ``among``, only those servers take part in that round (as nginx skips a down peer).
    """

    def __init__(self, weights: Mapping[str, int]) -> None:
        if not isinstance(weights, Mapping):
            raise TypeError(f"weights must be a mapping of server -> int weight, got {weights!r}")
        if not weights:
            raise ValueError(f"weights must not be empty, got {dict(weights)!r}")
        for server, weight in weights.items():
            _validate.integer(f"weights[{server!r}]", weight, minimum=1)
        self._weights = {s: int(w) for s, w in weights.items()}
        self._servers = list(self._weights)
        self._current = dict.fromkeys(self._servers, 0)
        self._lock = threading.Lock()

    @property
    def weights(self) -> dict[str, int]:
        return dict(self._weights)

    def next(self, among: Collection[str] | None = None) -> str:
        candidates = _candidates(self._servers, among)
        with self._lock:
            total = 0
            best = None
            for server in candidates:
                self._current[server] += self._weights[server]
                total += self._weights[server]
                if best is None or self._current[server] > self._current[best]:
                    best = server
            self._current[best] -= total
            return best

    def __repr__(self) -> str:
        return f"SmoothWeightedRoundRobin({self._weights!r})"


class LeastConnections:
    """The server with the fewest active connections, ties to the earliest.

    >>> lc = LeastConnections(["a", "b"])
    >>> lc.acquire(), lc.acquire(), lc.acquire()
    ('a', 'b', 'a')
    >>> lc.release("a"); lc.active("a")
    1
    """

    def __init__(self, servers: Sequence[str]) -> None:
        self._servers = _server_list(servers)
        self._active = dict.fromkeys(self._servers, 0)
        self._lock = threading.Lock()

    @property
    def servers(self) -> list[str]:
        return list(self._servers)

    def _check(self, server: str) -> None:
        if server not in self._active:
            raise ValueError(f"server must be one of {self._servers!r}, got {server!r}")

    def _choose(self, candidates: list[str]) -> str:
        return min(candidates, key=self._active.__getitem__)  # min keeps the earliest on ties

    def acquire(self, among: Collection[str] | None = None) -> str:
        """Pick a server and count one more active connection on it."""
        candidates = _candidates(self._servers, among)
        with self._lock:
            server = self._choose(candidates)
            self._active[server] += 1
            return server

    def release(self, server: str) -> None:
        """End one connection on ``server``; ``ValueError`` if it has none active."""
        self._check(server)
        with self._lock:
            if self._active[server] == 0:
                raise ValueError(f"server {server!r} has no active connections to release")
            self._active[server] -= 1

    def active(self, server: str) -> int:
        """The number of active connections on ``server``."""
        self._check(server)
        return self._active[server]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._active!r})"


class PowerOfTwoChoices(LeastConnections):
    """Pick two distinct servers at random and take the one with fewer active connections.

    Nearly as good as least connections without looking at every server. Ties go to the
    earlier server in the pool's order; with one candidate, that one is taken.

    >>> p2c = PowerOfTwoChoices(["a", "b", "c"], rng=7)
    >>> p2c.acquire() in {"a", "b", "c"}
    True
    """

    def __init__(self, servers: Sequence[str], rng: random.Random | int | None = None) -> None:
        super().__init__(servers)
        if isinstance(rng, bool) or not (rng is None or isinstance(rng, int | random.Random)):
            raise TypeError(f"rng must be a random.Random, an int seed or None, got {rng!r}")
        self._rng = rng if isinstance(rng, random.Random) else random.Random(rng)
        self._order = {s: i for i, s in enumerate(self._servers)}

    def _choose(self, candidates: list[str]) -> str:
        if len(candidates) == 1:
            return candidates[0]
        pair = sorted(self._rng.sample(candidates, 2), key=self._order.__getitem__)
        return min(pair, key=self._active.__getitem__)


def _hash(data: str) -> int:
    """A stable 64-bit hash (md5 based): the same on every machine and every run."""
    return int.from_bytes(hashlib.md5(data.encode("utf-8")).digest()[:8], "big")


class ConsistentHash:
    """A hash ring: the same key always goes to the same server (sticky sessions by cookie or IP).

    Each server is placed on the ring at ``replicas`` points (virtual nodes); a key belongs to
    the first server point clockwise from the key's hash. Removing a server moves only the keys
    it owned; adding one takes only about ``1/n`` of the keys. The hash is md5, so every process
    and every run agree (Python's ``hash()`` is salted per process).

    >>> ring = ConsistentHash(["a", "b", "c"])
    >>> ring.pick("user-42") == ConsistentHash(["c", "b", "a"]).pick("user-42")
    True
    """

    def __init__(self, servers: Sequence[str], replicas: int = 100) -> None:
        self._replicas = _validate.integer("replicas", replicas, minimum=1, maximum=100_000)
        self._lock = threading.Lock()
        self._servers: list[str] = []
        self._ring: list[tuple[int, str]] = []
        self._points: list[int] = []
        for server in _server_list(servers):
            self.add(server)

    @property
    def servers(self) -> list[str]:
        return list(self._servers)

    def add(self, server: str) -> None:
        """Place ``server`` on the ring; ``ValueError`` if it is already there."""
        if not isinstance(server, str):
            raise TypeError(f"server must be a str, got {server!r}")
        with self._lock:
            if server in self._servers:
                raise ValueError(f"server {server!r} is already on the ring")
            self._servers.append(server)
            for i in range(self._replicas):
                bisect.insort(self._ring, (_hash(f"{server}#{i}"), server))
            self._points = [point for point, _ in self._ring]

    def remove(self, server: str) -> None:
        """Take ``server`` off the ring; ``ValueError`` if it is not there or is the last one."""
        with self._lock:
            if server not in self._servers:
                raise ValueError(f"server must be one of {self._servers!r}, got {server!r}")
            if len(self._servers) == 1:
                raise ValueError(f"cannot remove {server!r}: the ring needs at least one server")
            self._servers.remove(server)
            self._ring = [entry for entry in self._ring if entry[1] != server]
            self._points = [point for point, _ in self._ring]

    def pick(self, key: str, among: Collection[str] | None = None) -> str:
        """The server for ``key``; with ``among``, the first allowed server clockwise."""
        if not isinstance(key, str):
            raise TypeError(f"key must be a str (a cookie, user id or IP), got {key!r}")
        allowed = None if among is None else set(among)
        with self._lock:
            ring = self._ring
            start = bisect.bisect_left(self._points, _hash(key))
            for step in range(len(ring)):
                server = ring[(start + step) % len(ring)][1]
                if allowed is None or server in allowed:
                    return server
        raise NoServerAvailable(f"no server available among {sorted(allowed or ())!r}")

    def __repr__(self) -> str:
        return f"ConsistentHash({self._servers!r}, replicas={self._replicas})"
