"""Lesson 04's widget: watch a router (the package's, or the learner's own) route reads while
the replicas lag.

The runs are :func:`highload.replication.experiments.timeline` (no extra needed): a seeded
read-heavy workload on a ManualClock, so the same sliders always draw the same picture::

    from highload.widgets.replication import LagTimeline
    LagTimeline(impl=SessionRouter, lags=(0.5, 2.0))
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence

import ipywidgets as widgets
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from highload.replication.experiments import Timeline, timeline

from ._errors import error_text
from ._panel import Panel
from ._style import BLUE, GREEN, GREY, ORANGE, PURPLE, RED

__all__ = ["LagTimeline", "Timeline", "timeline"]

NODE_COLOURS = (BLUE, ORANGE, PURPLE, GREY)


class LagTimeline(Panel):
    """Sliders for each replica's lag and the write share; a timeline of writes and reads per
    node with stale reads in red, each node's log position over time, and the counters.

    ``impl`` is any class with the exercise's contract, ``impl(primary, replicas)`` with
    ``write(session, key, value)`` and ``read(session, key)`` (default
    :class:`highload.replication.SessionRouter`). If it raises, the error shows under the plot.
    """

    _default_impl_name = "SessionRouter"

    def __init__(self, impl: Callable | None = None, *, lags: Sequence[float] = (0.5, 2.0),
                 write_share: float = 0.1, duration: float = 10.0, seed: int = 0) -> None:
        self.impl = impl
        self.duration = duration
        self.seed = seed
        #: The last successful run (None while the impl raises).
        self.result: Timeline | None = None
        self.controls: dict[str, widgets.Widget] = {
            f"lag{i}": widgets.FloatSlider(value=lag, min=0.0, max=max(5.0, lag), step=0.1,
                                           description=f"replica{i + 1} lag", continuous_update=False,
                                           style={"description_width": "initial"})
            for i, lag in enumerate(lags)}
        self.controls["write_share"] = widgets.FloatSlider(
            value=write_share, min=0.0, max=1.0, step=0.05, description="write share",
            continuous_update=False, style={"description_width": "initial"})
        nodes = ["primary", *(f"replica{i + 1}" for i in range(len(lags)))]
        self.figure = go.Figure(make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.55, 0.45],
                                                    vertical_spacing=0.08))
        self.figure.add_scatter(name="write", mode="markers", marker={"color": BLUE, "symbol": "square", "size": 7},
                                row=1, col=1)
        self.figure.add_scatter(name="fresh read", mode="markers", marker={"color": GREEN, "size": 6}, row=1, col=1)
        self.figure.add_scatter(name="stale read", mode="markers", marker={"color": RED, "symbol": "x", "size": 9},
                                row=1, col=1)
        for i, node in enumerate(nodes):
            self.figure.add_scatter(name=f"{node} position", mode="lines", line={"color": NODE_COLOURS[i % 4],
                                    "shape": "hv"}, row=2, col=1)
        self.figure.update_layout(height=480, margin={"t": 50, "b": 40, "l": 70, "r": 20})
        self.figure.update_yaxes(categoryorder="array", categoryarray=nodes[::-1], row=1, col=1)
        self.figure.update_yaxes(title_text="applied position", row=2, col=1)
        self.figure.update_xaxes(title_text="time (s)", row=2, col=1)
        self.summary = widgets.HTML()
        self.widget = widgets.VBox([widgets.HBox(list(self.controls.values())), self.chart, self.summary])
        self._watch(*self.controls.values())
        self.update()

    def lags(self) -> list[float]:
        return [c.value for name, c in self.controls.items() if name.startswith("lag")]

    def _recompute(self) -> Timeline | None:
        """Run with the current sliders and redraw; returns the run, or None on error."""
        try:
            result = timeline(self.impl, lags=self.lags(), write_share=self.controls["write_share"].value,
                              duration=self.duration, seed=self.seed)
        except Exception as exc:  # a learner's half-written class must not kill the widget
            self.result = None
            self._draw(None)
            self.summary.value = (f"<span style='color:{RED}'><b>{html.escape(self._impl_name())} raised</b> "
                                  f"{html.escape(error_text(exc))}</span>")
            return None
        self.result = result
        self._draw(result)
        self.summary.value = (
            f"<b>{html.escape(self._impl_name())}</b>: {result.reads} reads, "
            f"<b>{result.replica_share:.0%}</b> on replicas, "
            f"<b style='color:{RED if result.stale_reads else GREEN}'>{result.stale_reads} stale</b>; "
            f"counters {html.escape(str(result.stats))}")
        return result

    def _draw(self, result: Timeline | None) -> None:
        writes, fresh, stale, *lines = self.figure.data
        with self.figure.batch_update():
            if result is None:
                for trace in (writes, fresh, stale, *lines):
                    trace.x, trace.y = [], []
                return
            for trace, pick in ((writes, lambda o: o.kind == "write"),
                                (fresh, lambda o: o.kind == "read" and not o.stale),
                                (stale, lambda o: o.stale)):
                ops = [o for o in result.ops if pick(o)]
                trace.x = [o.time for o in ops]
                trace.y = [o.node for o in ops]
                trace.text = [f"session {o.session}" for o in ops]
            for line, node in zip(lines, result.nodes, strict=False):
                points = result.positions.get(node, [])
                line.x = [t for t, _ in points]
                line.y = [p for _, p in points]
            lags = ", ".join(f"{lag:g} s" for lag in self.lags())
            self.figure.layout.title = f"{self._impl_name()}: replicas {lags} behind"
