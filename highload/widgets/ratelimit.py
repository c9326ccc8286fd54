"""Rate-limit visualizers: watch a real token bucket (or the learner's own) handle traffic.

The replays are :mod:`highload.ratelimit.simulation` (no extra needed; re-exported here). They
run on a :class:`~highload.clock.ManualClock`, so a 30-second replay takes milliseconds and the
same sliders always draw the same picture::

    from highload.widgets import TokenBucketVisualizer
    TokenBucketVisualizer(impl=MyTokenBucket, capacity=10, refill_rate=1)
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Mapping

import ipywidgets as widgets
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from highload.clock import ManualClock
from highload.ratelimit import TokenBucket
from highload.ratelimit.simulation import (
    BURST_SPACING,
    MAX_SAMPLES,
    PATTERNS,
    Trace,
    _positive,
    _request_times,
    decisions,
    replay,
    traffic,
)

from ._errors import error_text
from ._panel import Panel
from ._style import BLUE, GREEN, RED

__all__ = [
    "PATTERNS",
    "Trace",
    "traffic",
    "replay",
    "decisions",
    "compare_algorithms",
    "TokenBucketVisualizer",
    # kept importable from here since the replays moved to highload.ratelimit.simulation
    "BURST_SPACING",
    "MAX_SAMPLES",
]

ADMITTED, REJECTED, LEVEL = GREEN, RED, BLUE


def compare_algorithms(
    times: Iterable[float],
    limiters: Mapping[str, Callable[[ManualClock], object]],
    *,
    title: str = "Same traffic, different limiters",
) -> go.Figure:
    """One row per limiter: cumulative admitted requests, with each admission and rejection marked.

    The grey line counts every request offered, so the gap between grey and green is
    what that limiter turned away. Each factory gets its own fresh clock.

    >>> from highload.ratelimit import TokenBucket, FixedWindow
    >>> fig = compare_algorithms(traffic("bursty"), {
    ...     "token bucket": lambda clock: TokenBucket(10, 1, clock=clock),
    ...     "fixed window": lambda clock: FixedWindow(10, 10, clock=clock),
    ... })
    """
    if not limiters:
        raise ValueError("limiters must name at least one limiter factory, got none")
    requests = _request_times(times)
    results = {name: decisions(factory, requests) for name, factory in limiters.items()}
    offered = list(range(1, len(requests) + 1))
    fig = make_subplots(
        rows=len(results), cols=1, shared_xaxes=True, vertical_spacing=0.06,
        subplot_titles=[f"{name}: admitted {sum(ok)} of {len(ok)}" for name, ok in results.items()],
    )
    for row, (name, ok) in enumerate(results.items(), start=1):
        count, counts = 0, []
        for admitted in ok:
            count += admitted
            counts.append(count)
        first = row == 1
        fig.add_trace(go.Scatter(
            x=requests, y=offered, mode="lines", line={"color": "lightgrey", "shape": "hv"},
            name="offered", legendgroup="offered", showlegend=first, meta=name,
        ), row=row, col=1)
        fig.add_trace(go.Scatter(
            x=[t for t, a in zip(requests, ok, strict=True) if a],
            y=[c for c, a in zip(counts, ok, strict=True) if a],
            mode="lines+markers", line={"color": ADMITTED, "shape": "hv"},
            marker={"color": ADMITTED, "size": 6},
            name="admitted", legendgroup="admitted", showlegend=first, meta=name,
        ), row=row, col=1)
        fig.add_trace(go.Scatter(
            x=[t for t, a in zip(requests, ok, strict=True) if not a],
            y=[c for c, a in zip(counts, ok, strict=True) if not a],
            mode="markers", marker={"color": REJECTED, "symbol": "x", "size": 7},
            name="rejected", legendgroup="rejected", showlegend=first, meta=name,
        ), row=row, col=1)
        fig.update_yaxes(title_text="requests", row=row, col=1)
    fig.update_xaxes(title_text="time (s)", row=len(results), col=1)
    fig.update_layout(title=title, height=180 * len(results) + 120, margin={"t": 90})
    return fig


class TokenBucketVisualizer(Panel):
    """Sliders for capacity and refill rate, a traffic pattern, and the bucket's level over time.

    ``impl`` is any class with ``impl(capacity, refill_rate, clock=...)``, ``allow()`` and
    ``tokens`` (default :class:`highload.ratelimit.TokenBucket`). Every change replays the
    traffic through a fresh instance of it; if it raises, the error shows under the plot.
    Make it the last expression of a cell to display it.
    """

    def __init__(
        self,
        impl: Callable[..., object] | None = None,
        *,
        capacity: int = 10,
        refill_rate: float = 1.0,
        pattern: str = "bursty",
        times: Iterable[float] | None = None,
        duration: float = 30.0,
    ) -> None:
        self.impl = TokenBucket if impl is None else impl
        #: The last successful replay (None while the impl raises).
        self.trace: Trace | None = None
        self.duration = _positive("duration", duration)
        if times is not None:
            pattern, custom = "custom", ", ".join(f"{t:g}" for t in _request_times(times))
        else:
            custom = ""
        if pattern not in (*PATTERNS, "custom"):
            raise ValueError(f"pattern must be one of {(*PATTERNS, 'custom')}, got {pattern!r}")

        self.controls: dict[str, widgets.Widget] = {
            "capacity": widgets.IntSlider(
                value=capacity, min=1, max=max(50, capacity), description="capacity",
                continuous_update=False,
            ),
            "refill_rate": widgets.FloatSlider(
                value=refill_rate, min=0.0, max=max(10.0, refill_rate), step=0.1,
                description="refill /s", continuous_update=False,
            ),
            "pattern": widgets.Dropdown(
                options=[*PATTERNS, "custom"], value=pattern, description="traffic",
            ),
            "times": widgets.Text(
                value=custom, description="custom", placeholder="request times, e.g. 0, 0, 0, 1.5, 4",
                continuous_update=False, layout=widgets.Layout(width="60%"),
            ),
        }
        self.summary = widgets.HTML()
        self.figure = go.Figure(
            data=[
                go.Scatter(name="tokens", mode="lines", line={"color": LEVEL}),
                go.Scatter(name="admitted", mode="markers",
                           marker={"color": ADMITTED, "size": 8}),
                go.Scatter(name="rejected", mode="markers",
                           marker={"color": REJECTED, "symbol": "x", "size": 9}),
                go.Scatter(name="capacity", mode="lines",
                           line={"color": "grey", "dash": "dash", "width": 1}),
            ],
            layout=go.Layout(
                xaxis_title="time (s)", yaxis_title="tokens", height=380,
                margin={"t": 50, "b": 40, "l": 50, "r": 20},
            ),
        )
        c = self.controls
        self.widget = widgets.VBox([
            widgets.HBox([c["capacity"], c["refill_rate"], c["pattern"]]),
            c["times"],
            self.chart,
            self.summary,
        ])
        self._watch(c["capacity"], c["refill_rate"], c["pattern"])
        c["times"].observe(self._on_custom_times, names="value")
        self.update()

    def _on_custom_times(self, _change) -> None:
        # Typing times means "use these": switching the dropdown triggers the redraw.
        if self.controls["pattern"].value != "custom":
            self.controls["pattern"].value = "custom"
        else:
            self.update()

    def times(self) -> list[float]:
        """The request times for the current controls."""
        pattern = self.controls["pattern"].value
        if pattern != "custom":
            return traffic(pattern, duration=self.duration)
        text = self.controls["times"].value.replace(";", ",")
        try:
            return _request_times(float(part) for part in text.split(",") if part.strip())
        except ValueError as exc:
            raise ValueError(f"custom times must be comma-separated seconds >= 0: {exc}") from None

    def _recompute(self) -> Trace | None:
        """Replay with the current controls and redraw; returns the trace, or None on error."""
        capacity = self.controls["capacity"].value
        refill_rate = self.controls["refill_rate"].value
        try:
            times = self.times()
            until = max([self.duration, *times])
            trace = replay(self.impl, times, capacity=capacity, refill_rate=refill_rate, until=until)
        except Exception as exc:  # a learner's half-written class must not kill the widget
            self.trace = None
            self._draw(None, capacity, 0.0)
            message = error_text(exc)
            self.summary.value = (
                f"<span style='color:{REJECTED}'><b>{html.escape(self._impl_name())} raised</b> "
                f"{html.escape(message)}</span>"
            )
            return None
        self._draw(trace, capacity, until)
        self.summary.value = (
            f"<b>{html.escape(self._impl_name())}</b>: admitted <b>{trace.admitted}</b> of "
            f"{len(trace.allowed)} requests, rejected {trace.rejected}"
        )
        self.trace = trace
        return trace

    def _draw(self, trace: Trace | None, capacity: float, until: float) -> None:
        level, ok, rejected, cap = self.figure.data
        with self.figure.batch_update():
            if trace is None:
                for t in (level, ok, rejected, cap):
                    t.x, t.y = [], []
                return
            pairs = list(zip(trace.request_times, trace.request_levels, trace.allowed, strict=True))
            level.x, level.y = trace.sample_times, trace.levels
            ok.x = [t for t, _, a in pairs if a]
            ok.y = [v for _, v, a in pairs if a]
            rejected.x = [t for t, _, a in pairs if not a]
            rejected.y = [v for _, v, a in pairs if not a]
            cap.x, cap.y = [0, until], [capacity, capacity]
            # Never clip: a level above capacity or below zero is exactly the bug to see.
            low = min(-0.05 * capacity, min(trace.levels, default=0.0))
            high = max(1.1 * capacity, 1.05 * max(trace.levels, default=0.0))
            self.figure.layout.yaxis.range = [low, high]
            self.figure.layout.title = (
                f"{self._impl_name()}(capacity={capacity:g}, "
                f"refill_rate={self.controls['refill_rate'].value:g})"
            )
