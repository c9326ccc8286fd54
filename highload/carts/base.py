"""The protocol every server-side cart store meets, and the argument checks they share."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["CartStore", "MAX_QTY"]

#: The largest quantity one call may add or remove: Redis's HINCRBY works on signed 64-bit
#: integers. (The shop caps a single request far lower; that is a business rule, not the store's.)
MAX_QTY = 2**63 - 1


@runtime_checkable
class CartStore(Protocol):
    """A cart is a mapping from SKU to a positive quantity, kept under a cart id.

    ``add_item`` returns the SKU's new quantity; ``remove_item`` returns what is left of
    it (0 once removed). ``qty=None`` in ``remove_item`` removes the SKU whatever its
    quantity; a quantity that would drop to 0 or below removes it too. ``get_cart``
    returns ``{}`` for a cart it does not know.
    """

    def add_item(self, cart_id: str, sku: str, qty: int = 1) -> int: ...

    def remove_item(self, cart_id: str, sku: str, qty: int | None = None) -> int: ...

    def get_cart(self, cart_id: str) -> dict[str, int]: ...

    def clear(self, cart_id: str) -> None: ...


def text(name: str, value) -> str:
    """A non-empty string, or ValueError naming ``name`` and the value."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return value


def qty(value, name: str = "qty") -> int:
    """A positive int up to :data:`MAX_QTY`. ``bool`` is an int subclass and is refused."""
    if type(value) is not int:  # bool, str, float, numpy ints...: say so instead of coercing
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be a positive int, got {value!r}")
        value = int(value)
    if not 1 <= value <= MAX_QTY:
        raise ValueError(f"{name} must be an int in [1, {MAX_QTY}], got {value!r}")
    return value


def positive(name: str, value, maximum: float = 1e308) -> float:
    """A finite real number > 0, at most ``maximum`` (for TTLs and max ages). Carts refuse every
    bad argument with a ValueError, a str or a bool included."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number > 0, got {value!r}")
    if not 0 < value <= maximum:  # NaN, inf and 10**400 (no float can hold it) fail here too
        also = f" and at most {maximum:g} s (10 years: it is stored as a Redis TTL)" if maximum < 1e308 else ""
        raise ValueError(f"{name} must be a finite number > 0{also}, got {value!r}")
    return float(value)
