"""Carts the client carries: a signed token, and no server state at all."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping

from highload import _validate

from . import base

__all__ = ["TokenCartStore", "CartTokenError", "ExpiredCartToken", "MAX_COOKIE_BYTES"]

#: Browsers guarantee about 4096 bytes per cookie (name, value and attributes together):
#: past that, a cart carried in a cookie no longer fits.
MAX_COOKIE_BYTES = 4096

_SIG_BYTES = hashlib.sha256().digest_size


class CartTokenError(ValueError):
    """The token is malformed, or its signature does not match: tampered with or forged."""


class ExpiredCartToken(CartTokenError):
    """The token was genuine but is older than ``max_age``: the cart it carried is gone."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenCartStore:
    """The cart travels with the client (in a cookie or header) as a signed token.

    A token is ``<payload>.<signature>``: the payload is compact JSON
    ``{"iat":<issued at>,"items":{"sku":qty,...}}`` in base64url, and the signature is
    HMAC-SHA256 of the payload under ``secret``, in base64url. Anyone can *read* a cart
    (it is signed, not encrypted); nobody without ``secret`` can change it.

    The servers keep nothing, so any server can answer any request. The lesson's price:

    - **token bloat**: every item makes every request bigger (see :meth:`size` and
      :data:`MAX_COOKIE_BYTES`);
    - **expiry**: a token older than ``max_age`` seconds is refused, and its cart is lost;
    - a client can replay an old (still valid) token, and the server cannot revoke one.

    **Mapping to** :class:`~highload.carts.CartStore`: the protocol's ``cart_id`` *is* the
    token, and since nothing is stored, every write returns the next token instead of a
    quantity: ``token = carts.add_item(token, "sku", 2)``. ``None`` (or ``""``) stands for
    the empty cart, and :meth:`clear` returns a fresh empty-cart token. Each write re-issues
    the token with a new issued-at, just as a Redis write refreshes the cart's TTL.

    ``clock`` gives wall-clock seconds (``time.time`` by default): tokens cross hosts, so it
    must be a clock every server shares, not a monotonic one.
    """

    def __init__(self, secret: bytes, max_age: float, clock: Callable[[], float] = time.time) -> None:
        if not isinstance(secret, bytes | bytearray) or not secret:
            shown = "b''" if isinstance(secret, bytes | bytearray) else type(secret).__name__
            # Never echo the secret itself: a str secret would end up in logs.
            raise ValueError(f"secret must be non-empty bytes (use 32 random bytes), got {shown}")
        self.clock = _validate.clock(clock)
        self._secret = bytes(secret)
        self.max_age = base.positive("max_age", max_age)

    # -- the token itself -------------------------------------------------------------
    def _sign(self, payload: str) -> bytes:
        return hmac.new(self._secret, payload.encode("ascii"), hashlib.sha256).digest()

    def encode(self, cart: Mapping[str, int]) -> str:
        """A token carrying ``cart`` (SKU → positive quantity), issued now."""
        if not isinstance(cart, Mapping):
            raise ValueError(f"cart must be a mapping of sku to quantity, got {cart!r}")
        items = {base.text("sku", sku): base.qty(n) for sku, n in cart.items()}
        body = {"iat": self.clock(), "items": items}
        payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
        return f"{payload}.{_b64(self._sign(payload))}"

    def decode(self, token: str) -> dict[str, int]:
        """The cart in ``token``.

        Raises :class:`CartTokenError` for a malformed or tampered token, and
        :class:`ExpiredCartToken` for a genuine one issued ``max_age`` seconds ago or more.
        """
        if not isinstance(token, str):
            raise CartTokenError(f"token must be a string, got {token!r}")
        payload, dot, sig = token.partition(".")
        try:
            given = _unb64(sig)
        except (binascii.Error, ValueError):
            given = b""
        if not dot or len(given) != _SIG_BYTES:
            raise CartTokenError("malformed cart token: expected <payload>.<signature> in base64url")
        try:
            expected = self._sign(payload)
        except UnicodeEncodeError:
            expected = b""
        if not hmac.compare_digest(given, expected):
            raise CartTokenError("cart token signature does not match: it was tampered with "
                                 "or signed with another secret")
        try:
            body = json.loads(_unb64(payload))
            issued, items = float(body["iat"]), dict(body["items"])
        except (ValueError, KeyError, TypeError) as exc:  # signed, so only a bug gets here
            raise CartTokenError(f"cart token payload is not a cart: {exc}") from None
        age = self.clock() - issued
        if age >= self.max_age:
            raise ExpiredCartToken(f"cart token expired: issued {age:g}s ago, max_age is "
                                   f"{self.max_age:g}s; start a new cart")
        return items

    @staticmethod
    def size(token: str) -> int:
        """The token's size in bytes: what every request carrying the cart pays."""
        return len(token.encode("utf-8"))

    # -- the CartStore operations, functional style -------------------------------------
    def _cart(self, token: str | None) -> dict[str, int]:
        return {} if token is None or token == "" else self.decode(token)

    def get_cart(self, token: str | None) -> dict[str, int]:
        """The cart ``token`` carries (``{}`` for ``None``)."""
        return self._cart(token)

    def add_item(self, token: str | None, sku: str, qty: int = 1) -> str:
        """The next token: ``token``'s cart with ``qty`` more of ``sku``."""
        base.text("sku", sku)
        qty = base.qty(qty)
        cart = self._cart(token)
        cart[sku] = cart.get(sku, 0) + qty
        return self.encode(cart)

    def remove_item(self, token: str | None, sku: str, qty: int | None = None) -> str:
        """The next token: ``qty`` fewer of ``sku`` (all of it for ``None``, or at 0 or below)."""
        base.text("sku", sku)
        if qty is not None:
            qty = base.qty(qty)
        cart = self._cart(token)
        left = 0 if qty is None else cart.get(sku, 0) - qty
        if left > 0:
            cart[sku] = left
        else:
            cart.pop(sku, None)
        return self.encode(cart)

    def clear(self, token: str | None = None) -> str:
        """A token for an empty cart (``token`` is ignored: there is nothing to delete)."""
        return self.encode({})

    def __repr__(self) -> str:
        return f"TokenCartStore(max_age={self.max_age:g})"
