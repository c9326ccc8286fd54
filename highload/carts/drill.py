"""Lesson 02's crash drill: where the carts live decides what one crashed server costs.

In-process and with the real parts: ``RoundRobin`` and ``ConsistentHash`` from
:mod:`highload.balancing` route the clicks, one ``InMemoryCartStore`` per server, or a
``RedisCartStore`` per server on one private fakeredis, holds the carts. Shoppers fill their
carts, open them, then shop-1 dies and they open them again. No extra is needed;
``highload.widgets.CartCrashDrill`` draws the results::

    from highload.carts.drill import crash_drill
    crash_drill("memory + sticky cookie").after
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import fakeredis

from highload import _simulate, _validate
from highload.balancing import ConsistentHash, RoundRobin
from highload.carts import InMemoryCartStore, RedisCartStore

__all__ = ["SETUPS", "DrillResult", "crash_drill"]

#: Where the carts live and how the balancer routes, in drawing order.
SETUPS = ("memory + round robin", "memory + sticky cookie", "Redis + round robin")
#: The cart TTL (seconds) of the Redis setup: long enough that no cart expires during a drill.
TTL = 3600
#: The server that dies.
VICTIM = "shop-1"



@dataclass(frozen=True)
class DrillResult:
    """One setup's drill: the share of ``shoppers`` who see their whole cart (all ``items``)
    before shop-1 dies, and after, when shop-1's shoppers are routed to the servers left."""

    setup: str
    servers: int
    items: int
    shoppers: int
    before: float
    after: float


def _default_store(redis) -> object:
    return RedisCartStore(redis, ttl=TTL)


def crash_drill(
    setup: str,
    servers: int = 3,
    items: int = 3,
    shoppers: int = 300,
    seed: int = 1,
    *,
    redis_store: Callable[[object], object] | None = None,
) -> DrillResult:
    """Crash shop-1 under ``setup`` (one of :data:`SETUPS`) and count the whole carts.

    Servers are ``shop-1`` to ``shop-{servers}``. Each of ``items`` rounds, every shopper adds
    one item (``SKU-0``, ``SKU-1``, ...), in an order shuffled per round, so many shoppers'
    clicks interleave at the balancer. Round robin sends each request to the next live server;
    the sticky cookie is a consistent hash of the shopper. Then every shopper opens their cart
    (again in a shuffled order), shop-1 dies, and they open it once more. The same ``seed``
    gives the same numbers.

    ``redis_store(redis_client)`` builds each server's store in the Redis setup (default
    ``RedisCartStore(redis_client, ttl=3600)``); every client talks to one private fakeredis.
    Any object with ``add_item(cart_id, sku, qty=1)`` and ``get_cart(cart_id) -> dict`` works.
    Its errors propagate, with a note naming the call.

    >>> r = crash_drill("memory + sticky cookie")
    >>> r.before, round(r.after, 2)
    (1.0, 0.69)
    """
    setup = _validate.choice("setup", setup, SETUPS)
    servers = _validate.integer("servers", servers, minimum=2)  # one must survive shop-1
    items = _validate.integer("items", items, minimum=1)
    shoppers = _validate.integer("shoppers", shoppers, minimum=1)
    seed = _simulate.check_seed(seed)
    if redis_store is not None and not callable(redis_store):
        raise TypeError(f"redis_store must be a function of a Redis client returning a cart store, "
                        f"got {redis_store!r}")

    names = [f"shop-{i}" for i in range(1, servers + 1)]
    if setup.startswith("Redis"):
        # Each server builds its own store, as each process would, on one shared Redis: a store
        # that keeps carts in its own memory instead of in Redis loses them here, as it would live.
        redis_server, make = fakeredis.FakeServer(), _default_store if redis_store is None else redis_store
        carts = {n: make(fakeredis.FakeRedis(server=redis_server)) for n in names}
    else:
        carts = {n: InMemoryCartStore() for n in names}
    ring, rr, alive = ConsistentHash(names), RoundRobin(names), list(names)
    sticky = "sticky" in setup

    def route(user: str) -> str:
        return ring.pick(user, among=alive) if sticky else rr.next(among=alive)

    # One rng for the clicks and the reads, drawn in this order: the lesson's numbers depend on it.
    users, rng = [f"user-{i}" for i in range(shoppers)], random.Random(seed)
    for k in range(items):
        rng.shuffle(users)  # many shoppers click at once: their requests interleave
        for user in users:
            store, sku = carts[route(user)], f"SKU-{k}"
            try:
                store.add_item(user, sku)
            except Exception as exc:
                exc.add_note(f"in {type(store).__name__}.add_item({user!r}, {sku!r}) ({setup})")
                raise

    def whole() -> float:
        rng.shuffle(users)
        seen = 0
        for user in users:
            store = carts[route(user)]
            try:
                seen += len(store.get_cart(user)) == items
            except Exception as exc:
                exc.add_note(f"in {type(store).__name__}.get_cart({user!r}) ({setup})")
                raise
        return seen / shoppers

    before = whole()
    alive.remove(VICTIM)
    return DrillResult(setup, servers, items, shoppers, before, whole())
