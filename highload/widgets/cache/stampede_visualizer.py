"""The stampede visualizer of lesson 03: many readers of one hot key at its expiry, with no
protection, a single-flight lock or XFetch, drawn from :func:`highload.cache.simulation.stampede`."""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from highload import _simulate, _validate
from highload.cache.simulation import (
    DEFAULT_PROTECTIONS,
    PROTECTIONS,
    StampedeResult,
    _check_beta,
    _check_latency,
    _check_protections,
    _check_readers,
    stampede,
)

from .._errors import error_text
from .._panel import Panel
from .._style import BLUE, GREEN, GREY, PURPLE, RED

__all__ = ["StampedeVisualizer", "COLOURS", "LINES"]

COLOURS = {"none": RED, "lock": BLUE, "xfetch": GREEN, "xfetch + lock": PURPLE}
#: Line styles for the query lines: after a refresh several sit at 1 query, on top of each other.
LINES = {"none": {"width": 2}, "lock": {"width": 5}, "xfetch": {"width": 2.5, "dash": "dot"},
         "xfetch + lock": {"width": 2, "dash": "dashdot"}}


def _cumulative(times: tuple[float, ...], window: tuple[float, float]) -> tuple[list[float], list[int]]:
    """Step-line points for "queries started so far" across ``window``."""
    xs, ys = [window[0]], [0]
    for n, t in enumerate(times, start=1):
        xs.append(t)
        ys.append(n)
    xs.append(max(window[1], times[-1] if times else window[1]))
    ys.append(len(times))
    return xs, ys


