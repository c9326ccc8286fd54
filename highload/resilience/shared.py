"""Share a breaker's transitions across processes and hosts through Redis.

Like OpenResty's ``lua_shared_dict``, but across hosts. Each process keeps its own window
(counting outcomes in Redis would put a round trip on every call); only transitions are
shared: when one process opens (or closes, or half-opens) a circuit it writes
``{state, at}`` to Redis, and every process looks at that record at most once per
``sync_interval`` seconds. The closed path therefore costs a clock read and a comparison;
a round trip happens once per interval, not once per call.

Every process must use the same clock for ``at`` to compare: a wall clock (``time.time``),
not ``time.monotonic``.

On Redis Cluster (redis-py's ``RedisCluster`` as ``client``) each breaker's record is one hash,
so it works as on one Redis; each breaker's name picks its slot. While a failover runs
(``CLUSTERDOWN``/``TRYAGAIN``) a publish or sync is skipped and logged, as for any outage:
the local breaker keeps deciding on its own.
"""

from __future__ import annotations

import logging

from highload import _validate

__all__ = ["RedisBreakerState"]

log = logging.getLogger("highload.resilience")


class RedisBreakerState:
    def __init__(self, client, *, prefix: str = "hl:cb:", sync_interval: float = 0.5) -> None:
        self.client, self.prefix = client, prefix
        self.sync_interval = _validate.number("sync_interval", sync_interval, minimum=0, inclusive=True)
        self._next_sync: dict[str, float] = {}
        self._seen: dict[str, float] = {}  # the newest transition time each breaker knows of

    def publish(self, breaker, state: str, at: float) -> None:
        self._seen[breaker.name] = at
        try:
            self.client.hset(self.prefix + breaker.name, mapping={"state": state, "at": repr(at)})
        except Exception as error:  # the local breaker keeps working when Redis does not
            log.warning("could not share breaker %r's %s: %s", breaker.name, state, error)

    def sync(self, breaker, now: float) -> None:
        """Adopt a newer transition made by another process (called under the breaker's lock)."""
        name = breaker.name
        if now < self._next_sync.get(name, float("-inf")):
            return
        self._next_sync[name] = now + self.sync_interval
        try:
            state, at = self.client.hmget(self.prefix + name, "state", "at")
        except Exception as error:
            log.warning("could not read breaker %r's shared state: %s", name, error)
            return
        if state is None or at is None:
            return
        at, state = float(at), state.decode() if isinstance(state, bytes) else state
        if at <= self._seen.get(name, float("-inf")):
            return
        self._seen[name] = at
        if state != breaker._state:
            breaker._transition(state, at, publish_shared=False)
