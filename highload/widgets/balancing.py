"""LoadBalancerRace: balancers (or the learner's own) race on the same requests to uneven servers.

Each algorithm drives the seeded SimPy simulation of :func:`highload.balancing.simulate`: the same
Poisson arrivals and the same request sizes for every entry, so the only difference between two
bars is the balancer. A run is a fixed number of requests, so a redraw takes a fraction of a
second whatever the load::

    from highload.widgets import LoadBalancerRace
    LoadBalancerRace(server_speeds=(1, 1, 4), load=0.9, impl=MyLeastConnections)
"""

from __future__ import annotations

import html
import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import reduce

import ipywidgets as widgets
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from highload import _validate
from highload.balancing import (
    LeastConnections,
    PowerOfTwoChoices,
    RoundRobin,
    SmoothWeightedRoundRobin,
    simulate,
)

from ._errors import error_text
from ._panel import Panel

__all__ = [
    "ALGORITHMS",
    "DEFAULT_ALGORITHMS",
    "YOURS",
    "RaceResult",
    "weights_for",
    "race",
    "race_impl",
    "LoadBalancerRace",
]

#: The built-in entries, in drawing order.
ALGORITHMS = ("round robin", "weighted round robin", "least connections", "power of two")
DEFAULT_ALGORITHMS = ("round robin", "least connections", "power of two")
#: The entry name of the learner's class (``impl=``).
YOURS = "your balancer"
PERCENTILES = ("p50", "p95", "p99")
#: Tick marks for the latency axis: 1-2-5 steps, so a log axis never shows bare minor digits.
LOG_TICKS = [m * 10**e for e in range(-3, 5) for m in (1, 2, 5)]
#: At most this many servers: more bars than that are unreadable.
MAX_SERVERS = 12
RED, ORANGE, BLUE, GREEN, PURPLE, GREY = "#d62728", "#ff7f0e", "#1f77b4", "#2ca02c", "#9467bd", "#7f7f7f"
COLOURS = {"round robin": RED, "weighted round robin": ORANGE, "least connections": BLUE,
           "power of two": GREEN, YOURS: PURPLE}


@dataclass(frozen=True)
class RaceResult:
    """One entry's run: requests per server (``counts[i]`` went to ``s{i}``) and latency in seconds.

    Latency is queueing plus service, from arrival to the end of the request. ``note`` is a
    warning about the balancer that did not stop the run (e.g. connections never released).
    """

    name: str
    counts: tuple[int, ...]
    p50: float
    p95: float
    p99: float
    mean: float
    note: str = ""

    @property
    def requests(self) -> int:
        return sum(self.counts)

    @property
    def shares(self) -> tuple[float, ...]:
        """The fraction of all requests each server got."""
        total = self.requests
        return tuple(n / total for n in self.counts)

    @property
    def percentiles(self) -> tuple[float, float, float]:
        return self.p50, self.p95, self.p99


# -- arguments ----------------------------------------------------------------------------------


def _speeds(server_speeds) -> tuple[float, ...]:
    if isinstance(server_speeds, str | bytes) or not isinstance(server_speeds, Iterable):
        raise TypeError(f"server_speeds must be a sequence of numbers (requests/s), got {server_speeds!r}")
    speeds = tuple(server_speeds)
    if not 1 <= len(speeds) <= MAX_SERVERS:
        raise ValueError(f"server_speeds must hold 1 to {MAX_SERVERS} speeds, got {list(speeds)!r}")
    for speed in speeds:
        if isinstance(speed, bool) or not isinstance(speed, numbers.Real):
            raise TypeError(f"server_speeds must be numbers (requests/s), got {speed!r}")
        if not 0 < speed < math.inf:
            raise ValueError(f"server_speeds must be finite numbers > 0, got {speed!r}")
    return tuple(float(s) for s in speeds)


def _algorithms(algorithms) -> tuple[str, ...]:
    if isinstance(algorithms, str):
        algorithms = (algorithms,)
    picked = tuple(algorithms)
    unknown = [a for a in picked if a not in ALGORITHMS]
    if unknown:
        raise ValueError(f"algorithms must be names from {ALGORITHMS}, got {list(picked)!r}")
    return tuple(a for a in ALGORITHMS if a in picked)  # drawing order, no duplicates


def _requests(requests) -> int:
    return _validate.integer("requests", requests, minimum=10)


