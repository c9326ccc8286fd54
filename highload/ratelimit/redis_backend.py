"""Redis storage for keyed limiters: one atomic Lua script per check, run with EVALSHA.

``now`` comes from the limiter's injected clock, so the Redis path is as deterministic
under test as the memory one. With ``server_time=True`` the script reads Redis's own
``TIME`` instead: use it when app hosts' clocks may disagree (the price: tests can no
longer drive time, and every host depends on one server's clock).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from redis.exceptions import NoScriptError

from . import _validate, scripts
from .decision import Decision
from .policies import Policy

__all__ = ["RedisBackend", "AsyncRedisBackend"]


class _Base:
    default_clock = staticmethod(time.time)

    def __init__(self, client=None, *, server_time: bool = False) -> None:
        self.client = client if client is not None else self._connect()
        self.server_time = server_time

    def _multi_args(self, items, cost: float) -> tuple[list[str], list]:
        keys, argv = [], [None, cost]
        for store, key in items:
            keys.append(store.prefix + key)
            argv.extend((store.policy.algorithm, *store.params))
        clock = items[0][0].clock
        argv[0] = "server" if self.server_time else clock()
        return keys, argv


def _decision(store: _Store, allowed, remaining, retry, reset) -> Decision:
    return Decision(
        allowed=bool(allowed),
        limit=store.params[0],
        remaining=int(remaining),
        retry_after=float(retry),
        reset_after=float(reset),
        policy=store.policy.name,
        window=store.policy.window,
    )


def _multi_decisions(items, reply) -> list[Decision]:
    allowed = reply[0]
    return [
        _decision(store, allowed, *reply[1 + 4 * i : 4 + 4 * i])
        for i, (store, _key) in enumerate(items)
    ]


class _Store:
    def __init__(self, backend: _Base, policy: Policy, clock: Callable[[], float], prefix: str) -> None:
        self.backend, self.policy, self.clock, self.prefix = backend, policy, clock, prefix
        self.params = policy.params
        self.script = scripts.single(policy.algorithm)

    def _args(self, cost: float) -> tuple:
        if type(cost) not in (int, float) or cost <= 0:
            _validate.cost(cost)
        now = "server" if self.backend.server_time else self.clock()
        return (now, cost, *self.params)


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
        keys, argv = self._multi_args(items, cost)
        return _multi_decisions(items, self.evalsha(scripts.multi(), keys, argv))


class _SyncStore(_Store):
    def allow(self, key: str, cost: float = 1) -> bool:
        return self.backend.evalsha(self.script, (self.prefix + key,), self._args(cost))[0] == 1

    def check(self, key: str, cost: float = 1) -> Decision:
        reply = self.backend.evalsha(self.script, (self.prefix + key,), self._args(cost))
        return _decision(self, *reply)

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
        keys, argv = self._multi_args(items, cost)
        return _multi_decisions(items, await self.evalsha(scripts.multi(), keys, argv))


class _AsyncStore(_Store):
    async def allow(self, key: str, cost: float = 1) -> bool:
        reply = await self.backend.evalsha(self.script, (self.prefix + key,), self._args(cost))
        return reply[0] == 1

    async def check(self, key: str, cost: float = 1) -> Decision:
        reply = await self.backend.evalsha(self.script, (self.prefix + key,), self._args(cost))
        return _decision(self, *reply)

    async def reset(self, key: str) -> None:
        await self.backend.client.delete(self.prefix + key)
