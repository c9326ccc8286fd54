"""Carts in the server's own memory: the stateful anti-pattern, kept on purpose."""

from __future__ import annotations

import threading

from . import base

__all__ = ["InMemoryCartStore"]


class InMemoryCartStore:
    """Carts in a per-process dict (thread-safe). Fine for one process; wrong behind a load balancer.

    Every process has its own dict, so the cart a user filled on server A does not exist on
    server B: the next request the balancer sends to B sees an empty cart ("my cart
    vanished!"). A restart or a crash loses every cart, and sticky sessions only hide the
    problem until the sticky server dies. Use :class:`~highload.carts.RedisCartStore`
    (shared, with a TTL) or :class:`~highload.carts.TokenCartStore` (client-side) instead.

    It has no expiry either: abandoned carts stay until the process ends.
    """

    def __init__(self) -> None:
        self._carts: dict[str, dict[str, int]] = {}
        self._lock = threading.Lock()

    def add_item(self, cart_id: str, sku: str, qty: int = 1) -> int:
        base.text("cart_id", cart_id)
        base.text("sku", sku)
        qty = base.qty(qty)
        with self._lock:
            cart = self._carts.setdefault(cart_id, {})
            cart[sku] = cart.get(sku, 0) + qty
            return cart[sku]

    def remove_item(self, cart_id: str, sku: str, qty: int | None = None) -> int:
        base.text("cart_id", cart_id)
        base.text("sku", sku)
        if qty is not None:
            qty = base.qty(qty)
        with self._lock:
            cart = self._carts.get(cart_id)
            if cart is None:
                return 0
            left = 0 if qty is None else cart.get(sku, 0) - qty
            if left > 0:
                cart[sku] = left
                return left
            cart.pop(sku, None)
            if not cart:
                del self._carts[cart_id]
            return 0

    def get_cart(self, cart_id: str) -> dict[str, int]:
        base.text("cart_id", cart_id)
        with self._lock:
            return dict(self._carts.get(cart_id, {}))

    def clear(self, cart_id: str) -> None:
        base.text("cart_id", cart_id)
        with self._lock:
            self._carts.pop(cart_id, None)

    def __len__(self) -> int:
        """How many carts this process holds (and no other process can see)."""
        return len(self._carts)

    def __repr__(self) -> str:
        return f"InMemoryCartStore(carts={len(self._carts)})"
