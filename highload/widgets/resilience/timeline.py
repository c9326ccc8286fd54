"""BreakerTimeline: a real circuit breaker (or the learner's own) riding out an outage."""

from __future__ import annotations

import html
import math
import numbers
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import ipywidgets as widgets
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from highload.clock import ManualClock
from highload.resilience import CircuitBreaker

from .._errors import error_text
from .._panel import Panel
from ._common import BLUE, GREEN, GREY, RED, _positive

#: Downstream failure-rate schedules: (from time s, failure rate) steps, each rate holding until the next.
SCHEDULES: dict[str, tuple[tuple[float, float], ...]] = {
    "outage 20-35 s": ((0, 0.0), (20, 1.0), (35, 0.0)),
    "flapping": ((0, 0.0), (10, 0.9), (16, 0.05), (22, 0.9), (28, 0.05), (34, 0.9), (40, 0.0)),
    "slow recovery": ((0, 0.0), (10, 1.0), (25, 0.6), (35, 0.3), (45, 0.05)),
    "10% errors": ((0, 0.1),),
}
#: The states a breaker reports, in the order their bands are drawn.
STATES = ("closed", "open", "half_open")
#: The latency drawn for a rejected call: the breaker answers at once ("fail fast").
REJECT_LATENCY = 0.001
#: A healthy downstream answers in this many seconds (uniform).
HEALTHY_LATENCY = (0.03, 0.08)

BAND = {"closed": "rgba(44,160,44,0.10)", "open": "rgba(214,39,40,0.16)",
        "half_open": "rgba(255,165,0,0.28)"}
LABEL = {"closed": "closed", "open": "open", "half_open": "half-open"}



