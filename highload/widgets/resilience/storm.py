"""RetryStorm: many clients retrying into a recovering server, with and without jitter, drawn from
:func:`highload.resilience.simulation.retry_storm`."""

from __future__ import annotations

import html
from collections.abc import Sequence

import ipywidgets as widgets
import plotly.graph_objects as go

from highload.resilience.simulation import STRATEGIES, StormRun, _positive, retry_storm

from .._errors import error_text
from .._panel import Panel
from .._style import BLUE, GREEN, GREY, ORANGE, RED

__all__ = ["RetryStorm",
           # kept importable from here since the storm moved to highload.resilience.simulation
           "STRATEGIES", "StormRun", "retry_storm"]

STRATEGY_COLOURS = {"no jitter": RED, "full jitter": BLUE, "decorrelated jitter": GREEN,
                    "equal jitter": ORANGE}


class RetryStorm(Panel):
    """Many clients retry against a server that is down, then back with limited capacity.

    One line per strategy shows requests per ``bucket`` seconds; the dashed line is what the
    server can serve. Without jitter every client retries at the same instants (a thundering
    herd) and the recovered server is flooded again; with jitter the same retries spread out.
    Sliders change the number of clients, the base delay and the capacity.
    """

    def __init__(
        self,
        *,
        clients: int = 100,
        failure_until: float = 10.0,
        capacity: int = 20,
        duration: float = 40.0,
        base: float = 0.5,
        max_delay: float = 8.0,
        attempts: int = 10,
        strategies: Sequence[str] = tuple(STRATEGIES),
        seed: int = 0,
    ) -> None:
        self.failure_until = float(failure_until)
        self.duration = _positive("duration", duration)
        self.max_delay, self.attempts, self.seed = max_delay, attempts, seed
        self.strategies = tuple(strategies)
        #: The last runs, by strategy (None while the settings are invalid).
        self.runs: dict[str, StormRun] | None = None
        slider = {"continuous_update": False, "style": {"description_width": "initial"}}
        self.controls: dict[str, widgets.Widget] = {
            "clients": widgets.IntSlider(value=clients, min=10, max=max(500, clients), step=10,
                                         description="clients", **slider),
            "base": widgets.FloatSlider(value=base, min=0.1, max=max(4.0, base), step=0.1,
                                        description="base delay (s)", **slider),
            "capacity": widgets.IntSlider(value=capacity, min=1, max=max(100, capacity),
                                          description="capacity / 0.5 s", **slider),
        }
        self.summary = widgets.HTML()
        self.figure = go.Figure(layout=go.Layout(
            xaxis_title="time (s)", yaxis_title="requests per 0.5 s", height=400,
            margin={"t": 50, "b": 40, "l": 60, "r": 20}, xaxis={"range": [0, self.duration]},
        ))
        for name in self.strategies:
            self.figure.add_scatter(name=name, mode="lines", x=[], y=[],
                                    line={"color": STRATEGY_COLOURS[name], "shape": "hv", "width": 2})
        self.figure.add_scatter(name="server capacity", mode="lines", x=[], y=[],
                                line={"color": "black", "dash": "dash", "width": 1})
        self.figure.add_scatter(name="server back", mode="lines", x=[], y=[],
                                line={"color": GREY, "dash": "dot", "width": 1})
        c = self.controls
        self.widget = widgets.VBox([widgets.HBox([c["clients"], c["base"], c["capacity"]]),
                                    self.chart, self.summary])
        self._watch(*c.values())
        self.update()

    def _recompute(self) -> dict[str, StormRun] | None:
        """Re-run the storm with the current sliders and redraw."""
        c = self.controls
        try:
            runs = retry_storm(clients=c["clients"].value, failure_until=self.failure_until,
                               capacity=c["capacity"].value, duration=self.duration, base=c["base"].value,
                               max_delay=self.max_delay, attempts=self.attempts,
                               strategies=self.strategies, seed=self.seed)
        except Exception as exc:
            self.runs = None
            self.summary.value = f"<span style='color:{RED}'>{html.escape(error_text(exc))}</span>"
            return None
        self.runs = runs
        traces = self.figure.data
        top = max(max(r.peak for r in runs.values()), c["capacity"].value) * 1.1
        with self.figure.batch_update():
            for trace, run in zip(traces, runs.values(), strict=False):
                trace.x = [i * run.bucket for i in range(len(run.load))] + [self.duration]
                trace.y = [*run.load, run.load[-1] if run.load else 0]
            traces[-2].x, traces[-2].y = [0, self.duration], [c["capacity"].value] * 2
            traces[-1].x, traces[-1].y = [self.failure_until] * 2, [0, top]
            self.figure.layout.yaxis.range = [0, top]
            self.figure.layout.title = (f"{c['clients'].value} clients, server down until "
                                        f"{self.failure_until:g} s, base delay {c['base'].value:g} s")
        rows = "".join(
            f"<tr><td style='color:{STRATEGY_COLOURS[name]}'><b>{html.escape(name)}</b></td>"
            f"<td>{run.peak_after_recovery}</td><td>{run.requests}</td><td>{run.succeeded}</td>"
            f"<td>{run.gave_up + run.pending}</td>"
            f"<td>{'-' if run.last_success is None else f'{run.last_success:.1f} s'}</td></tr>"
            for name, run in runs.items()
        )
        self.summary.value = (
            "<style>.hl-storm td, .hl-storm th {padding: 2px 12px; text-align: right}</style>"
            "<table class='hl-storm'><tr><th>strategy</th><th>peak after recovery</th><th>requests</th>"
            "<th>clients served</th><th>not served</th><th>last served at</th></tr>"
            f"{rows}</table>"
        )
        return runs

    def _label(self) -> str:
        return ", ".join(self.strategies)
