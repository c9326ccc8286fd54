"""LoadBalancerRace: balancers (or the learner's own) race on the same requests to uneven servers.

It draws :func:`highload.balancing.race.race` (re-exported here): each algorithm drives the
seeded SimPy simulation of :func:`highload.balancing.simulate`, with the same Poisson arrivals and
the same request sizes for every entry, so the only difference between two bars is the balancer.
A run is a fixed number of requests, so a redraw takes a fraction of a second whatever the load::

    from highload.widgets import LoadBalancerRace
    LoadBalancerRace(server_speeds=(1, 1, 4), load=0.9, impl=MyLeastConnections)
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Sequence

import ipywidgets as widgets
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from highload import _simulate, _validate
from highload.balancing.race import (
    ALGORITHMS,
    CONTRACT,
    DEFAULT_ALGORITHMS,
    MAX_SERVERS,
    YOURS,
    RaceResult,
    _algorithms,
    _requests,
    _speeds,
    parse_speeds,
    race,
    race_impl,
    weights_for,
)

from ._errors import error_text
from ._panel import Panel
from ._style import BLUE, GREEN, GREY, ORANGE, PURPLE, RED

__all__ = [
    "ALGORITHMS",
    "DEFAULT_ALGORITHMS",
    "YOURS",
    "RaceResult",
    "weights_for",
    "race",
    "race_impl",
    "LoadBalancerRace",
    # kept importable from here since the race moved to highload.balancing.race
    "MAX_SERVERS",
    "parse_speeds",
]

PERCENTILES = ("p50", "p95", "p99")
#: Tick marks for the latency axis: 1-2-5 steps, so a log axis never shows bare minor digits.
LOG_TICKS = [m * 10**e for e in range(-3, 5) for m in (1, 2, 5)]
COLOURS = {"round robin": RED, "weighted round robin": ORANGE, "least connections": BLUE,
           "power of two": GREEN, YOURS: PURPLE}


# -- the widget ---------------------------------------------------------------------------------


class LoadBalancerRace(Panel):
    """Balancers race on the same requests: which share each server gets, and the latency tail.

    Pick algorithms with the checkboxes, type the server speeds (requests per second each) and
    drag the load (a fraction of the servers' total capacity). Every change re-runs
    :func:`race` and redraws two bar charts: each server's share of the requests next to its
    share of the capacity (the diamonds), and p50/p95/p99 latency per algorithm on a log scale.

    ``impl`` is a learner's balancer class (see :func:`race_impl`), raced as "your balancer";
    if it raises, the error shows under the charts and the other entries still run. Make the
    widget the last expression of a cell to display it.
    """

    def __init__(
        self,
        algorithms: Iterable[str] = DEFAULT_ALGORITHMS,
        server_speeds: Sequence[float] = (1, 1, 4),
        load: float = 0.9,
        seed: int = 0,
        impl: Callable[..., object] | None = None,
        *,
        requests: int = 2000,
    ) -> None:
        picked = _algorithms(algorithms)
        speeds = _speeds(server_speeds)
        load = _validate.finite_positive("load", load)
        _simulate.check_impl(impl, CONTRACT)
        self.impl = impl
        self.seed, self.requests = _simulate.check_seed(seed), _requests(requests)
        #: The last results by entry name (None while the controls are invalid).
        self.results: dict[str, RaceResult] | None = None
        #: The last error of ``impl`` as text ("" when it ran).
        self.impl_error = ""
        self.speeds = speeds
        self.entries = (*ALGORITHMS, YOURS) if impl is not None else ALGORITHMS

        slider = {"continuous_update": False, "style": {"description_width": "initial"}}
        self.controls: dict[str, widgets.Widget] = {
            "load": widgets.FloatSlider(
                value=load, min=0.1, max=max(1.2, load), step=0.05, readout_format=".0%",
                description="load (share of capacity)", **slider),
            "server_speeds": widgets.Text(
                value=", ".join(f"{s:g}" for s in speeds), description="server speeds (req/s)",
                placeholder="one per server, e.g. 1, 1, 4", continuous_update=False,
                style={"description_width": "initial"}, layout=widgets.Layout(width="45%")),
        }
        #: One checkbox per entry: tick it to race that balancer.
        self.picks: dict[str, widgets.Checkbox] = {
            name: widgets.Checkbox(value=name in picked or name == YOURS, description=name, indent=False,
                                   layout=widgets.Layout(width="auto"))
            for name in self.entries
        }
        self.summary = widgets.HTML()
        base = make_subplots(rows=1, cols=2, column_widths=[0.45, 0.55], horizontal_spacing=0.1,
                             subplot_titles=("share of requests per server", "latency (queue + service)"))
        self.figure = go.Figure(base)
        for name in self.entries:
            self.figure.add_trace(go.Bar(name=name, meta="share", x=[], y=[],
                                         marker_color=COLOURS[name]), row=1, col=1)
        self.figure.add_trace(go.Scatter(
            name="share of capacity", meta="capacity", mode="markers", x=[], y=[],
            marker={"symbol": "diamond", "size": 11, "color": "black", "line": {"color": "white", "width": 1}},
        ), row=1, col=1)
        for name in self.entries:
            self.figure.add_trace(go.Bar(name=name, meta="latency", showlegend=False,
                                         x=[], y=[], marker_color=COLOURS[name]), row=1, col=2)
        self.figure.update_yaxes(title_text="share of requests", tickformat=".0%", row=1, col=1)
        self.figure.update_yaxes(title_text="seconds (log scale)", type="log", row=1, col=2,
                                 tickvals=LOG_TICKS, ticktext=[f"{v:g}" for v in LOG_TICKS])
        self.figure.update_layout(barmode="group", height=420, title_font_size=13,
                                  margin={"t": 70, "b": 40, "l": 60, "r": 20},
                                  legend={"orientation": "h", "y": -0.12})
        c = self.controls
        self.widget = widgets.VBox([
            widgets.HBox([c["load"], c["server_speeds"]]),
            widgets.HBox(list(self.picks.values())),
            self.chart,
            self.summary,
        ])
        self._watch(*c.values(), *self.picks.values())
        self.update()

    def picked(self) -> tuple[str, ...]:
        """The built-in algorithms whose checkbox is ticked."""
        return tuple(name for name in ALGORITHMS if self.picks[name].value)

    def _recompute(self) -> dict[str, RaceResult] | None:
        """Re-run the race with the current controls and redraw; returns the results, or None."""
        c = self.controls
        self.impl_error = ""
        try:
            self.speeds = parse_speeds(c["server_speeds"].value)
            load = c["load"].value
            picked = self.picked()
            with_impl = self.impl is not None and self.picks[YOURS].value
            if not picked and not with_impl:
                raise ValueError("tick at least one balancer to race")
            results = race(picked, self.speeds, load, requests=self.requests, seed=self.seed) if picked else {}
        except Exception as exc:
            self.results = None
            self._draw()
            self.summary.value = f"<span style='color:{RED}'>{html.escape(error_text(exc))}</span>"
            return None
        if with_impl:
            try:
                results[YOURS] = race_impl(self.impl, self.speeds, load, requests=self.requests, seed=self.seed)
            except Exception as exc:  # a learner's half-written class must not kill the widget
                self.impl_error = error_text(exc)
        self.results = results
        self._draw()
        self.summary.value = self._summary_html(load)
        return results

    def numbers(self) -> dict:
        """What the charts show, from the last run: server labels, capacity shares, and per entry
        the request shares and ``(p50, p95, p99)`` in seconds. Entries not raced are absent."""
        total = sum(self.speeds)
        results = self.results or {}
        return {
            "servers": [f"s{i} ({s:g}/s)" for i, s in enumerate(self.speeds)],
            "capacity_share": [s / total for s in self.speeds],
            "shares": {name: list(r.shares) for name, r in results.items()},
            "latency": {name: list(r.percentiles) for name, r in results.items()},
        }

    def _draw(self) -> None:
        shown = self.numbers()
        xs, ys, legend = [], [], []
        for trace in self.figure.data:
            name, raced = trace.name, trace.name in shown["shares"]
            if trace.meta == "capacity":
                x, y = (shown["servers"], shown["capacity_share"]) if self.results is not None else ([], [])
            elif trace.meta == "share":
                x, y = (shown["servers"], shown["shares"][name]) if raced else ([], [])
            else:
                x, y = (list(PERCENTILES), shown["latency"][name]) if raced else ([], [])
            xs.append(x)
            ys.append(y)
            legend.append(trace.meta == "capacity" or (trace.meta == "share" and raced))
        self.figure.plotly_restyle({"x": xs, "y": ys, "showlegend": legend},
                                   trace_indexes=list(range(len(self.figure.data))))
        load = self.controls["load"].value
        speeds = ", ".join(f"{s:g}" for s in self.speeds)
        self.figure.layout.title.text = (  # .text: assigning a string would drop the title font
            f"{self.requests} requests at {load:.0%} of capacity "
            f"({load * sum(self.speeds):.3g} req/s) to servers of speed {speeds} req/s"
        )

    def _summary_html(self, load: float) -> str:
        results = self.results or {}
        head = "".join(f"<th>s{i}</th>" for i in range(len(self.speeds)))
        rows = "".join(
            f"<tr><td style='color:{COLOURS[name]}'><b>{html.escape(name)}</b></td>"
            f"<td>{r.p50:.2f} s</td><td>{r.p95:.2f} s</td><td>{r.p99:.2f} s</td>"
            + "".join(f"<td>{share:.0%}</td>" for share in r.shares) + "</tr>"
            for name, r in results.items()
        )
        capacity = "".join(f"<td>{s / sum(self.speeds):.0%}</td>" for s in self.speeds)
        parts = [
            "<style>.hl-race td, .hl-race th {padding: 2px 10px; text-align: right}</style>"
            f"<table class='hl-race'><tr><th>balancer</th><th>p50</th><th>p95</th><th>p99</th>{head}</tr>"
            f"{rows}<tr style='color:{GREY}'><td>share of capacity</td><td></td><td></td><td></td>"
            f"{capacity}</tr></table>"
        ]
        if results:
            best = min(results, key=lambda name: results[name].p99)
            parts.append(f"Shortest tail at {load:.0%} load: <b>{html.escape(best)}</b> "
                         f"(p99 {results[best].p99:.2f} s).")
        if self.impl_error:
            parts.append(f"<span style='color:{RED}'><b>{html.escape(self._impl_name())} raised</b> "
                         f"{html.escape(self.impl_error)}</span>")
        elif YOURS in results and results[YOURS].note:
            parts.append(f"<span style='color:{ORANGE}'><b>{html.escape(self._impl_name())}</b>: "
                         f"{html.escape(results[YOURS].note)}</span>")
        return "<br>".join(parts)

    def _label(self) -> str:
        return ", ".join(name for name in self.entries if self.picks[name].value)