def parse_schedule(schedule: str | Sequence[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    """A schedule as sorted ``(time, rate)`` steps, from a preset name, ``"t:rate, t:rate"`` or pairs.

    Rates are fractions in [0, 1] (``"20:100%"`` also works). Before the first step the rate is 0.

    >>> parse_schedule("0:0, 20:1, 35:0")
    ((0.0, 0.0), (20.0, 1.0), (35.0, 0.0))
    """
    if isinstance(schedule, str):
        if schedule in SCHEDULES:
            return SCHEDULES[schedule]
        pairs = []
        for part in schedule.replace(";", ",").split(","):
            if not part.strip():
                continue
            t, sep, rate = part.partition(":")
            if not sep:
                raise ValueError(f"schedule steps look like 't:rate', e.g. '20:1'; got {part.strip()!r}")
            rate = rate.strip()
            try:
                value = float(rate[:-1]) / 100 if rate.endswith("%") else float(rate)
                pairs.append((float(t), value))
            except ValueError:
                raise ValueError(f"schedule steps look like 't:rate', e.g. '20:1'; got {part.strip()!r}") from None
        schedule = pairs
    steps = []
    for step in schedule:
        try:
            t, rate = step
        except (TypeError, ValueError):
            raise ValueError(f"schedule must hold (time, rate) pairs, got {step!r}") from None
        if isinstance(t, bool) or not isinstance(t, numbers.Real) or not 0 <= t < math.inf:
            raise ValueError(f"schedule times must be finite seconds >= 0, got {t!r}")
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 <= rate <= 1:
            raise ValueError(f"schedule rates must be between 0 and 1, got {rate!r}")
        steps.append((float(t), float(rate)))
    if not steps:
        raise ValueError(f"schedule needs at least one 't:rate' step, got {schedule!r}")
    return tuple(sorted(steps))


def failure_rate_at(schedule: Sequence[tuple[float, float]], t: float) -> float:
    """The failure rate in force at time ``t`` (0 before the first step)."""
    rate = 0.0
    for start, value in schedule:
        if start <= t:
            rate = value
        else:
            break
    return rate


# -- replaying calls through a breaker ----------------------------------------------------------


class DownstreamError(Exception):
    """What the simulated downstream raises when a call fails (after the call timeout)."""


@dataclass(frozen=True)
class BreakerRun:
    """What one replay observed, call by call.

    ``outcomes[i]`` is "success", "failure" or "rejected"; ``latencies[i]`` is how long the
    caller waited (a failure holds a worker for the whole ``call_timeout``, a rejection for
    next to nothing). ``states[i]`` is ``.state`` right after call ``i``. ``bands`` are
    ``(start, end, state)`` periods and ``transitions`` are ``(time, from, to)``, both as seen
    through ``.state`` just before and just after each call: a breaker whose ``.state`` turns
    half-open lazily (like highload's) shows a failed trial as open -> half_open -> open at one
    instant; one that moves only inside ``call`` (like the seed's Lua port) shows nothing.
    """

    times: tuple[float, ...]
    outcomes: tuple[str, ...]
    latencies: tuple[float, ...]
    states: tuple[str, ...]
    bands: tuple[tuple[float, float, str], ...]
    transitions: tuple[tuple[float, str, str], ...]
    down: tuple[bool, ...]
    downstream_latencies: tuple[float, ...]

    def count(self, outcome: str) -> int:
        return self.outcomes.count(outcome)

    @property
    def successes(self) -> int:
        return self.count("success")

    @property
    def failures(self) -> int:
        return self.count("failure")

    @property
    def rejections(self) -> int:
        return self.count("rejected")

    @property
    def opened(self) -> int:
        """How many times the circuit opened (from closed or from half-open)."""
        return sum(1 for _, _, to in self.transitions if to == "open")

    @property
    def worker_seconds(self) -> float:
        """Seconds of caller time spent waiting, summed over every call."""
        return sum(self.latencies)

    @property
    def worker_seconds_unprotected(self) -> float:
        """The same traffic with no breaker: every call waits for the downstream."""
        return sum(self.downstream_latencies)

    def state_at(self, t: float) -> str:
        """The band's state at time ``t``."""
        for start, end, state in self.bands:
            if start <= t < end:
                return state
        return self.bands[-1][2]


def _state_of(breaker) -> str:
    state = breaker.state
    text = str(getattr(state, "value", state)).strip().lower().replace("-", "_").replace(" ", "_")
    if text == "halfopen":
        text = "half_open"
    if text not in STATES:
        raise ValueError(f".state must be one of {STATES}, got {state!r}")
    return text


def simulate_breaker(
    impl: Callable[..., object] | None = None,
    *,
    schedule: str | Sequence[tuple[float, float]] = "outage 20-35 s",
    duration: float = 60.0,
    rate: float = 5.0,
    seed: int = 0,
    call_timeout: float = 2.0,
    failure_threshold: int = 5,
    success_threshold: int = 2,
    open_timeout: float = 10.0,
    half_open_max_calls: int = 1,
) -> BreakerRun:
    """Send ``rate`` calls per second for ``duration`` s through a fresh ``impl`` on a ManualClock.

    ``impl`` (default :class:`~highload.resilience.CircuitBreaker`) is built with the exercise
    contract: ``impl(failure_threshold=..., success_threshold=..., open_timeout=...,
    half_open_max_calls=..., clock=...)``, then driven with ``.call(fn)`` and ``.state``. A call
    it refuses must raise an exception *named* ``CircuitOpenError`` (from any module).

    Whether the downstream fails at call ``i`` is drawn from ``random.Random(seed)`` before the
    call, for every call, so the same seed gives the same downstream whatever the breaker does.
    The clock does not move during a call: latency is recorded, not waited.
    """
    impl = CircuitBreaker if impl is None else impl
    steps = parse_schedule(schedule)
    duration, rate = _positive("duration", duration), _positive("rate", rate)
    call_timeout = _positive("call_timeout", call_timeout)
    n = math.ceil(duration * rate - 1e-9)
    rng = random.Random(seed)
    clock = ManualClock(0.0)
    breaker = impl(failure_threshold=failure_threshold, success_threshold=success_threshold,
                   open_timeout=open_timeout, half_open_max_calls=half_open_max_calls, clock=clock)

    times, outcomes, latencies, states, downs, waits = [], [], [], [], [], []
    changes: list[tuple[float, str]] = []  # every (time, state) the breaker reported, when it changed

    def seen(t: float, state: str) -> None:
        if not changes or changes[-1][1] != state:
            changes.append((t, state))

    for i in range(n):
        t = i / rate  # i / rate, not a running sum: exact spacing however long the run
        down = rng.random() < failure_rate_at(steps, t)
        healthy = rng.uniform(*HEALTHY_LATENCY)
        clock.set(t)
        try:
            seen(t, _state_of(breaker))
        except Exception as exc:
            exc.add_note(f"at t={t:g} s, reading .state")
            raise
        called = []

        def downstream(down=down, t=t, called=called):
            called.append(True)
            if down:
                raise DownstreamError(f"downstream timed out at t={t:g} s")
            return "ok"

        try:
            breaker.call(downstream)
            outcome = "failure" if down else "success"
            if not called:
                raise RuntimeError("call(fn) returned without calling fn: refuse a call by raising "
                                   "CircuitOpenError")
        except DownstreamError:
            outcome = "failure"
        except Exception as exc:
            if type(exc).__name__ != "CircuitOpenError":
                exc.add_note(f"at t={t:g} s, in .call()")
                raise
            outcome = "rejected"
        latency = {"success": healthy, "failure": call_timeout, "rejected": REJECT_LATENCY}[outcome]
        state = _state_of(breaker)
        seen(t, state)
        times.append(t)
        outcomes.append(outcome)
        latencies.append(latency)
        states.append(state)
        downs.append(down)
        waits.append(call_timeout if down else healthy)

    transitions = tuple((t, a, b) for (_, a), (t, b) in zip(changes, changes[1:], strict=False))
    merged: list[tuple[float, str]] = []
    for t, state in changes:  # a state that lasted no time at all gets no band
        if merged and merged[-1][0] == t:
            merged.pop()
        if not merged or merged[-1][1] != state:
            merged.append((t, state))
    ends = [t for t, _ in merged[1:]] + [duration]
    bands = tuple((start, end, state) for (start, state), end in zip(merged, ends, strict=True))
    return BreakerRun(tuple(times), tuple(outcomes), tuple(latencies), tuple(states), bands,
                      transitions, tuple(downs), tuple(waits))


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
        self.figure = go.FigureWidget(base)
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
            self.figure,
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

    def update(self) -> BreakerRun | None:
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



