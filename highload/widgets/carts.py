"""CartCrashDrill: where the carts live decides what one crashed server costs, with sliders.

It draws lesson 02's crash drill, :func:`highload.carts.drill.crash_drill` (re-exported here):
the real balancers route the clicks and the real cart stores hold the carts; shop-1 dies and the
shoppers open their carts again. ``impl=`` puts the learner's own RedisCartStore class in the
Redis setup::

    from highload.widgets import CartCrashDrill
    CartCrashDrill(impl=MyRedisCartStore)
"""

from __future__ import annotations

import html
from collections.abc import Callable

import ipywidgets as widgets
import plotly.graph_objects as go

from highload import _simulate, _validate
from highload.carts import RedisCartStore
from highload.carts.drill import SETUPS, TTL, VICTIM, DrillResult, crash_drill

from ._errors import error_text
from ._panel import Panel
from ._style import BLUE, GREY, RED

__all__ = ["SETUPS", "DrillResult", "crash_drill", "CartCrashDrill",
           # kept importable from here since the drill moved to highload.carts.drill
           "TTL", "VICTIM"]

#: What ``impl=`` must be, for the error when it is not.
CONTRACT = "a cart store class such as RedisCartStore"
#: Slider ranges; a value passed outside them widens them.
MAX_SERVERS, MAX_ITEMS = 10, 5
BEFORE, AFTER = BLUE, RED


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
        _simulate.check_impl(impl, CONTRACT)
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
        self.figure = go.Figure(layout={
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
            self.chart,
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

    def _recompute(self) -> list[DrillResult] | None:
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
            before.y = [r.before for r in results]
            after.y = [r.after for r in results]
            # .text: assigning a string would drop the title font
            self.figure.layout.title.text = (
                f"{servers} servers, {items} item{'s' if items != 1 else ''} per cart, "
                f"{self.shoppers} shoppers" if results else ""
            )
