"""Lesson 02's look inside a signed cart token: read its payload without the secret, and forge
one (which the store must refuse), plus how a token grows with the cart."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

__all__ = ["read_payload", "forge", "token_sizes"]


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def read_payload(token: str) -> dict:
    """The token's payload, decoded with no secret at all: signed is not encrypted."""
    payload, _ = token.split(".")
    return json.loads(_b64decode(payload))


def forge(token: str, change: Callable[[dict], None]) -> str:
    """A token with ``change`` applied to its payload and the original signature kept."""
    body = read_payload(token)
    change(body)
    signature = token.split(".")[1]
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=") + "." + signature


def token_sizes(store, make_id: Callable[[int], str], items: int = 250) -> list[int]:
    """Bytes of the cookie holding a cart of 1, 2, … ``items`` distinct items (quantity 1 to 3),
    each id made by ``make_id(n)``."""
    cart: dict[str, int] = {}
    sizes = []
    for n in range(1, items + 1):
        cart[make_id(n)] = 1 + n % 3
        sizes.append(type(store).size(store.encode(cart)))
    return sizes
