"""BreakerTimeline: a real circuit breaker (or the learner's own) riding out an outage, drawn from
:func:`highload.resilience.simulation.simulate_breaker`."""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Iterable, Sequence

import ipywidgets as widgets
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from highload.resilience import CircuitBreaker
from highload.resilience.simulation import (
    HEALTHY_LATENCY,
    REJECT_LATENCY,
    SCHEDULES,
    STATES,
    BreakerRun,
    DownstreamError,
    _positive,
    failure_rate_at,
    parse_schedule,
    simulate_breaker,
)

from .._errors import error_text
from .._panel import Panel
from .._style import BLUE, GREEN, GREY, RED

__all__ = ["BreakerTimeline",
           # kept importable from here since the replay moved to highload.resilience.simulation
           "SCHEDULES", "STATES", "REJECT_LATENCY", "HEALTHY_LATENCY", "parse_schedule", "failure_rate_at",
           "DownstreamError", "BreakerRun", "simulate_breaker"]

BAND = {"closed": "rgba(44,160,44,0.10)", "open": "rgba(214,39,40,0.16)",
        "half_open": "rgba(255,165,0,0.28)"}
LABEL = {"closed": "closed", "open": "open", "half_open": "half-open"}


def _band_polygons(bands: Iterable[tuple[float, float, str]], state: str, low: float, high: float):
    xs: list[float | None] = []
    ys: list[float | None] = []
    for start, end, s in bands:
        if s == state:
            xs += [start, end, end, start, start, None]
            ys += [low, low, high, high, low, None]
    return xs, ys


