"""RingExplorer (lesson 05): add and remove nodes, change vnodes, and watch the keys move and
the per-node load bars change. It draws :mod:`highload.sharding.explore`, on the package's
ring or a learner's (``impl=``)."""

from __future__ import annotations

import html
from collections.abc import Callable

import ipywidgets as widgets
import plotly.graph_objects as go

from highload import _simulate, _validate
from highload.sharding.explore import MAX_NODES, RingSnapshot, snapshot

from ._errors import error_text
from ._panel import Panel
from ._style import BLUE, GREY, ORANGE, RED

__all__ = ["RingExplorer", "VNODE_STOPS"]

VNODE_STOPS = (1, 2, 5, 10, 20, 50, 100, 200, 500)


class RingExplorer(Panel):
    """Sliders for the number of nodes and vnodes per node; bars of keys per node.

    Each change re-routes the same ``keys`` keys and compares with the previous layout: the
    orange part of a bar is the keys that just moved onto that node, and the summary gives the
    moved fraction against the ideal (1/(N+1) for adding one node) and the peak-to-mean load.
    ``impl`` is a class with the exercise contract ``ConsistentHashRing(nodes, vnodes=...)``
    and ``get_node(key)``; if it raises, the error shows under the chart instead.
    """

    _default_impl_name = "ConsistentHashRing"

    def __init__(self, nodes: int = 4, vnodes: int = 100, keys: int = 5000,
                 impl: Callable[..., object] | None = None) -> None:
        nodes = _validate.integer("nodes", nodes, minimum=1)
        if nodes > MAX_NODES:
            raise ValueError(f"nodes must be <= {MAX_NODES}, got {nodes}")
        vnodes = _validate.integer("vnodes", vnodes, minimum=1)
        self.keys = [f"user:{i}" for i in range(_validate.integer("keys", keys, minimum=10))]
        _simulate.check_impl(impl, "a class like ConsistentHashRing(nodes, vnodes=...)")
        self.impl = impl
        #: The layout drawn now and the one before it (None until there is one).
        self.current: RingSnapshot | None = None
        self.previous: RingSnapshot | None = None
        self.impl_error = ""

        slider = {"continuous_update": False, "style": {"description_width": "initial"}}
        self.controls = {
            "nodes": widgets.IntSlider(value=nodes, min=1, max=max(12, nodes), description="nodes", **slider),
            "vnodes": widgets.SelectionSlider(options=sorted(set(VNODE_STOPS) | {vnodes}), value=vnodes,
                                              description="vnodes per node", **slider),
        }
        self.summary = widgets.HTML()
        self.summary.add_class("hl-ring-explorer-readout")
        self.figure = go.Figure()
        self.figure.add_trace(go.Bar(name="keys that stayed", x=[], y=[], marker_color=BLUE))
        self.figure.add_trace(go.Bar(name="keys that just moved here", x=[], y=[], marker_color=ORANGE))
        self.figure.add_trace(go.Scatter(name="even share", x=[], y=[], mode="lines",
                                         line={"color": GREY, "dash": "dot"}))
        self.figure.update_layout(barmode="stack", height=380, title_font_size=13,
                                  margin={"t": 60, "b": 40, "l": 60, "r": 20},
                                  yaxis_title="keys", legend={"orientation": "h", "y": -0.15})
        self.widget = widgets.VBox([widgets.HBox(list(self.controls.values())), self.chart, self.summary])
        self._watch(*self.controls.values())
        self.update()

    def compute(self) -> RingSnapshot:
        return snapshot(self.controls["nodes"].value, self.controls["vnodes"].value, self.keys, impl=self.impl)

    def _recompute(self) -> RingSnapshot | None:
        try:
            result = self.compute()
        except Exception as exc:  # a learner's half-written class must not kill the widget
            self.impl_error = error_text(exc)
            self.summary.value = (f"<span style='color:{RED}'><b>{html.escape(self._impl_name())} raised</b> "
                                  f"{html.escape(self.impl_error)}</span>")
            return None
        self.impl_error = ""
        self.previous, self.current = self.current, result
        self._draw()
        return result

    def moved(self) -> dict[tuple[str, str], int]:
        """Keys that changed owner in the last change (empty on the first layout)."""
        if self.previous is None or self.current is None:
            return {}
        return self.current.moved_from(self.previous)

    def _draw(self) -> None:
        now = self.current
        assert now is not None
        moved_in = {n: 0 for n in now.nodes}
        for (_, target), count in self.moved().items():
            moved_in[target] += count
        loads = now.loads
        names = list(now.nodes)
        stayed = [loads[n] - moved_in[n] for n in names]
        arrived = [moved_in[n] for n in names]
        even = len(self.keys) / len(names)
        self.figure.plotly_restyle({"x": [names, names, names], "y": [stayed, arrived, [even] * len(names)]},
                                   trace_indexes=[0, 1, 2])
        moved = sum(self.moved().values())
        title = (f"{self._impl_name()}: {len(names)} nodes x {now.vnodes} vnodes, "
                 f"{len(self.keys):,} keys, peak-to-mean {now.peak_to_mean:.2f}")
        self.figure.layout.title.text = title
        parts = [f"Busiest node holds <b>{max(loads.values()):,}</b> keys; an even share is {even:,.0f} "
                 f"(peak-to-mean <b>{now.peak_to_mean:.2f}</b>)."]
        if self.previous is not None:
            before, after = set(self.previous.nodes), set(now.nodes)
            ideal = _ideal(len(before), len(after)) if before != after else 0.0
            parts.append(f"The last change moved <b>{moved:,}</b> keys (<b>{moved / len(self.keys):.1%}</b>; "
                         f"the least possible is {ideal:.1%}; <code>% N</code> would move about "
                         f"{_modulo_moved(len(before), len(after)):.0%}).")
        self.summary.value = " ".join(parts)


def _ideal(before: int, after: int) -> float:
    return abs(after - before) / max(before, after)


def _modulo_moved(before: int, after: int) -> float:
    # The share of keys k with k % before != k % after, over one full period of both.
    if before == after:
        return 0.0
    from math import lcm

    period = lcm(before, after)
    return sum(k % before != k % after for k in range(period)) / period