def _seed(seed) -> int:
    return _validate.integer("seed", seed, minimum=-(2**62))


def parse_speeds(text: str) -> tuple[float, ...]:
    """``"1, 1, 4"`` -> ``(1.0, 1.0, 4.0)``; ValueError saying what it wants otherwise."""
    parts = [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]
    try:
        return _speeds(float(p) for p in parts)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"server speeds are comma-separated requests/s > 0, e.g. 1, 1, 4 ({exc})") from None


def weights_for(server_speeds: Sequence[float]) -> dict[str, int]:
    """Integer weights proportional to the speeds (to 0.1), smallest terms: ``(1, 1, 4)`` -> 1, 1, 4.

    >>> weights_for([0.5, 1.5])
    {'s0': 1, 's1': 3}
    """
    tenths = [max(1, round(s * 10)) for s in _speeds(server_speeds)]
    common = reduce(math.gcd, tenths)
    return {f"s{i}": t // common for i, t in enumerate(tenths)}


def _factory(name: str, weights: dict[str, int], seed: int) -> Callable[[list[str]], object]:
    if name == "round robin":
        return RoundRobin
    if name == "weighted round robin":
        return lambda servers: SmoothWeightedRoundRobin(weights)
    if name == "least connections":
        return LeastConnections
    return lambda servers: PowerOfTwoChoices(servers, rng=seed)


def _run(name, factory, speeds, load, requests, seed) -> RaceResult:
    rate = load * sum(speeds)
    result = simulate(factory, speeds, arrival_rate=rate, duration=requests / rate, seed=seed)
    counts = tuple(result.counts[f"s{i}"] for i in range(len(speeds)))
    return RaceResult(name, counts, result.p50, result.p95, result.p99, result.mean)


def race(
    algorithms: Iterable[str] = DEFAULT_ALGORITHMS,
    server_speeds: Sequence[float] = (1, 1, 4),
    load: float = 0.9,
    *,
    impl: Callable[..., object] | None = None,
    requests: int = 2000,
    seed: int = 0,
) -> dict[str, RaceResult]:
    """Race each named algorithm (and ``impl``, as :data:`YOURS`) on the same requests.

    Servers ``s0, s1, ...`` serve ``server_speeds[i]`` requests per second each, one at a time,
    with exponential service times. Requests arrive as a Poisson process at ``load`` times the
    total capacity (``load=0.9``: 90% of ``sum(server_speeds)``) until about ``requests`` have
    arrived. "weighted round robin" uses :func:`weights_for` the speeds; "power of two" is seeded
    with ``seed``. The same ``seed`` gives the same numbers. Errors from ``impl`` propagate.

    >>> results = race(["round robin", "least connections"], (1, 1, 4), load=0.9, requests=500)
    >>> results["least connections"].p99 < results["round robin"].p99
    True
    """
    picked = _algorithms(algorithms)
    speeds = _speeds(server_speeds)
    load = _validate.finite_positive("load", load)
    requests, seed = _requests(requests), _seed(seed)
    if not picked and impl is None:
        raise ValueError(f"algorithms must name at least one of {ALGORITHMS} (or pass impl=), got none")
    weights = weights_for(speeds)
    out = {name: _run(name, _factory(name, weights, seed), speeds, load, requests, seed) for name in picked}
    if impl is not None:
        out[YOURS] = race_impl(impl, speeds, load, requests=requests, seed=seed)
    return out


# -- the learner's balancer ---------------------------------------------------------------------


def _has(obj, name: str) -> bool:
    return callable(getattr(obj, name, None))


class _Driven:
    """Drives a learner's balancer with the simulation's ``acquire()``/``release(server)``.

    ``LeastConnections``-style classes (``impl(servers)``, ``acquire()``, ``release(server)``) are
    called as they are; ``SmoothWeightedRoundRobin``-style ones (``impl(weights)``, ``next()``)
    get ``next()`` for ``acquire()`` and nothing for ``release``. Every answer is checked, and
    an error says which call, at which request, raised it.
    """

    def __init__(self, impl, servers: list[str], weights: dict[str, int]) -> None:
        self.servers = list(servers)
        self.acquired = self.released = 0
        self.name = getattr(impl, "__name__", type(impl).__name__)
        if _has(impl, "acquire"):
            self.kind = "acquire"
        elif _has(impl, "next"):
            self.kind = "next"
        else:  # a factory function, not a class: look at what it builds
            self.kind = ""
        arg = dict(weights) if self.kind == "next" else list(servers)
        try:
            self.inner = impl(arg)
        except Exception as exc:
            exc.add_note(f"in {self.name}({arg!r})")
            raise
        if not self.kind:
            self.kind = "acquire" if _has(self.inner, "acquire") else "next" if _has(self.inner, "next") else ""
        if not self.kind:
            raise TypeError(
                f"impl must have acquire() and release(server) (like LeastConnections) or next() "
                f"(like SmoothWeightedRoundRobin); {self.name} has neither"
            )
        if self.kind == "acquire" and not _has(self.inner, "release"):
            raise TypeError(f"{self.name} has acquire() but no release(server): the balancer is told "
                            "when each request ends through release(server)")

    def acquire(self) -> str:
        call = "acquire" if self.kind == "acquire" else "next"
        try:
            server = getattr(self.inner, call)()
        except Exception as exc:
            exc.add_note(f"at request #{self.acquired + 1}, in {self.name}.{call}()")
            raise
        if server not in self.servers:
            raise ValueError(f"{self.name}.{call}() returned {server!r} at request #{self.acquired + 1}; "
                             f"it must return one of {self.servers!r}")
        self.acquired += 1
        return server

    def release(self, server: str) -> None:
        self.released += 1
        if self.kind != "acquire":
            return
        try:
            self.inner.release(server)
        except Exception as exc:
            exc.add_note(f"at release #{self.released}, in {self.name}.release({server!r})")
            raise

    def leftover(self) -> dict[str, int]:
        """Servers whose ``active(server)`` is not 0 once every request has finished."""
        if not _has(self.inner, "active"):
            return {}
        counts = {s: self.inner.active(s) for s in self.servers}
        return {s: n for s, n in counts.items() if n != 0}


def race_impl(
    impl: Callable[..., object],
    server_speeds: Sequence[float] = (1, 1, 4),
    load: float = 0.9,
    *,
    requests: int = 2000,
    seed: int = 0,
) -> RaceResult:
    """Race the learner's balancer class alone, on the same requests as :func:`race`.

    ``impl`` meets the exercise contract of ``LeastConnections(servers)`` (``acquire()``,
    ``release(server)``, ``active(server)``) or ``SmoothWeightedRoundRobin(weights)``
    (``next()``), where ``weights`` is :func:`weights_for` the speeds. If it has ``active``,
    every server must be back at 0 active connections after the run; otherwise the result's
    ``note`` says which are not.
    """
    if not callable(impl):
        raise TypeError(f"impl must be a balancer class such as LeastConnections, got {impl!r}")
    speeds = _speeds(server_speeds)
    load = _validate.finite_positive("load", load)
    requests, seed = _requests(requests), _seed(seed)
    weights = weights_for(speeds)
    made: list[_Driven] = []

    def factory(servers):
        made.append(_Driven(impl, servers, weights))
        return made[-1]

    try:
        result = _run(YOURS, factory, speeds, load, requests, seed)
    except Exception as exc:
        # SimPy re-raises a copy of a process's exception; the learner's original (with its
        # traceback and our note saying which call failed) is the cause.
        cause = exc.__cause__
        if type(cause) is type(exc) and cause.args == exc.args:
            raise cause from None
        raise
    leftover = made[0].leftover()
    note = (f"after every request finished, active() is not 0 on {leftover}: does release() "
            "take the connection back?") if leftover else ""
    return RaceResult(YOURS, result.counts, result.p50, result.p95, result.p99, result.mean, note)


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
        if impl is not None and not callable(impl):
            raise TypeError(f"impl must be a balancer class such as LeastConnections, got {impl!r}")
        self.impl = impl
        self.seed, self.requests = _seed(seed), _requests(requests)
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
        self.figure = go.FigureWidget(base)
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
            self.figure,
            self.summary,
        ])
        self._watch(*c.values(), *self.picks.values())
        self.update()

    def picked(self) -> tuple[str, ...]:
        """The built-in algorithms whose checkbox is ticked."""
        return tuple(name for name in ALGORITHMS if self.picks[name].value)

    def update(self) -> dict[str, RaceResult] | None:
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
        # One restyle with a value for every trace: a batch_update sends "no change" for the traces
        # a property did not change on, and the browser reads that as null (x reset, legend shown).
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