class BreakerTimeline(Panel):
    """Sliders for a breaker's thresholds, a downstream failure-rate schedule, and what happens.

    Replays ``rate`` calls per second through a fresh breaker on every change (see
    :func:`simulate_breaker`) and draws the breaker's state as shaded bands, each call as a
    marker at the latency its caller saw (successes fast, failures at the call timeout,
    rejections at once), and the schedule underneath. ``impl`` is any class with the
    exercise contract (default :class:`highload.resilience.CircuitBreaker`); if it raises, the
    error shows under the plot. Make it the last expression of a cell to display it.
    """

    def __init__(
        self,
        impl: Callable[..., object] | None = None,
        *,
        failure_threshold: int = 5,
        success_threshold: int = 2,
        open_timeout: float = 10,
        half_open_max_calls: int = 1,
        schedule: str | Sequence[tuple[float, float]] = "outage 20-35 s",
        duration: float = 60,
        rate: float = 5,
        seed: int = 0,
        call_timeout: float = 2.0,
    ) -> None:
        self.impl = CircuitBreaker if impl is None else impl
        self.duration, self.rate = _positive("duration", duration), _positive("rate", rate)
        self.call_timeout = _positive("call_timeout", call_timeout)
        self.seed = seed
        #: The last successful replay (None while the impl raises).
        self.run: BreakerRun | None = None
        if isinstance(schedule, str) and schedule in SCHEDULES:
            preset, custom = schedule, ""
        else:
            preset = "custom"
            custom = ", ".join(f"{t:g}:{r:g}" for t, r in parse_schedule(schedule))

        slider = {"continuous_update": False, "style": {"description_width": "initial"}}
        self.controls: dict[str, widgets.Widget] = {
            "failure_threshold": widgets.IntSlider(
                value=failure_threshold, min=1, max=max(30, failure_threshold),
                description="failure threshold", **slider),
            "success_threshold": widgets.IntSlider(
                value=success_threshold, min=1, max=max(10, success_threshold),
                description="success threshold", **slider),
            "open_timeout": widgets.FloatSlider(
                value=open_timeout, min=0.5, max=max(60.0, open_timeout), step=0.5,
                description="open timeout (s)", **slider),
            "half_open_max_calls": widgets.IntSlider(
                value=half_open_max_calls, min=1, max=max(10, half_open_max_calls),
                description="half-open max calls", **slider),
            "schedule": widgets.Dropdown(
                options=[*SCHEDULES, "custom"], value=preset, description="downstream",
                style={"description_width": "initial"}),
            "custom": widgets.Text(
                value=custom, description="custom", placeholder="t:failure rate, e.g. 0:0, 20:1, 35:0",
                continuous_update=False, layout=widgets.Layout(width="60%")),
        }
        self.summary = widgets.HTML()
        base = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.75, 0.25],
                             vertical_spacing=0.06)
        self.figure = go.Figure(base)
        for state in STATES:
            self.figure.add_trace(go.Scatter(
                name=LABEL[state], mode="lines", fill="toself", fillcolor=BAND[state],
                line={"width": 0}, hoverinfo="name", x=[], y=[]), row=1, col=1)
        self.figure.add_trace(go.Scatter(
            name="success", mode="markers", marker={"color": GREEN, "size": 6}, x=[], y=[]), row=1, col=1)
        self.figure.add_trace(go.Scatter(
            name="failure (timed out)", mode="markers", marker={"color": RED, "symbol": "x", "size": 7},
            x=[], y=[]), row=1, col=1)
        self.figure.add_trace(go.Scatter(
            name="rejected (fail fast)", mode="markers",
            marker={"color": GREY, "symbol": "triangle-down", "size": 6}, x=[], y=[]), row=1, col=1)
        self.figure.add_trace(go.Scatter(
            name="downstream failure rate", mode="lines", line={"color": BLUE, "shape": "hv"},
            fill="tozeroy", fillcolor="rgba(31,119,180,0.15)", x=[], y=[]), row=2, col=1)
        self._y_range = (REJECT_LATENCY / 2, self.call_timeout * 2.5)
        ticks = [v for v in (0.001, 0.01, 0.1, 1, 10, 100) if self._y_range[0] <= v <= self._y_range[1]]
        self.figure.update_yaxes(type="log", title_text="latency seen by caller", row=1, col=1,
                                 range=[math.log10(v) for v in self._y_range], tickvals=ticks,
                                 ticktext=[f"{v * 1000:g} ms" if v < 1 else f"{v:g} s" for v in ticks])
        self.figure.update_yaxes(title_text="fail %", range=[0, 105], row=2, col=1)
        self.figure.update_xaxes(title_text="time (s)", range=[0, self.duration], row=2, col=1)
        self.figure.update_layout(height=480, margin={"t": 50, "b": 40, "l": 60, "r": 20},
                                  legend={"orientation": "h", "y": -0.15}, title_font_size=12)
        c = self.controls
        self.widget = widgets.VBox([
            widgets.HBox([c["failure_threshold"], c["success_threshold"]]),
            widgets.HBox([c["open_timeout"], c["half_open_max_calls"]]),
            widgets.HBox([c["schedule"], c["custom"]]),
            self.chart,
            self.summary,
        ])
        self._watch(*(c[name] for name in ("failure_threshold", "success_threshold", "open_timeout",
                                           "half_open_max_calls", "schedule")))
        c["custom"].observe(self._on_custom, names="value")
        self.update()

    def _on_custom(self, _change) -> None:
        # Typing a schedule means "use it": switching the dropdown triggers the redraw.
        if self.controls["schedule"].value != "custom":
            self.controls["schedule"].value = "custom"
        else:
            self.update()

    def schedule(self) -> tuple[tuple[float, float], ...]:
        """The failure-rate steps the controls describe."""
        preset = self.controls["schedule"].value
        return SCHEDULES[preset] if preset != "custom" else parse_schedule(self.controls["custom"].value)

    def settings(self) -> dict:
        c = self.controls
        return {name: c[name].value for name in
                ("failure_threshold", "success_threshold", "open_timeout", "half_open_max_calls")}

    def _recompute(self) -> BreakerRun | None:
        """Replay with the current controls and redraw; returns the run, or None on error."""
        try:
            steps = self.schedule()
            run = simulate_breaker(self.impl, schedule=steps, duration=self.duration, rate=self.rate,
                                   seed=self.seed, call_timeout=self.call_timeout, **self.settings())
        except Exception as exc:  # a learner's half-written class must not kill the widget
            self.run = None
            self._draw(None, ())
            self.summary.value = (
                f"<span style='color:{RED}'><b>{html.escape(self._impl_name())} raised</b> "
                f"{html.escape(error_text(exc))}</span>"
            )
            return None
        self.run = run
        self._draw(run, steps)
        saved = run.worker_seconds_unprotected - run.worker_seconds
        self.summary.value = (
            f"<b>{html.escape(self._impl_name())}</b>: {len(run.times)} calls: "
            f"<span style='color:{GREEN}'>{run.successes} succeeded</span>, "
            f"<span style='color:{RED}'>{run.failures} failed</span>, "
            f"<span style='color:{GREY}'>{run.rejections} rejected</span>; "
            f"opened {run.opened}×, {len(run.transitions)} transitions. Callers waited "
            f"<b>{run.worker_seconds:.0f} s</b> in total (with no breaker: "
            f"{run.worker_seconds_unprotected:.0f} s, so {saved:.0f} s of workers freed)."
        )
        return run

    def _draw(self, run: BreakerRun | None, steps) -> None:
        data = self.figure.data
        bands, (ok, failed, rejected, schedule) = data[:3], data[3:]
        with self.figure.batch_update():
            if run is None:
                for trace in data:
                    trace.x, trace.y = [], []
                return
            low, high = self._y_range
            for trace, state in zip(bands, STATES, strict=True):
                trace.x, trace.y = _band_polygons(run.bands, state, low, high)
            for trace, kind in ((ok, "success"), (failed, "failure"), (rejected, "rejected")):
                picked = [(t, lat) for t, lat, o in zip(run.times, run.latencies, run.outcomes, strict=True)
                          if o == kind]
                trace.x = [t for t, _ in picked]
                trace.y = [lat for _, lat in picked]
            xs, ys = [], []
            if steps and steps[0][0] > 0:
                xs, ys = [0.0], [0.0]
            for t, r in steps:
                if t <= self.duration:
                    xs.append(t)
                    ys.append(100 * r)
            xs.append(self.duration)
            ys.append(ys[-1])
            schedule.x, schedule.y = xs, ys
            s = self.settings()
            self.figure.layout.title.text = (  # .text: assigning a string would drop the title font
                f"{self._impl_name()}(failure_threshold={s['failure_threshold']}, "
                f"success_threshold={s['success_threshold']}, open_timeout={s['open_timeout']:g}, "
                f"half_open_max_calls={s['half_open_max_calls']})"
            )


