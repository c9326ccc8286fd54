"""Carts in Redis: one hash per cart, shared by every server, expiring when abandoned."""

from __future__ import annotations

import math
from functools import cache

from highload import _lua, _validate

from . import base

__all__ = ["RedisCartStore"]

KEY_PREFIX = "cart:"


@cache
def _source(name: str) -> str:
    return _lua.read(__package__, name)


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisCartStore:
    """Each cart is the Redis hash ``cart:{cart_id}`` (field = SKU, value = quantity).

    Every server reads and writes the same hash, so the load balancer may send each
    request anywhere. Every write (add or remove) resets the cart's TTL to ``ttl``
    seconds: an active cart lives on, an abandoned one expires by itself.

    - ``add_item`` is ``HINCRBY`` + ``PEXPIRE`` in one MULTI/EXEC transaction: HINCRBY is
      atomic on its own, and the transaction makes the TTL refresh part of the same write.
    - ``remove_item`` must read the quantity before it decides between HSET and HDEL, so
      it is the Lua script ``lua/remove_item.lua`` (redis-py's ``register_script``, run
      with EVALSHA): a script runs without interleaving, with no retry loop, in one round trip. WATCH/MULTI would also
      be correct but costs two round trips and retries under contention.

    Works with clients made with ``decode_responses`` True or False, and on Redis Cluster
    (redis-py's ``RedisCluster``): every operation touches one cart's one key, so the
    transaction and the script each stay on that key's slot (the key has no ``{hash tag}``:
    ``{cart_id}`` above is a placeholder, and carts spread over every slot).
    """

    def __init__(self, redis, ttl: float) -> None:
        ttl = base.positive("ttl", ttl, maximum=_validate.TTL_MAX)
        self.redis = redis
        self.ttl = ttl
        # Floor, so PTTL never exceeds ttl * 1000; at least 1 ms, since PEXPIRE 0 deletes.
        self._ttl_ms = max(1, math.floor(ttl * 1000))
        self._remove = redis.register_script(_source("remove_item"))

    @staticmethod
    def key(cart_id: str) -> str:
        """The Redis key holding ``cart_id``."""
        return KEY_PREFIX + base.text("cart_id", cart_id)

    def add_item(self, cart_id: str, sku: str, qty: int = 1) -> int:
        key = self.key(cart_id)
        base.text("sku", sku)
        qty = base.qty(qty)
        pipe = self.redis.pipeline(transaction=True)
        pipe.hincrby(key, sku, qty)
        pipe.pexpire(key, self._ttl_ms)
        new, _ = pipe.execute()
        return int(new)

    def remove_item(self, cart_id: str, sku: str, qty: int | None = None) -> int:
        key = self.key(cart_id)
        base.text("sku", sku)
        amount = "" if qty is None else base.qty(qty)
        # redis-py's Script: EVALSHA, and on NOSCRIPT (first use, SCRIPT FLUSH) load and retry.
        return int(self._remove((key,), (sku, amount, self._ttl_ms)))

    def get_cart(self, cart_id: str) -> dict[str, int]:
        raw = self.redis.hgetall(self.key(cart_id))
        return {_text(sku): int(n) for sku, n in raw.items()}

    def clear(self, cart_id: str) -> None:
        self.redis.delete(self.key(cart_id))

    def __repr__(self) -> str:
        return f"RedisCartStore(ttl={self.ttl:g})"
