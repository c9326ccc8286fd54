"""CapacityCalculator: from clicks per day to a number of servers, with sliders.

Every number comes from ``required_servers`` (the package's, or the learner's own through
``impl=``), so a learner sees their function's answer across a whole range of traffic::

    from highload.widgets import CapacityCalculator
    CapacityCalculator(impl=my_required_servers)
"""

from __future__ import annotations

import html
import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import ipywidgets as widgets
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from highload import _validate
from highload.capacity import average_rps, peak_rps, required_servers

from ._errors import error_text
from ._panel import Panel

__all__ = ["TRAFFIC_RANGE", "CapacityPlan", "traffic_grid", "plan_capacity", "per_day", "CapacityCalculator"]

#: Requests per day the traffic axis and slider span by default: a million to 100 billion.
TRAFFIC_RANGE = (1e6, 1e11)
#: Points per decade on the traffic axis.
POINTS_PER_DECADE = 10

AVERAGE, PEAK, USABLE, FULL, SHORT = "#1f77b4", "#ff7f0e", "#2ca02c", "#c7c7c7", "#d62728"


def _check_headroom(headroom) -> float:
    _validate.number("headroom", headroom, minimum=0, inclusive=True)
    if not headroom < 1:
        raise ValueError(f"headroom must be in [0, 1): the share of each server kept free, got {headroom!r}")
    return float(headroom)


def _servers(impl: Callable[..., object], *args: float) -> int:
    """``impl(*args)``, checked to be a whole number of servers."""
    got = impl(*args)
    if isinstance(got, bool) or not isinstance(got, numbers.Integral):
        raise TypeError(f"must return an int number of servers, got {got!r} for {args}")
    return int(got)


def traffic_grid(low: float = TRAFFIC_RANGE[0], high: float = TRAFFIC_RANGE[1],
                 *, extra: Sequence[float] = ()) -> tuple[float, ...]:
    """Requests per day, evenly spaced on a log axis from ``low`` to ``high``, plus ``extra``, sorted.

    >>> len(traffic_grid(1e6, 1e11)), traffic_grid(1e6, 1e11)[0], traffic_grid(1e6, 1e11)[-1]
    (51, 1000000.0, 100000000000.0)
    """
    low, high = _validate.finite_positive("low", low), _validate.finite_positive("high", high)
    if not low < high:
        raise ValueError(f"high must be > low, got low={low!r}, high={high!r}")
    start, stop = math.log10(low), math.log10(high)
    n = max(1, round((stop - start) * POINTS_PER_DECADE))
    points = {10 ** (start + (stop - start) * i / n) for i in range(n + 1)}
    points.update(float(x) for x in extra)
    return tuple(sorted(points))


@dataclass(frozen=True)
class CapacityPlan:
    """Everything :class:`CapacityCalculator` shows for one setting of its sliders.

    ``servers`` is the impl's answer for the peak with headroom; ``servers_for_average`` is what
    sizing for the *average* (peak factor 1, no headroom) would buy. ``curve`` and
    ``average_curve`` are the same two answers at every point of ``traffic``.
    """

    requests_per_day: float
    peak_factor: float
    capacity_per_server: float
    headroom: float
    average_rps: float
    peak_rps: float
    servers: int
    servers_for_average: int
    traffic: tuple[float, ...]
    curve: tuple[int, ...]
    average_curve: tuple[int, ...]

    @property
    def usable_rps(self) -> float:
        """What the fleet may serve while every server keeps ``headroom`` free."""
        return self.servers * self.capacity_per_server * (1 - self.headroom)

    @property
    def fleet_rps(self) -> float:
        """What the fleet serves with every server at 100%."""
        return self.servers * self.capacity_per_server

    @property
    def peak_utilisation(self) -> float:
        """How busy each server is at the peak (``peak_rps / fleet_rps``)."""
        return self.peak_rps / self.fleet_rps if self.servers > 0 else math.inf


