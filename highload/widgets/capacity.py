"""CapacityCalculator: from clicks per day to a number of servers, with sliders.

Every number comes from :func:`highload.capacity_plan.plan_capacity` (re-exported here), that is
from ``required_servers`` (the package's, or the learner's own through ``impl=``), so a learner
sees their function's answer across a whole range of traffic::

    from highload.widgets import CapacityCalculator
    CapacityCalculator(impl=my_required_servers)
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable

import ipywidgets as widgets
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from highload import _simulate, _validate
from highload.capacity import required_servers
from highload.capacity_plan import (
    CONTRACT,
    POINTS_PER_DECADE,
    TRAFFIC_RANGE,
    CapacityPlan,
    _check_headroom,
    plan_capacity,
    traffic_grid,
)

from ._errors import error_text
from ._panel import Panel
from ._style import BLUE, GREEN, LIGHT_GREY, ORANGE, RED

__all__ = ["TRAFFIC_RANGE", "CapacityPlan", "traffic_grid", "plan_capacity", "per_day", "CapacityCalculator",
           # kept importable from here since the plan moved to highload.capacity_plan
           "POINTS_PER_DECADE"]

AVERAGE, PEAK, USABLE, FULL, SHORT = BLUE, ORANGE, GREEN, LIGHT_GREY, RED


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
        _simulate.check_impl(impl, CONTRACT)
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
        self.figure = go.Figure(make_subplots(
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
            self.chart,
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

    def _recompute(self) -> CapacityPlan | None:
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
            values = [plan.average_rps, plan.peak_rps, plan.usable_rps, plan.fleet_rps]
            bars.x = ["average", "peak", f"fleet at {1 - plan.headroom:.0%}", "fleet at 100%"]
            bars.y = values
            bars.text = [f"{v:,.0f}" for v in values]
            # .text: assigning a string would drop the title font
            self.figure.layout.title.text = (
                f"{self._impl_name()}({plan.requests_per_day:_.0f}, {plan.peak_factor:g}, "
                f"{plan.capacity_per_server:_.0f}, headroom={plan.headroom:g}) = {plan.servers:,}"
            )
            bars.marker.color = [AVERAGE, PEAK, USABLE if plan.usable_rps >= plan.peak_rps * (1 - 1e-12)
                                 else SHORT, FULL]
