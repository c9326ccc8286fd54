"""Shopping-cart stores: where a user's cart lives when several servers answer them.

Three answers to the lesson's question, behind one :class:`CartStore` protocol:

- :class:`InMemoryCartStore` keeps carts in the server's RAM: the stateful anti-pattern,
  kept on purpose so the lesson can watch a cart vanish behind a load balancer;
- :class:`RedisCartStore` keeps them in one shared Redis hash per cart, with a TTL that
  every write refreshes (the lesson's recommended answer);
- :class:`TokenCartStore` makes the client carry the cart in a signed token: no server
  state, at the price of token bloat and carts that die when the token expires.
"""

from .base import MAX_QTY, CartStore
from .memory import InMemoryCartStore
from .redis_store import RedisCartStore
from .token import MAX_COOKIE_BYTES, CartTokenError, ExpiredCartToken, TokenCartStore

__all__ = [
    "CartStore",
    "InMemoryCartStore",
    "RedisCartStore",
    "TokenCartStore",
    "CartTokenError",
    "ExpiredCartToken",
    "MAX_QTY",
    "MAX_COOKIE_BYTES",
]