class StampedeVisualizer(Panel):
    """Many readers of one hot key at its expiry: every database query, and every read that waited.

    Drag the number of readers, the database latency and XFetch's beta, and tick the
    protections to compare. Each change re-runs :func:`stampede` (the real
    :class:`~highload.cache.AsyncCacheAside` in simulated time; see
    :func:`simulate_stampede` for what is modelled) and redraws two charts against the
    expiry (the dashed line at 0): database queries started so far, and each read that
    was not answered at once, by when it started and how long it waited.
    """

    def __init__(
        self,
        readers: int = 50,
        protection: Iterable[str] = DEFAULT_PROTECTIONS,
        seed: int = 0,
        *,
        db_latency: float = 0.5,
        xfetch_beta: float = 1.0,
        db_connections: int = 8,
    ) -> None:
        readers = _check_readers(readers)
        picked = _check_protections(protection)
        self.seed = _simulate.check_seed(seed)
        db_latency = _check_latency(db_latency)
        xfetch_beta = _check_beta(xfetch_beta)
        self.db_connections = _validate.integer("db_connections", db_connections, minimum=1)
        #: The last results by protection (None while the controls are invalid).
        self.results: dict[str, StampedeResult] | None = None

        slider = {"continuous_update": False, "style": {"description_width": "initial"}}
        self.controls: dict[str, widgets.Widget] = {
            "readers": widgets.IntSlider(value=readers, min=1, max=max(200, readers), step=1,
                                         description="concurrent readers", **slider),
            "db_latency": widgets.FloatSlider(value=db_latency, min=0.1, max=max(2.0, db_latency), step=0.1,
                                              readout_format=".1f", description="DB query time (s)", **slider),
            "xfetch_beta": widgets.FloatSlider(value=xfetch_beta, min=0.25, max=max(2.0, xfetch_beta), step=0.25,
                                               readout_format=".2f", description="XFetch beta", **slider),
        }
        #: One checkbox per protection: tick it to run that one.
        self.picks: dict[str, widgets.Checkbox] = {
            name: widgets.Checkbox(value=name in picked, description=name, indent=False,
                                   layout=widgets.Layout(width="auto"))
            for name in PROTECTIONS
        }
        self.summary = widgets.HTML()
        self.summary.add_class("hl-stampede-readout")
        base = make_subplots(rows=1, cols=2, horizontal_spacing=0.1,
                             subplot_titles=("database queries started so far", "reads that waited"))
        self.figure = go.Figure(base)
        for name in PROTECTIONS:
            self.figure.add_trace(go.Scatter(name=name, meta="queries", mode="lines", x=[], y=[],
                                             line={"color": COLOURS[name], "shape": "hv", **LINES[name]}),
                                  row=1, col=1)
        for name in PROTECTIONS:
            self.figure.add_trace(go.Scatter(name=name, meta="waits", mode="markers", showlegend=False, x=[], y=[],
                                             marker={"color": COLOURS[name], "size": 7, "opacity": 0.7}),
                                  row=1, col=2)
        for col in (1, 2):
            self.figure.add_vline(x=0, line_dash="dash", line_color=GREY, row=1, col=col)
        self.figure.update_xaxes(title_text="seconds from expiry")
        self.figure.update_yaxes(title_text="queries", rangemode="tozero", row=1, col=1)
        self.figure.update_yaxes(title_text="wait (s)", rangemode="tozero", row=1, col=2)
        self.figure.update_layout(height=420, title_font_size=13, margin={"t": 70, "b": 50, "l": 60, "r": 20},
                                  legend={"orientation": "h", "y": -0.2})
        c = self.controls
        self.widget = widgets.VBox([
            widgets.HBox([c["readers"], c["db_latency"], c["xfetch_beta"]]),
            widgets.HBox(list(self.picks.values())),
            self.chart,
            self.summary,
        ])
        self._watch(*c.values(), *self.picks.values())
        self.update()

    def picked(self) -> tuple[str, ...]:
        """The protections whose checkbox is ticked."""
        return tuple(name for name in PROTECTIONS if self.picks[name].value)

    def settings(self) -> dict[str, Any]:
        c = self.controls
        return {"readers": c["readers"].value, "db_latency": round(c["db_latency"].value, 6),
                "xfetch_beta": round(c["xfetch_beta"].value, 6)}

    def _recompute(self) -> dict[str, StampedeResult] | None:
        """Re-run with the current controls and redraw; returns the results, or None."""
        try:
            picked = self.picked()
            if not picked:
                raise ValueError("tick at least one protection to run")
            results = stampede(picked, **self.settings(), db_connections=self.db_connections, seed=self.seed)
        except Exception as exc:
            self.results = None
            self._draw()
            self.summary.value = f"<span style='color:{RED}'>{html.escape(error_text(exc))}</span>"
            return None
        self.results = results
        self._draw()
        self.summary.value = self._summary_html(results)
        return results

    def numbers(self) -> dict[str, dict[str, list[float]]]:
        """What the charts show, per protection run: the step line of queries started so far
        (``query_x``, ``query_y``) and each read that waited (``wait_x``: start, ``wait_y``: wait)."""
        out = {}
        for name, r in (self.results or {}).items():
            qx, qy = _cumulative(r.queries, r.window)
            waits = r.waits
            out[name] = {"query_x": qx, "query_y": qy,
                         "wait_x": [w.start for w in waits], "wait_y": [w.wait for w in waits]}
        return out

    def _draw(self) -> None:
        shown = self.numbers()
        xs, ys, legend = [], [], []
        for trace in self.figure.data:
            got = shown.get(trace.name)
            if got is None:
                xs.append([])
                ys.append([])
            elif trace.meta == "queries":
                xs.append(got["query_x"])
                ys.append(got["query_y"])
            else:
                xs.append(got["wait_x"])
                ys.append(got["wait_y"])
            legend.append(trace.meta == "queries" and got is not None)
        self.figure.plotly_restyle({"x": xs, "y": ys, "showlegend": legend},
                                   trace_indexes=list(range(len(self.figure.data))))
        s = self.settings()
        self.figure.layout.title.text = (
            f"{s['readers']} readers of one hot key across its expiry; DB query {s['db_latency']:g} s, "
            f"{self.db_connections} DB connections, XFetch beta {s['xfetch_beta']:g}"
        ) if self.results else ""

    def _summary_html(self, results: dict[str, StampedeResult]) -> str:
        rows = []
        for name, r in results.items():
            first = "none" if r.first_query is None else f"{r.first_query:+.2f} s"
            waited = len({w.reader for w in r.waits})
            rows.append(
                f"<tr><td style='color:{COLOURS[name]}'><b>{html.escape(name)}</b></td><td>{r.loads}</td>"
                f"<td>{first}</td><td>{waited} of {r.readers}</td><td>{r.worst_wait:.2f} s</td>"
                f"<td>{len(r.reads):,}</td></tr>")
        return (
            "<style>.hl-stampede td, .hl-stampede th {padding: 2px 10px; text-align: right}</style>"
            "<table class='hl-stampede'><tr><th>protection</th><th>DB queries</th><th>first query</th>"
            "<th>readers who waited</th><th>worst wait</th><th>reads</th></tr>" + "".join(rows) + "</table>"
            "Times are relative to the expiry; a negative first query is a refresh before it."
        )

    def _label(self) -> str:
        return ", ".join(self.picked())