def plan_capacity(
    requests_per_day: float,
    peak_factor: float,
    capacity_per_server: float,
    headroom: float = 0.0,
    *,
    impl: Callable[..., object] | None = None,
    traffic: Sequence[float] | None = None,
) -> CapacityPlan:
    """Average and peak req/s, and ``impl``'s server counts here and across ``traffic``.

    ``impl`` has the exercise contract ``required_servers(requests_per_day, peak_factor,
    capacity_per_server, headroom=0.0) -> int`` (default :func:`highload.capacity.required_servers`);
    it is called positionally. ``traffic`` defaults to :func:`traffic_grid` around ``requests_per_day``.

    >>> p = plan_capacity(2_000_000_000, 5, 10_000, 0.3)
    >>> round(p.average_rps), round(p.peak_rps), p.servers, p.servers_for_average
    (23148, 115741, 17, 3)
    """
    impl = required_servers if impl is None else impl
    if not callable(impl):
        raise TypeError(f"impl must be a function like required_servers, got {impl!r}")
    requests_per_day = _validate.finite_positive("requests_per_day", requests_per_day)
    peak_factor = _validate.finite_positive("peak_factor", peak_factor)
    capacity_per_server = _validate.finite_positive("capacity_per_server", capacity_per_server)
    headroom = _check_headroom(headroom)
    if traffic is None:
        traffic = traffic_grid(min(TRAFFIC_RANGE[0], requests_per_day), max(TRAFFIC_RANGE[1], requests_per_day),
                               extra=[requests_per_day])
    else:
        traffic = tuple(sorted(_validate.finite_positive("traffic", t) for t in traffic))
    return CapacityPlan(
        requests_per_day=requests_per_day,
        peak_factor=peak_factor,
        capacity_per_server=capacity_per_server,
        headroom=headroom,
        average_rps=average_rps(requests_per_day),
        peak_rps=peak_rps(requests_per_day, peak_factor),
        servers=_servers(impl, requests_per_day, peak_factor, capacity_per_server, headroom),
        servers_for_average=_servers(impl, requests_per_day, 1.0, capacity_per_server, 0.0),
        traffic=tuple(traffic),
        curve=tuple(_servers(impl, t, peak_factor, capacity_per_server, headroom) for t in traffic),
        average_curve=tuple(_servers(impl, t, 1.0, capacity_per_server, 0.0) for t in traffic),
    )


def per_day(count: float) -> str:
    """A daily count in words: ``2e9`` -> ``'2 billion'``."""
    for size, word in ((1e9, "billion"), (1e6, "million")):
        if count >= size:
            return f"{count / size:.3g} {word}"
    return f"{count:,.0f}"


