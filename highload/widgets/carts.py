"""CartCrashDrill: where the carts live decides what one crashed server costs, with sliders.

Lesson 02's crash drill, in-process and with the real parts: ``RoundRobin`` and
``ConsistentHash`` from :mod:`highload.balancing` route the clicks, one ``InMemoryCartStore``
per server, or a ``RedisCartStore`` per server on one private fakeredis, holds the carts. Shoppers
fill their carts, open them, then shop-1 dies and they open them again. ``impl=`` puts the
learner's own RedisCartStore class in the Redis setup::

    from highload.widgets import CartCrashDrill
    CartCrashDrill(impl=MyRedisCartStore)
"""

from __future__ import annotations

import html
import random
from collections.abc import Callable
from dataclasses import dataclass

import fakeredis
import ipywidgets as widgets
import plotly.graph_objects as go

from highload import _validate
from highload.balancing import ConsistentHash, RoundRobin
from highload.carts import InMemoryCartStore, RedisCartStore

from ._errors import error_text
from ._panel import Panel

__all__ = ["SETUPS", "DrillResult", "crash_drill", "CartCrashDrill"]

#: Where the carts live and how the balancer routes, in drawing order.
SETUPS = ("memory + round robin", "memory + sticky cookie", "Redis + round robin")
#: The cart TTL (seconds) of the Redis setup: long enough that no cart expires during a drill.
TTL = 3600
#: The server that dies.
VICTIM = "shop-1"
#: Slider ranges; a value passed outside them widens them.
MAX_SERVERS, MAX_ITEMS = 10, 5
BEFORE, AFTER, GREY = "#1f77b4", "#d62728", "#7f7f7f"


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
    seed = _validate.integer("seed", seed, minimum=-(2**62))
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


class CartCrashDrill(Panel):
    """Sliders for servers and items per cart; each setup's whole carts before and after a crash.

    Every change re-runs :func:`crash_drill` for all :data:`SETUPS` and redraws two grouped bars:
    the share of shoppers who see their whole cart before shop-1 dies, and after. ``impl`` is a
    class (or factory) with the exercise contract ``RedisCartStore(redis, ttl)``, called as
    ``impl(redis_client, ttl=3600)`` for the Redis setup; if it raises, the error shows under
    the chart. Make the widget the last expression of a cell to display it.
    """

    def __init__(
        self,
        servers: int = 3,
        items: int = 3,
        shoppers: int = 300,
        *,
        impl: Callable[..., object] | None = None,
    ) -> None:
        if impl is not None and not callable(impl):
            raise TypeError(f"impl must be a cart store class such as RedisCartStore, got {impl!r}")
        self.impl = RedisCartStore if impl is None else impl
        servers = _validate.integer("servers", servers, minimum=2)
        items = _validate.integer("items", items, minimum=1)
        self.shoppers = _validate.integer("shoppers", shoppers, minimum=1)
        #: One result per setup from the last draw ([] while the impl raises).
        self.results: list[DrillResult] = []

        slider = {"continuous_update": False, "style": {"description_width": "initial"}}
        self.controls: dict[str, widgets.IntSlider] = {
            "servers": widgets.IntSlider(value=servers, min=2, max=max(MAX_SERVERS, servers),
                                         description="servers", **slider),
            "items": widgets.IntSlider(value=items, min=1, max=max(MAX_ITEMS, items),
                                       description="items per cart", **slider),
        }
        self.figure = go.FigureWidget(layout={
            "barmode": "group", "height": 360, "legend": {"orientation": "h", "y": -0.15},
            "margin": {"t": 60, "b": 40, "l": 60, "r": 20}, "title_font_size": 13,
            "yaxis": {"title": "shoppers who see their whole cart", "tickformat": ".0%", "range": [0, 1.05]},
        })
        self.figure.add_bar(name="before the crash", x=list(SETUPS), y=[], marker_color=BEFORE)
        self.figure.add_bar(name=f"after {VICTIM} dies", x=list(SETUPS), y=[], marker_color=AFTER)
        self.summary = widgets.HTML()
        self.summary.add_class("hl-crash-drill-readout")
        self.widget = widgets.VBox([
            widgets.HBox(list(self.controls.values())),
            self.figure,
            self.summary,
        ])
        self._watch(*self.controls.values())
        self.update()

    def _store(self, redis) -> object:
        return self.impl(redis, ttl=TTL)

    def compute(self) -> list[DrillResult]:
        """Every setup's drill for the current sliders (what :meth:`update` draws); raises what
        ``impl`` raises."""
        servers, items = self.controls["servers"].value, self.controls["items"].value
        return [crash_drill(setup, servers, items, self.shoppers, redis_store=self._store) for setup in SETUPS]

    def update(self) -> list[DrillResult] | None:
        """Re-run the drill with the current sliders and redraw; returns the results, or None on error."""
        name = html.escape(self._impl_name())
        try:
            results = self.compute()
        except Exception as exc:  # a learner's half-written class must not kill the widget
            self.results = []
            self._draw([])
            self.summary.value = (f"<span style='color:{AFTER}'><b>{name} raised</b> "
                                  f"{html.escape(error_text(exc))}</span>")
            return None
        self.results = results
        self._draw(results)
        shares = "; ".join(f"{html.escape(r.setup)} <b>{r.before:.0%}</b> → <b>{r.after:.0%}</b>"
                           for r in results)
        self.summary.value = (f"Whole carts before → after {VICTIM} dies: {shares} "
                              f"<span style='color:{GREY}'>(Redis carts through {name})</span>")
        return results

    def _draw(self, results: list[DrillResult]) -> None:
        before, after = self.figure.data
        servers, items = self.controls["servers"].value, self.controls["items"].value
        with self.figure.batch_update():
            # A batch sends one restyle for all traces, and a trace not given a property gets
            # null, which plotly.js reads as "back to the default": so both bars get their y.
            before.y = [r.before for r in results]
            after.y = [r.after for r in results]
            # .text: assigning a string would drop the title font
            self.figure.layout.title.text = (
                f"{servers} servers, {items} item{'s' if items != 1 else ''} per cart, "
                f"{self.shoppers} shoppers" if results else ""
            )
