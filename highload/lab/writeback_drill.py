"""Lesson 03's write-back crash drill: random cart clicks through a :class:`WriteBackCache` until
the app "crashes" (the cache is dropped without a flush), then count what the database missed."""

from __future__ import annotations

import json
import random

from highload.cache import WriteBackCache
from highload.clock import ManualClock
from highload.lab.database import Database, Table

__all__ = ["crash_drill"]


def crash_drill(flush_interval: float, crash_at: float, shoppers: int = 100,
                clicks_per_second: float = 10, seed: int = 0) -> tuple[int, int]:
    """Random cart clicks until a crash at ``crash_at`` seconds (simulated time). Returns (clicks
    the database never got, DB queries made, i.e. flushes)."""
    store = Database()  # a fresh database without latency: only the counts matter here
    store.execute("CREATE TABLE carts (id TEXT PRIMARY KEY, items)")
    table = Table(store, "carts", ("items",))
    clock, rng = ManualClock(), random.Random(seed)
    cache = WriteBackCache(table, flush_interval=flush_interval, clock=clock)
    clicks: dict[str, int] = {}  # cart -> how many clicks it has had
    while clock() < crash_at:
        cart = f"cart-{rng.randrange(shoppers)}"
        clicks[cart] = clicks.get(cart, 0) + 1
        cache.write(cart, json.dumps({"clicks": clicks[cart]}))
        clock.advance(rng.expovariate(clicks_per_second))
    del cache  # the crash: no flush, no close
    flushes = store.queries - 1  # every query so far was a flush, but the CREATE TABLE
    saved = {cart: json.loads(table.load(cart) or '{"clicks": 0}')["clicks"] for cart in clicks}
    return sum(clicks[cart] - saved[cart] for cart in clicks), flushes