class CapacityCalculator(Panel):
    """Sliders for traffic, peak factor, per-server capacity and headroom; servers needed, plotted.

    The left chart draws servers needed across a range of daily traffic (log axes), for the
    peak with headroom and, for contrast, for the average; a marker shows the current traffic.
    The right chart compares average and peak req/s with what the fleet serves at its target
    load and flat out. ``impl`` is any function with the exercise contract
    ``required_servers(requests_per_day, peak_factor, capacity_per_server, headroom=0.0) -> int``
    (default :func:`highload.capacity.required_servers`); if it raises, the error shows under
    the charts. Make it the last expression of a cell to display it.
    """

    def __init__(
        self,
        requests_per_day: float = 2_000_000_000,
        peak_factor: float = 5,
        capacity_per_server: float = 10_000,
        headroom: float = 0.3,
        *,
        impl: Callable[..., object] | None = None,
    ) -> None:
        if impl is not None and not callable(impl):
            raise TypeError(f"impl must be a function like required_servers, got {impl!r}")
        self.impl = required_servers if impl is None else impl
        requests_per_day = _validate.finite_positive("requests_per_day", requests_per_day)
        peak_factor = _validate.finite_positive("peak_factor", peak_factor)
        capacity_per_server = _validate.finite_positive("capacity_per_server", capacity_per_server)
        headroom = _check_headroom(headroom)
        #: The last successful plan (None while the impl raises).
        self.plan: CapacityPlan | None = None

        self._traffic_range = (min(TRAFFIC_RANGE[0], requests_per_day), max(TRAFFIC_RANGE[1], requests_per_day))
        slider = {"continuous_update": False, "style": {"description_width": "initial"}}
        self.controls: dict[str, widgets.Widget] = {
            "requests_per_day": widgets.FloatLogSlider(
                value=requests_per_day, base=10, step=0.05,
                min=math.log10(self._traffic_range[0]), max=math.log10(self._traffic_range[1]),
                readout_format=".3s", description="requests/day", **slider),
            "peak_factor": widgets.FloatSlider(
                value=peak_factor, min=min(1.0, peak_factor), max=max(20.0, peak_factor), step=0.5, readout_format=".1f",
                description="peak factor (×)", **slider),
            "capacity_per_server": widgets.FloatLogSlider(
                value=capacity_per_server, base=10, step=0.05,
                min=min(2.0, math.log10(capacity_per_server)), max=max(5.0, math.log10(capacity_per_server)),
                readout_format=",.3r", description="req/s per server", **slider),
            "headroom": widgets.FloatSlider(
                value=headroom, min=0, max=max(0.9, headroom), step=0.05, readout_format=".0%",
                description="headroom", **slider),
        }
        self.summary = widgets.HTML()
        self.summary.add_class("hl-capacity-readout")
        self.figure = go.FigureWidget(make_subplots(
            rows=1, cols=2, column_widths=[0.62, 0.38], horizontal_spacing=0.12,
            subplot_titles=["servers needed as traffic grows", "requests per second"],
        ))
        self.figure.add_trace(go.Scatter(
            name="sized for the peak + headroom", mode="lines", line={"color": PEAK, "shape": "hv"},
            x=[], y=[]), row=1, col=1)
        self.figure.add_trace(go.Scatter(
            name="sized for the average", mode="lines",
            line={"color": AVERAGE, "shape": "hv", "dash": "dot"}, x=[], y=[]), row=1, col=1)
        self.figure.add_trace(go.Scatter(
            name="your traffic", mode="markers+text", textposition="top left",
            marker={"color": PEAK, "size": 12, "line": {"color": "black", "width": 1}},
            x=[], y=[], text=[]), row=1, col=1)
        self.figure.add_trace(go.Bar(
            name="req/s", showlegend=False, x=[], y=[], text=[], textposition="outside",
            cliponaxis=False), row=1, col=2)
        self.figure.update_xaxes(type="log", title_text="requests per day", row=1, col=1)
        self.figure.update_yaxes(type="log", title_text="servers", row=1, col=1)
        self.figure.update_yaxes(title_text="req/s", row=1, col=2)
        self.figure.update_layout(height=420, margin={"t": 60, "b": 50, "l": 60, "r": 20},
                                  legend={"orientation": "h", "y": -0.2}, title_font_size=13)

        c = self.controls
        self.widget = widgets.VBox([
            widgets.HBox([c["requests_per_day"], c["peak_factor"]]),
            widgets.HBox([c["capacity_per_server"], c["headroom"]]),
            self.figure,
            self.summary,
        ])
        self._watch(*c.values())
        self.update()

    def settings(self) -> dict[str, float]:
        """The slider values, by parameter name.

        The linear sliders move in steps of 0.5 and 0.05, so rounding only drops the float noise
        a browser adds (``0.35000000000000003``), which could tip an exact count up by one server.
        """
        values = {name: control.value for name, control in self.controls.items()}
        values["peak_factor"] = round(values["peak_factor"], 6)
        values["headroom"] = round(values["headroom"], 6)
        return values

    def compute(self) -> CapacityPlan:
        """The plan for the current sliders (what :meth:`update` draws); raises what ``impl`` raises."""
        return plan_capacity(**self.settings(), impl=self.impl,
                             traffic=traffic_grid(*self._traffic_range, extra=[self.controls["requests_per_day"].value]))

    def update(self) -> CapacityPlan | None:
        """Recompute with the current sliders and redraw; returns the plan, or None on error."""
        name = html.escape(self._impl_name())
        try:
            plan = self.compute()
        except Exception as exc:  # a learner's half-written function must not kill the widget
            self.plan = None
            self._draw(None)
            message = error_text(exc)
            self.summary.value = (
                f"<span style='color:{SHORT}'><b>{name} raised</b> {html.escape(message)}</span>"
            )
            return None
        self.plan = plan
        self._draw(plan)
        self.summary.value = (
            f"<b>{name}</b>: {per_day(plan.requests_per_day)} requests/day → average "
            f"<b>{plan.average_rps:,.0f}</b> req/s → peak (×{plan.peak_factor:g}) "
            f"<b>{plan.peak_rps:,.0f}</b> req/s → <b>{plan.servers:,} servers</b> "
            f"(each at most {1 - plan.headroom:.0%} busy; sized for the average it would be "
            f"{plan.servers_for_average:,}){self._warning(plan)}"
        )
        return plan

    def _warning(self, plan: CapacityPlan) -> str:
        """A note when the impl's count cannot carry the peak, or one server fewer would."""
        need = plan.peak_rps
        if plan.usable_rps < need * (1 - 1e-12):
            return (f"<br><span style='color:{SHORT}'>⚠ {plan.servers:,} servers at "
                    f"{1 - plan.headroom:.0%} serve only {plan.usable_rps:,.0f} req/s: short of the "
                    f"{need:,.0f} req/s peak.</span>")
        fewer = (plan.servers - 1) * plan.capacity_per_server * (1 - plan.headroom)
        if plan.servers > 1 and fewer >= need * (1 + 1e-12):
            return (f"<br><span style='color:{SHORT}'>⚠ {plan.servers - 1:,} servers would already "
                    f"serve {fewer:,.0f} req/s, more than the {need:,.0f} req/s peak.</span>")
        return ""

    def _draw(self, plan: CapacityPlan | None) -> None:
        peak_line, average_line, here, bars = self.figure.data
        with self.figure.batch_update():
            if plan is None:
                for trace in (peak_line, average_line, here, bars):
                    trace.x, trace.y = [], []
                here.text, bars.text = [], []
                self.figure.layout.title.text = ""
                return
            peak_line.x, peak_line.y = plan.traffic, plan.curve
            average_line.x, average_line.y = plan.traffic, plan.average_curve
            here.x, here.y = [plan.requests_per_day], [plan.servers]
            here.text = [f"{plan.servers:,} servers"]
            # A batch sends one restyle for all traces, and a trace that is not given a property
            # gets null, which plotly.js reads as "back to the default": so the marker restates its colour.
            here.marker.color = PEAK
            values = [plan.average_rps, plan.peak_rps, plan.usable_rps, plan.fleet_rps]
            bars.x = ["average", "peak", f"fleet at {1 - plan.headroom:.0%}", "fleet at 100%"]
            bars.y = values
            bars.text = [f"{v:,.0f}" for v in values]
            bars.marker.color = [AVERAGE, PEAK, USABLE if plan.usable_rps >= plan.peak_rps * (1 - 1e-12)
                                 else SHORT, FULL]
            # .text: assigning a string would drop the title font
            self.figure.layout.title.text = (
                f"{self._impl_name()}({plan.requests_per_day:_.0f}, {plan.peak_factor:g}, "
                f"{plan.capacity_per_server:_.0f}, headroom={plan.headroom:g}) = {plan.servers:,}"
            )
