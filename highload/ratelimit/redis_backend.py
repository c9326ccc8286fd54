"""Redis storage for keyed limiters: one atomic Lua script per check, run with EVALSHA.

``now`` comes from the limiter's injected clock, so the Redis path is as deterministic
under test as the memory one. With ``server_time=True`` the script reads Redis's own
``TIME`` instead: use it when app hosts' clocks may disagree (the price: tests can no
longer drive time, and every host depends on one server's clock).

The hot path is one round trip and little else: a policy's constant arguments are encoded
once, ``allow`` runs a variant of the script that replies with a single integer, and
redis-py uses hiredis (a core dependency) to pack commands and parse replies in C.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from redis.exceptions import NoScriptError

from highload import _validate

from . import scripts
from .decision import Decision
from .policies import Policy

__all__ = ["RedisBackend", "AsyncRedisBackend"]

_SERVER_TIME = b"server"
_PLAIN = (int, float)


def _encode(number: float) -> bytes:
    return repr(float(number)).encode()


class _Store:
    """One policy on one key prefix: everything about a check that does not change per call."""

    def __init__(self, backend, policy: Policy, clock: Callable[[], float], prefix: str) -> None:
        self.backend, self.policy, self.clock, self.prefix = backend, policy, clock, prefix
        self.limit = policy.params[0]
        self.params = tuple(_encode(p) for p in policy.params)
        self.multi_params = (policy.algorithm.encode(), *self.params)
        self.script = scripts.single(policy.algorithm)
        self.brief_script = scripts.single(policy.algorithm, brief=True)

    def now(self):
        return _SERVER_TIME if self.backend.server_time else self.clock()

    def args(self, cost: float) -> tuple:
        if type(cost) not in _PLAIN or cost <= 0:
            _validate.cost(cost)
        return (self.now(), cost, *self.params)

    def decision(self, allowed, remaining, retry, reset) -> Decision:
        return Decision(
            allowed=allowed == 1,
            limit=self.limit,
            remaining=int(remaining),
            retry_after=float(retry),
            reset_after=float(reset),
            policy=self.policy.name,
            window=self.policy.window,
        )


class _Base:
    default_clock = staticmethod(time.time)

    def __init__(self, client=None, *, server_time: bool = False) -> None:
        self.client = client if client is not None else self._connect()
        self.server_time = server_time

    @staticmethod
    def _multi(items: Sequence[tuple[_Store, str]], cost: float) -> tuple[list[str], list]:
        if type(cost) not in _PLAIN or cost <= 0:
            _validate.cost(cost)
        keys, argv = [], [items[0][0].now(), cost]
        for store, key in items:
            keys.append(store.prefix + key)
            argv.extend(store.multi_params)
        return keys, argv

    @staticmethod
    def _decisions(items, reply) -> list[Decision]:
        allowed = reply[0]
        return [store.decision(allowed, *reply[1 + 4 * i : 4 + 4 * i]) for i, (store, _) in enumerate(items)]


class RedisBackend(_Base):
    """Synchronous Redis storage. ``client`` defaults to :func:`highload.store.connect`."""

    @staticmethod
    def _connect():
        from highload.store import connect

        return connect()

    def bind(self, policy: Policy, clock: Callable[[], float], prefix: str) -> _SyncStore:
        return _SyncStore(self, policy, clock, prefix)

    def evalsha(self, script: scripts.Script, keys: Sequence[str], args: Sequence):
        try:
            return self.client.evalsha(script.sha, len(keys), *keys, *args)
        except NoScriptError:
            self.client.script_load(script.source)
            return self.client.evalsha(script.sha, len(keys), *keys, *args)

    def check_many(self, items, cost: float) -> list[Decision]:
        keys, argv = self._multi(items, cost)
        return self._decisions(items, self.evalsha(scripts.multi(), keys, argv))

    def allow_many(self, items, cost: float) -> bool:
        keys, argv = self._multi(items, cost)
        return self.evalsha(scripts.multi(brief=True), keys, argv) == 1


class _SyncStore(_Store):
    def allow(self, key: str, cost: float = 1) -> bool:
        # The hot path: one EVALSHA with pre-encoded arguments, a one-integer reply.
        if type(cost) not in _PLAIN or cost <= 0:
            _validate.cost(cost)
        now = _SERVER_TIME if self.backend.server_time else self.clock()
        try:
            reply = self.backend.client.evalsha(self.brief_script.sha, 1, self.prefix + key, now, cost, *self.params)
        except NoScriptError:
            self.backend.client.script_load(self.brief_script.source)
            return self.allow(key, cost)
        return reply == 1

    def check(self, key: str, cost: float = 1) -> Decision:
        return self.decision(*self.backend.evalsha(self.script, (self.prefix + key,), self.args(cost)))

    def reset(self, key: str) -> None:
        self.backend.client.delete(self.prefix + key)


class AsyncRedisBackend(_Base):
    """asyncio Redis storage. ``client`` defaults to :func:`highload.store.connect_async`."""

    @staticmethod
    def _connect():
        from highload.store import connect_async

        return connect_async()

    def bind(self, policy: Policy, clock: Callable[[], float], prefix: str) -> _AsyncStore:
        return _AsyncStore(self, policy, clock, prefix)

    async def evalsha(self, script: scripts.Script, keys: Sequence[str], args: Sequence):
        try:
            return await self.client.evalsha(script.sha, len(keys), *keys, *args)
        except NoScriptError:
            await self.client.script_load(script.source)
            return await self.client.evalsha(script.sha, len(keys), *keys, *args)

    async def check_many(self, items, cost: float) -> list[Decision]:
        keys, argv = self._multi(items, cost)
        return self._decisions(items, await self.evalsha(scripts.multi(), keys, argv))

    async def allow_many(self, items, cost: float) -> bool:
        keys, argv = self._multi(items, cost)
        return await self.evalsha(scripts.multi(brief=True), keys, argv) == 1


class _AsyncStore(_Store):
    async def allow(self, key: str, cost: float = 1) -> bool:
        return await self.backend.evalsha(self.brief_script, (self.prefix + key,), self.args(cost)) == 1

    async def check(self, key: str, cost: float = 1) -> Decision:
        return self.decision(*await self.backend.evalsha(self.script, (self.prefix + key,), self.args(cost)))

    async def reset(self, key: str) -> None:
        await self.backend.client.delete(self.prefix + key)
