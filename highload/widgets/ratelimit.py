"""Rate-limit visualizers: watch a real token bucket (or the learner's own) handle traffic.

Everything runs on a :class:`~highload.clock.ManualClock`, so a 30-second replay takes
milliseconds and the same sliders always draw the same picture::

    from highload.widgets import TokenBucketVisualizer
    TokenBucketVisualizer(impl=MyTokenBucket, capacity=10, refill_rate=1)
"""

from __future__ import annotations

import html
import inspect
import math
import numbers
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import ipywidgets as widgets
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from highload import _validate
from highload.clock import ManualClock
from highload.ratelimit import TokenBucket

from ._errors import error_text
from ._panel import Panel

__all__ = [
    "PATTERNS",
    "Trace",
    "traffic",
    "replay",
    "decisions",
    "compare_algorithms",
    "TokenBucketVisualizer",
]

#: The traffic shapes :func:`traffic` can generate.
PATTERNS = ("steady", "bursty", "random")
#: Seconds between requests inside one burst: close enough to read as "at once" on a plot,
#: far enough apart that the markers do not sit on top of each other.
BURST_SPACING = 0.05
#: Upper bound on level samples per replay, so a tiny ``step`` cannot freeze the widget.
MAX_SAMPLES = 100_000

ADMITTED, REJECTED, LEVEL = "#2ca02c", "#d62728", "#1f77b4"


_positive = _validate.finite_positive


def _request_times(times: Iterable[float]) -> list[float]:
    """Sorted, validated request times (non-negative, finite seconds)."""
    out = []
    for t in times:
        if isinstance(t, bool) or not isinstance(t, numbers.Real):
            raise TypeError(f"times must be numbers (seconds), got {t!r}")
        if not 0 <= t < math.inf:
            raise ValueError(f"times must be finite and >= 0, got {t!r}")
        out.append(float(t))
    return sorted(out)


def traffic(
    pattern: str,
    *,
    duration: float = 30.0,
    rate: float = 2.0,
    burst: int = 15,
    period: float = 10.0,
    seed: int = 0,
) -> list[float]:
    """Sorted request times in ``[0, duration)`` for one traffic shape.

    * ``"steady"``: one request every ``1 / rate`` seconds, starting at 0.
    * ``"bursty"``: ``burst`` requests :data:`BURST_SPACING` apart, every ``period`` seconds.
    * ``"random"``: Poisson arrivals at ``rate`` per second; the same ``seed`` gives the same times.

    >>> traffic("steady", duration=2, rate=2)
    [0.0, 0.5, 1.0, 1.5]
    """
    if pattern not in PATTERNS:
        raise ValueError(f"pattern must be one of {PATTERNS}, got {pattern!r}")
    duration = _positive("duration", duration)
    rate = _positive("rate", rate)
    period = _positive("period", period)
    if isinstance(burst, bool) or not isinstance(burst, numbers.Integral) or burst < 1:
        raise ValueError(f"burst must be an int >= 1, got {burst!r}")

    if pattern == "steady":
        # i / rate (not a running sum) keeps the spacing exact however long the run.
        return [i / rate for i in range(math.ceil(duration * rate))]
    if pattern == "bursty":
        starts = (k * period for k in range(math.ceil(duration / period)))
        times = (s + j * BURST_SPACING for s in starts for j in range(burst))
        return sorted(t for t in times if t < duration)
    rng = random.Random(seed)
    times, t = [], rng.expovariate(rate)
    while t < duration:
        times.append(t)
        t += rng.expovariate(rate)
    return times


@dataclass(frozen=True)
class Trace:
    """What one replay observed.

    ``sample_times``/``levels`` is the bucket's ``tokens`` over time: a regular grid plus the
    level just before and just after every request, so each admission shows as a drop.
    ``request_levels`` is the level each request found on arrival.
    """

    sample_times: tuple[float, ...]
    levels: tuple[float, ...]
    request_times: tuple[float, ...]
    request_levels: tuple[float, ...]
    allowed: tuple[bool, ...]

    @property
    def admitted(self) -> int:
        """How many requests were let through."""
        return sum(self.allowed)

    @property
    def rejected(self) -> int:
        """How many requests were turned away."""
        return len(self.allowed) - self.admitted


def replay(
    impl: Callable[..., object],
    times: Iterable[float],
    *,
    capacity: float,
    refill_rate: float,
    step: float = 0.1,
    until: float | None = None,
) -> Trace:
    """Replay request ``times`` through a fresh ``impl(capacity, refill_rate, clock=...)``.

    Uses only the exercise contract: the constructor, ``allow()`` and the ``tokens``
    property. The clock starts at 0, so the bucket starts full at t = 0. Between requests
    ``tokens`` is sampled every ``step`` seconds up to ``until`` (default: the last request).
    """
    requests = _request_times(times)
    step = _positive("step", step)
    end = max(requests[-1] if requests else 0.0, 0.0 if until is None else float(until))
    if end / step > MAX_SAMPLES:
        raise ValueError(f"step must be >= {end / MAX_SAMPLES:g} for a {end:g} s replay, got {step!r}")

    clock = ManualClock(0.0)
    bucket = impl(capacity, refill_rate, clock=clock)
    grid = [i * step for i in range(math.floor(end / step + 1e-9) + 1)]
    sample_times: list[float] = []
    levels: list[float] = []
    request_levels: list[float] = []
    allowed: list[bool] = []

    def sample(t: float) -> float:
        level = float(bucket.tokens)
        sample_times.append(t)
        levels.append(level)
        return level

    g = 0
    for t in requests:
        while g < len(grid) and grid[g] < t:
            clock.set(grid[g])
            sample(grid[g])
            g += 1
        # set(), not advance(): times are sorted, and an absolute time gathers no rounding.
        clock.set(t)
        request_levels.append(sample(t))
        allowed.append(bool(bucket.allow()))
        sample(t)
    for t in grid[g:]:
        clock.set(t)
        sample(t)
    return Trace(
        tuple(sample_times), tuple(levels), tuple(requests), tuple(request_levels), tuple(allowed)
    )


def _single_key(limiter: object) -> Callable[[], bool]:
    """A zero-argument ``allow`` for single-key limiters and keyed ones (one fixed client)."""
    allow = limiter.allow
    if inspect.iscoroutinefunction(allow):
        raise TypeError(f"{limiter!r} is asyncio-only: pass a synchronous limiter")
    required = [
        p for p in inspect.signature(allow).parameters.values()
        if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    return (lambda: allow("client")) if required else allow


def decisions(factory: Callable[[ManualClock], object], times: Iterable[float]) -> list[bool]:
    """Admit-or-reject for each of the sorted ``times``, from ``factory(clock)`` on a clock starting at 0.

    The limiter may be single-key (``allow()``) or keyed (``allow(key)``: every request
    comes from one client).
    """
    clock = ManualClock(0.0)
    allow = _single_key(factory(clock))
    out = []
    for t in _request_times(times):
        clock.set(t)
        out.append(bool(allow()))
    return out


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
        self.figure = go.FigureWidget(
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
            self.figure,
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

    def update(self) -> Trace | None:
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
