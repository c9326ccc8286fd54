"""RetryStorm: many clients retrying into a recovering server, with and without jitter."""

from __future__ import annotations

import heapq
import html
import math
import numbers
import random
from collections.abc import Sequence
from dataclasses import dataclass

import ipywidgets as widgets
import plotly.graph_objects as go

from highload.resilience import backoff_delays

from .._errors import error_text
from .._panel import Panel
from ._common import BLUE, GREEN, GREY, ORANGE, RED, _count, _positive

#: Retry strategies :func:`retry_storm` compares, as ``backoff_delays`` jitter names.
STRATEGIES = {"no jitter": "none", "full jitter": "full", "decorrelated jitter": "decorrelated"}
STRATEGY_COLOURS = {"no jitter": RED, "full jitter": BLUE, "decorrelated jitter": GREEN,
                    "equal jitter": ORANGE}


@dataclass(frozen=True)
class StormRun:
    """One strategy's storm: requests per bucket, and what became of each client.

    ``load[b]`` counts requests that arrived in ``[b * bucket, (b + 1) * bucket)``;
    ``served[b]`` how many of them the server answered. Every client ends ``succeeded``,
    ``gave_up`` (out of attempts) or ``pending`` (its next retry falls after ``duration``).
    """

    strategy: str
    bucket: float
    load: tuple[int, ...]
    served: tuple[int, ...]
    succeeded: int
    gave_up: int
    pending: int
    last_success: float | None
    failure_until: float

    @property
    def requests(self) -> int:
        return sum(self.load)

    @property
    def peak(self) -> int:
        return max(self.load, default=0)

    @property
    def peak_after_recovery(self) -> int:
        """The busiest bucket once the server is back: what the recovering server must absorb."""
        first = math.floor(self.failure_until / self.bucket + 1e-9)
        return max(self.load[first:], default=0)

    @property
    def clients(self) -> int:
        return self.succeeded + self.gave_up + self.pending


def retry_storm(
    *,
    clients: int = 100,
    failure_until: float = 10.0,
    capacity: int = 20,
    duration: float = 40.0,
    base: float = 0.5,
    factor: float = 2.0,
    max_delay: float = 8.0,
    attempts: int = 10,
    spread: float = 0.5,
    bucket: float = 0.5,
    strategies: Sequence[str] = tuple(STRATEGIES),
    seed: int = 0,
) -> dict[str, StormRun]:
    """``clients`` each send one request in ``[0, spread)``; the server fails everything until
    ``failure_until``, then serves at most ``capacity`` requests per ``bucket`` seconds and fails
    the rest (overload). Every failed request is retried after the client's next
    :func:`~highload.resilience.backoff_delays` delay, up to ``attempts`` requests per client.

    Returns one :class:`StormRun` per strategy name ("no jitter", "full jitter",
    "decorrelated jitter", "equal jitter"). Every strategy sees the same start times; the
    delays come from ``random.Random(seed)``, so the same seed gives the same storm.
    """
    clients = _count("clients", clients)
    capacity = _count("capacity", capacity, minimum=0)
    attempts = _count("attempts", attempts)
    duration, bucket = _positive("duration", duration), _positive("bucket", bucket)
    failure_until = float(failure_until)
    if not 0 <= failure_until < math.inf:
        raise ValueError(f"failure_until must be finite seconds >= 0, got {failure_until!r}")
    if isinstance(spread, bool) or not isinstance(spread, numbers.Real) or spread < 0:
        raise ValueError(f"spread must be seconds >= 0, got {spread!r}")
    known = {**STRATEGIES, "equal jitter": "equal"}
    unknown = [s for s in strategies if s not in known]
    if unknown or not strategies:
        raise ValueError(f"strategies must be names from {sorted(known)}, got {list(strategies)!r}")
    starter = random.Random(f"{seed}:starts")
    starts = sorted(starter.uniform(0, spread) for _ in range(clients))
    n_buckets = math.ceil(duration / bucket - 1e-9)
    out = {}
    for name in strategies:
        rng = random.Random(seed)
        schedules = [backoff_delays(attempts - 1, base, factor, max_delay, known[name], rng)
                     for _ in range(clients)]
        load, served = [0] * n_buckets, [0] * n_buckets
        succeeded = gave_up = pending = 0
        last_success = None
        # Requests are served in order of arrival: a heap holds each client's next request.
        heap = [(t, c, 0) for c, t in enumerate(starts)]
        heapq.heapify(heap)
        while heap:
            t, c, attempt = heapq.heappop(heap)
            if t >= duration:
                pending += 1
                continue
            b = min(math.floor(t / bucket), n_buckets - 1)
            load[b] += 1
            if t >= failure_until and served[b] < capacity:
                served[b] += 1
                succeeded += 1
                last_success = t if last_success is None else max(last_success, t)
                continue
            if attempt + 1 >= attempts:
                gave_up += 1
                continue
            heapq.heappush(heap, (t + schedules[c][attempt], c, attempt + 1))
        out[name] = StormRun(name, bucket, tuple(load), tuple(served), succeeded, gave_up, pending,
                             last_success, failure_until)
    return out


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
        self.figure = go.FigureWidget(layout=go.Layout(
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
                                    self.figure, self.summary])
        self._watch(*c.values())
        self.update()

    def update(self) -> dict[str, StormRun] | None:
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
