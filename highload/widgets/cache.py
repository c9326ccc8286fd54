"""Cache visualizers for lesson 03: what a read-through cache saves, and what a stampede costs.

* :class:`HitRatioLab` replays a seeded read workload (Zipf-popular keys, random updates to
  the database) through a real :class:`~highload.cache.CacheAside`, or the learner's own
  (``impl=``), on a :class:`~highload.clock.ManualClock`, and plots the hit ratio, the
  queries that reach the database and the stale reads.
* :class:`StampedeVisualizer` runs many readers of one hot key across its expiry, with no
  protection, a single-flight lock or XFetch, and plots every database query and every
  read that had to wait.

Nothing sleeps and nothing depends on the machine's speed: the same sliders always draw
the same picture::

    from highload.widgets import HitRatioLab, StampedeVisualizer
    HitRatioLab(zipf_s=1.0, cache_size=100, ttl=60, impl=MyCacheAside)
    StampedeVisualizer(readers=50, protection=("none", "lock", "xfetch"))
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import html
import itertools
import math
import random
import selectors
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import ipywidgets as widgets
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from highload import _validate
from highload.cache import AsyncCacheAside, CacheAside
from highload.clock import ManualClock

from ._errors import error_text
from ._panel import Panel

__all__ = [
    "PROTECTIONS",
    "DEFAULT_PROTECTIONS",
    "Row",
    "HitRatioResult",
    "simulate_hit_ratio",
    "zipf_weights",
    "StampedeResult",
    "simulate_stampede",
    "stampede",
    "HitRatioLab",
    "StampedeVisualizer",
]

RED, ORANGE, BLUE, GREEN, PURPLE, GREY = "#d62728", "#ff7f0e", "#1f77b4", "#2ca02c", "#9467bd", "#7f7f7f"

#: The stampede protections :func:`simulate_stampede` knows, in drawing order.
PROTECTIONS = ("none", "lock", "xfetch", "xfetch + lock")
DEFAULT_PROTECTIONS = ("none", "lock", "xfetch")
COLOURS = {"none": RED, "lock": BLUE, "xfetch": GREEN, "xfetch + lock": PURPLE}
#: Line styles for the query lines: after a refresh several sit at 1 query, on top of each other.
LINES = {"none": {"width": 2}, "lock": {"width": 5}, "xfetch": {"width": 2.5, "dash": "dot"},
         "xfetch + lock": {"width": 2, "dash": "dashdot"}}
#: Slider stops for the cache size and the TTL (the values given to a widget are added).
SIZE_STOPS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
TTL_STOPS = (1, 2, 5, 10, 20, 30, 60, 120, 300, 600)
MAX_KEYS = 100_000
MAX_READERS = 1000
#: A stampede reader's pause between reads, as fractions of the DB query time: always under 1,
#: so every reader reads again while a load started at the expiry is still running.
THINK = (0.3, 0.9)


def _seed(seed) -> int:
    return _validate.integer("seed", seed, minimum=-(2**62))


def _check_impl(impl) -> None:
    if impl is not None and not callable(impl):
        raise TypeError(f"impl must be a cache class like CacheAside(loader, ttl, max_entries=..., clock=...), "
                        f"got {impl!r}")


def _impl_name(impl) -> str:
    if impl is None:
        return "CacheAside"
    return getattr(impl, "__name__", type(impl).__name__)


# == hit ratio ===================================================================================


class Row(NamedTuple):
    """What the simulated database returns for a key: the key and its version (bumped by each update)."""

    key: str
    version: int


def zipf_weights(keys: int, s: float) -> list[float]:
    """Popularity of key ranks ``0 .. keys-1``: rank ``k`` is read in proportion to ``1 / (k + 1) ** s``.

    ``s = 0`` is uniform; ``s = 1`` is the classic Zipf law of web caches (the 2nd key is read
    half as often as the 1st, the 10th a tenth as often); larger ``s`` concentrates reads on
    fewer keys. The weights sum to 1.

    >>> [round(w, 3) for w in zipf_weights(3, 1.0)]
    [0.545, 0.273, 0.182]
    """
    keys = _validate.integer("keys", keys, minimum=1)
    s = _validate.number("zipf_s", s, minimum=0, inclusive=True)
    raw = [1.0 / (k + 1) ** s for k in range(keys)]
    total = sum(raw)
    return [w / total for w in raw]


@dataclass(frozen=True)
class HitRatioResult:
    """One replay of :func:`simulate_hit_ratio`.

    ``hits`` counts reads that did not call the loader, ``loads`` every loader call (the
    database queries), ``stale`` reads that returned a version older than the database's
    latest. The ``*_over_time`` tuples hold one value per time slice, ending at ``times``.
    ``stats`` is what the cache itself reported (its ``stats`` property), or None.
    """

    reads: int
    hits: int
    loads: int
    stale: int
    updates: int
    duration: float
    read_rate: float
    hottest_share: float
    times: tuple[float, ...]
    hit_ratio_over_time: tuple[float, ...]
    loads_per_second_over_time: tuple[float, ...]
    stale_share_over_time: tuple[float, ...]
    stats: Mapping[str, int] | None = None

    @property
    def hit_ratio(self) -> float:
        """Reads served from the cache, per read."""
        return self.hits / self.reads

    @property
    def stale_ratio(self) -> float:
        """Reads that returned an out-of-date value, per read."""
        return self.stale / self.reads

    @property
    def db_load(self) -> float:
        """Database queries per second (loader calls over the whole replay)."""
        return self.loads / self.duration


class _Database:
    """The replay's database: one version per key, bumped by updates; counts queries."""

    def __init__(self, names: list[str]) -> None:
        self.version = dict.fromkeys(names, 0)
        self.queries = 0

    def load(self, key) -> Row:
        self.queries += 1
        return Row(key, self.version[key])


def _call(what: str, fn: Callable, *args, **kwargs) -> Any:
    try:
        return fn(*args, **kwargs)
    except Exception as exc:
        exc.add_note(f"in {what}")
        raise


def simulate_hit_ratio(
    zipf_s: float = 1.0,
    cache_size: int = 100,
    ttl: float = 60.0,
    update_rate: float = 2.0,
    *,
    keys: int = 1000,
    reads: int = 15_000,
    read_rate: float = 50.0,
    invalidate_on_update: bool = False,
    seed: int = 0,
    impl: Callable[..., object] | None = None,
    slices: int = 30,
) -> HitRatioResult:
    """Replay ``reads`` reads of ``keys`` keys through a fresh cache-aside cache; count what happened.

    The workload, all on one :class:`ManualClock` and all from ``seed``:

    * a read every ``1 / read_rate`` seconds, of a key drawn with :func:`zipf_weights`
      (``zipf_s``): a few hot keys, a long tail of cold ones;
    * updates to the database at ``update_rate`` per second on average (a Poisson process),
      each bumping the version of a key picked uniformly at random. The cache is not told,
      unless ``invalidate_on_update`` is set, when each update also calls
      ``cache.invalidate(key)`` (what ``CacheAside.write`` does).

    The cache is ``impl(loader, ttl, max_entries=cache_size, clock=clock)``: by default
    :class:`highload.cache.CacheAside` on its memory backend, or a learner's class with the
    same contract. The loader takes no clock time. A read that returns a value for another
    key raises ``ValueError``; whatever ``impl`` raises propagates, with a note saying where.

    >>> r = simulate_hit_ratio(zipf_s=1.0, cache_size=100, ttl=60, update_rate=0, reads=5000)
    >>> r.loads == r.reads - r.hits, r.stale
    (True, 0)
    """
    zipf_s = _validate.number("zipf_s", zipf_s, minimum=0, inclusive=True)
    cache_size = _validate.integer("cache_size", cache_size, minimum=1)
    ttl = _validate.finite_positive("ttl", ttl)
    update_rate = _validate.number("update_rate", update_rate, minimum=0, inclusive=True)
    if update_rate == math.inf:
        raise ValueError(f"update_rate must be finite, got {update_rate!r}")
    keys = _validate.integer("keys", keys, minimum=1)
    if keys > MAX_KEYS:
        raise ValueError(f"keys must be <= {MAX_KEYS}, got {keys!r}")
    reads = _validate.integer("reads", reads, minimum=1)
    read_rate = _validate.finite_positive("read_rate", read_rate)
    if not isinstance(invalidate_on_update, bool):
        raise TypeError(f"invalidate_on_update must be True or False, got {invalidate_on_update!r}")
    seed = _seed(seed)
    slices = _validate.integer("slices", slices, minimum=1)
    _check_impl(impl)
    make = CacheAside if impl is None else impl
    name = _impl_name(impl)

    names = [f"item:{k}" for k in range(keys)]
    weights = zipf_weights(keys, zipf_s)
    cumulative = list(itertools.accumulate(weights))
    rng = random.Random(seed)
    picks = rng.choices(range(keys), cum_weights=cumulative, k=reads)
    duration = reads / read_rate
    update_rng = random.Random(seed + 1)
    updates: list[tuple[float, int]] = []
    if update_rate > 0:
        t = update_rng.expovariate(update_rate)
        while t < duration:
            updates.append((t, update_rng.randrange(keys)))
            t += update_rng.expovariate(update_rate)

    clock = ManualClock()
    db = _Database(names)
    cache = _call(f"{name}(loader, {ttl:g}, max_entries={cache_size}, clock=...)",
                  make, db.load, ttl, max_entries=cache_size, clock=clock)
    get = getattr(cache, "get", None)
    if not callable(get):
        raise TypeError(f"{name} has no get(key): the cache-aside contract is get(key), invalidate(key), stats")
    invalidate = getattr(cache, "invalidate", None)
    if invalidate_on_update and not callable(invalidate):
        raise TypeError(f"{name} has no invalidate(key), which invalidate_on_update needs")

    per_slice = duration / slices
    slice_reads, slice_hits, slice_loads, slice_stale = ([0] * slices for _ in range(4))
    hits = stale = 0
    next_update = 0
    for i, rank in enumerate(picks):
        now = (i + 1) / read_rate
        while next_update < len(updates) and updates[next_update][0] <= now:
            when, k = updates[next_update]
            clock.set(when)
            db.version[names[k]] += 1
            if invalidate_on_update:
                _call(f"{name}.invalidate({names[k]!r}) at update #{next_update + 1}", invalidate, names[k])
            next_update += 1
        clock.set(now)
        key = names[rank]
        before = db.queries
        value = _call(f"{name}.get({key!r}) at read #{i + 1}", get, key)
        if not isinstance(value, Row) or value.key != key:
            raise ValueError(f"{name}.get({key!r}) returned {value!r} at read #{i + 1}: "
                             f"it must return what loader({key!r}) returned")
        b = min(slices - 1, int((now - 1e-9) / per_slice))
        slice_reads[b] += 1
        slice_loads[b] += db.queries - before
        if db.queries == before:
            hits += 1
            slice_hits[b] += 1
        if value.version < db.version[key]:
            stale += 1
            slice_stale[b] += 1

    stats = getattr(cache, "stats", None)
    stats = dict(stats) if isinstance(stats, Mapping) else None
    close = getattr(cache, "close", None)
    if callable(close):
        close()
    hottest = max(1, keys // 100)
    return HitRatioResult(
        reads=reads, hits=hits, loads=db.queries, stale=stale, updates=next_update,
        duration=duration, read_rate=read_rate, hottest_share=sum(weights[:hottest]),
        times=tuple(per_slice * (b + 1) for b in range(slices)),
        hit_ratio_over_time=tuple(h / n if n else 0.0 for h, n in zip(slice_hits, slice_reads, strict=True)),
        loads_per_second_over_time=tuple(n / per_slice for n in slice_loads),
        stale_share_over_time=tuple(s / n if n else 0.0 for s, n in zip(slice_stale, slice_reads, strict=True)),
        stats=stats,
    )


def _stops(stops: Iterable[float], value: float, upper: float | None = None) -> list:
    picked = {s for s in stops if upper is None or s <= upper} | {value}
    return sorted(picked)


class HitRatioLab(Panel):
    """Sliders for key popularity, cache size, TTL and update rate; the cache's effect, plotted.

    Every change replays :func:`simulate_hit_ratio` (15,000 reads, 50 per second: five
    simulated minutes) and redraws three charts over time: the hit ratio, the queries that
    reach the database (against the reads that arrive), and the share of reads that were
    stale. The first slice shows the cold start: an empty cache misses everything.

    ``impl`` is a learner's class with the exercise contract ``CacheAside(loader, ttl,
    max_entries=None, clock=...)``, ``get(key)``, ``invalidate(key)`` and ``stats``; if it
    raises (or returns the wrong value), the error shows under the charts instead. Make the
    widget the last expression of a cell to display it.
    """

    def __init__(
        self,
        zipf_s: float = 1.0,
        cache_size: int = 100,
        ttl: float = 60,
        update_rate: float = 2.0,
        keys: int = 1000,
        seed: int = 0,
        impl: Callable[..., object] | None = None,
        *,
        reads: int = 15_000,
        invalidate_on_update: bool = False,
    ) -> None:
        zipf_s = _validate.number("zipf_s", zipf_s, minimum=0, inclusive=True)
        if zipf_s > 3:
            raise ValueError(f"zipf_s must be <= 3, got {zipf_s!r}")
        keys = _validate.integer("keys", keys, minimum=1)
        if keys > MAX_KEYS:
            raise ValueError(f"keys must be <= {MAX_KEYS}, got {keys!r}")
        cache_size = _validate.integer("cache_size", cache_size, minimum=1)
        ttl = _validate.finite_positive("ttl", ttl)
        update_rate = _validate.number("update_rate", update_rate, minimum=0, inclusive=True)
        if update_rate > 1000:
            raise ValueError(f"update_rate must be <= 1000 updates per second, got {update_rate!r}")
        if not isinstance(invalidate_on_update, bool):
            raise TypeError(f"invalidate_on_update must be True or False, got {invalidate_on_update!r}")
        _check_impl(impl)
        self.impl = impl
        self.keys, self.seed = keys, _seed(seed)
        self.reads = _validate.integer("reads", reads, minimum=100)
        #: The last replay (None while the impl raises).
        self.result: HitRatioResult | None = None
        #: The last error of the cache as text ("" when it ran).
        self.impl_error = ""

        slider = {"continuous_update": False, "style": {"description_width": "initial"}}
        self.controls: dict[str, widgets.Widget] = {
            "zipf_s": widgets.FloatSlider(
                value=zipf_s, min=0, max=max(2.0, zipf_s), step=0.1, readout_format=".1f",
                description="key popularity (Zipf s)", **slider),
            "cache_size": widgets.SelectionSlider(
                options=_stops(SIZE_STOPS, cache_size, upper=max(keys, cache_size)), value=cache_size,
                description="cache size (entries)", **slider),
            "ttl": widgets.SelectionSlider(
                options=[(f"{t:g} s", t) for t in _stops(TTL_STOPS, ttl)], value=ttl,
                description="TTL", **slider),
            "update_rate": widgets.FloatSlider(
                value=update_rate, min=0, max=max(20.0, update_rate), step=0.5, readout_format=".1f",
                description="DB updates per second", **slider),
            "invalidate_on_update": widgets.Checkbox(
                value=invalidate_on_update, description="invalidate the cache on each update", indent=False),
        }
        self.summary = widgets.HTML()
        self.summary.add_class("hl-hit-ratio-readout")
        base = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.07,
                             subplot_titles=("hit ratio", "database queries per second",
                                             "stale reads (older than the database)"))
        self.figure = go.FigureWidget(base)
        self.figure.add_trace(go.Scatter(name="hit ratio", mode="lines+markers", x=[], y=[],
                                         line={"color": GREEN, "shape": "hv"}), row=1, col=1)
        self.figure.add_trace(go.Scatter(name="reads arriving", mode="lines", x=[], y=[],
                                         line={"color": GREY, "dash": "dot"}), row=2, col=1)
        self.figure.add_trace(go.Scatter(name="queries reaching the DB", mode="lines+markers", x=[], y=[],
                                         line={"color": RED, "shape": "hv"}), row=2, col=1)
        self.figure.add_trace(go.Scatter(name="stale reads", mode="lines+markers", x=[], y=[],
                                         line={"color": ORANGE, "shape": "hv"}), row=3, col=1)
        self.figure.update_yaxes(tickformat=".0%", range=[0, 1.02], row=1, col=1)
        self.figure.update_yaxes(rangemode="tozero", row=2, col=1)
        self.figure.update_yaxes(tickformat=".0%", rangemode="tozero", row=3, col=1)
        self.figure.update_xaxes(title_text="simulated seconds", row=3, col=1)
        self.figure.update_layout(height=560, title_font_size=13, margin={"t": 80, "b": 50, "l": 60, "r": 20},
                                  legend={"orientation": "h", "y": -0.12})
        c = self.controls
        self.widget = widgets.VBox([
            widgets.HBox([c["zipf_s"], c["cache_size"]]),
            widgets.HBox([c["ttl"], c["update_rate"]]),
            c["invalidate_on_update"],
            self.figure,
            self.summary,
        ])
        self._watch(*c.values())
        self.update()

    def settings(self) -> dict[str, Any]:
        """The controls' values, by :func:`simulate_hit_ratio` parameter name."""
        values = {name: control.value for name, control in self.controls.items()}
        values["zipf_s"] = round(values["zipf_s"], 6)  # drop the float noise a browser adds
        values["update_rate"] = round(values["update_rate"], 6)
        return values

    def compute(self) -> HitRatioResult:
        """Replay with the current controls (what :meth:`update` draws); raises what ``impl`` raises."""
        return simulate_hit_ratio(**self.settings(), keys=self.keys, reads=self.reads, seed=self.seed,
                                  impl=self.impl)

    def update(self) -> HitRatioResult | None:
        """Replay with the current controls and redraw; returns the result, or None on error."""
        try:
            result = self.compute()
        except Exception as exc:  # a learner's half-written class must not kill the widget
            self.result, self.impl_error = None, error_text(exc)
            self._draw()
            self.summary.value = (f"<span style='color:{RED}'><b>{html.escape(_impl_name(self.impl))} raised</b> "
                                  f"{html.escape(self.impl_error)}</span>")
            return None
        self.result, self.impl_error = result, ""
        self._draw()
        self.summary.value = self._summary_html(result)
        return result

    def numbers(self) -> dict[str, list[float]]:
        """What the charts show, from the last replay (empty lists while the impl raises)."""
        r = self.result
        if r is None:
            return {"times": [], "hit_ratio": [], "reads_per_second": [], "loads_per_second": [], "stale_share": []}
        return {
            "times": list(r.times),
            "hit_ratio": list(r.hit_ratio_over_time),
            "reads_per_second": [r.read_rate] * len(r.times),
            "loads_per_second": list(r.loads_per_second_over_time),
            "stale_share": list(r.stale_share_over_time),
        }

    def _draw(self) -> None:
        shown = self.numbers()
        x = shown["times"]
        ys = [shown["hit_ratio"], shown["reads_per_second"], shown["loads_per_second"], shown["stale_share"]]
        # One restyle with a value for every trace (see LoadBalancerRace._draw).
        self.figure.plotly_restyle({"x": [x] * len(ys), "y": ys}, trace_indexes=list(range(len(ys))))
        r = self.result
        s = self.settings()
        self.figure.layout.title.text = "" if r is None else (
            f"{_impl_name(self.impl)}: {s['cache_size']} entries, ttl {s['ttl']:g} s, "
            f"Zipf s = {s['zipf_s']:g} over {self.keys:,} keys: hit ratio {r.hit_ratio:.1%}, "
            f"{r.db_load:.1f} DB queries/s, {r.stale_ratio:.1%} stale")

    def _summary_html(self, r: HitRatioResult) -> str:
        hottest = max(1, self.keys // 100)
        parts = [
            f"<b>{r.reads:,}</b> reads in {r.duration:g} simulated seconds: <b>{r.hits:,}</b> hits "
            f"(<b>{r.hit_ratio:.1%}</b>), <b>{r.loads:,}</b> database queries "
            f"(<b>{r.db_load:.1f}</b>/s instead of {r.read_rate:g}/s), <b>{r.stale:,}</b> stale reads "
            f"({r.stale_ratio:.1%}) after {r.updates:,} updates.",
            f"The {hottest:,} hottest keys ({hottest / self.keys:.0%} of {self.keys:,}) get "
            f"{r.hottest_share:.0%} of the reads.",
        ]
        if r.stats is not None and r.stats.get("loads") not in (None, r.loads):
            parts.append(f"<span style='color:{ORANGE}'><b>{html.escape(_impl_name(self.impl))}.stats</b> says "
                         f"loads={r.stats.get('loads')!r}, but the loader ran {r.loads:,} times.</span>")
        return "<br>".join(parts)

    def _impl_name(self) -> str:
        return _impl_name(self.impl)


# == stampede ====================================================================================


class _VirtualSelector:
    """A selector whose ``select(timeout)`` moves the clock forward instead of waiting.

    asyncio asks its selector to wait until the next timer is due; answering at once, with
    the clock advanced to that moment, turns the event loop into a discrete-event simulator.
    """

    def __init__(self, clock: ManualClock) -> None:
        self._inner = selectors.DefaultSelector()
        self._clock = clock

    def register(self, *args, **kwargs):
        return self._inner.register(*args, **kwargs)

    def unregister(self, *args, **kwargs):
        return self._inner.unregister(*args, **kwargs)

    def modify(self, *args, **kwargs):
        return self._inner.modify(*args, **kwargs)

    def get_key(self, fileobj):
        return self._inner.get_key(fileobj)

    def get_map(self):
        return self._inner.get_map()

    def close(self) -> None:
        self._inner.close()

    def select(self, timeout: float | None = None):
        if timeout is None:
            raise RuntimeError("the stampede simulation is stuck: every reader waits and nothing is scheduled")
        ready = self._inner.select(0)
        if not ready and timeout > 0:
            self._clock.advance(timeout)
        return ready


class _VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An asyncio loop whose time is a ManualClock: ``asyncio.sleep(5)`` returns at once, 5 s later."""

    def __init__(self, clock: ManualClock) -> None:
        self._virtual_clock = clock
        super().__init__(_VirtualSelector(clock))

    def time(self) -> float:
        return self._virtual_clock()


class Read(NamedTuple):
    """One read in a stampede run: who, when it started (seconds from expiry), how long it waited."""

    reader: int
    start: float
    wait: float


@dataclass(frozen=True)
class StampedeResult:
    """One run of :func:`simulate_stampede`. Times are seconds relative to the key's expiry.

    ``queries`` holds the start time of every database query after the priming one;
    ``reads`` every read with its wait. ``counters`` are the cache's own
    (:attr:`highload.cache.AsyncCacheAside.counters`), priming included.
    """

    protection: str
    readers: int
    db_latency: float
    xfetch_beta: float
    window: tuple[float, float]
    queries: tuple[float, ...]
    reads: tuple[Read, ...]
    counters: Mapping[str, int]

    @property
    def loads(self) -> int:
        """Database queries for the hot key during the run (the priming load not counted)."""
        return len(self.queries)

    @property
    def first_query(self) -> float | None:
        """When the first query started, relative to expiry (negative: before it); None if none ran."""
        return self.queries[0] if self.queries else None

    @property
    def loads_before_expiry(self) -> int:
        return sum(t < 0 for t in self.queries)

    @property
    def waits(self) -> tuple[Read, ...]:
        """The reads that were not answered at once (they loaded, or waited for a load)."""
        return tuple(r for r in self.reads if r.wait > 1e-12)

    @property
    def worst_wait(self) -> float:
        return max((r.wait for r in self.reads), default=0.0)

    def wait_of(self, reader: int) -> float:
        """The longest wait of one reader."""
        return max((r.wait for r in self.reads if r.reader == reader), default=0.0)


def _check_protection(protection) -> str:
    return _validate.choice("protection", protection, PROTECTIONS)


def _check_protections(protection) -> tuple[str, ...]:
    if isinstance(protection, str):
        protection = (protection,)
    if not isinstance(protection, Iterable):
        raise TypeError(f"protection must be names from {PROTECTIONS}, got {protection!r}")
    picked = tuple(protection)
    unknown = [p for p in picked if p not in PROTECTIONS]
    if unknown or not picked:
        raise ValueError(f"protection must be one or more of {PROTECTIONS}, got {list(picked)!r}")
    return tuple(p for p in PROTECTIONS if p in picked)


def _check_readers(readers) -> int:
    readers = _validate.integer("readers", readers, minimum=1)
    if readers > MAX_READERS:
        raise ValueError(f"readers must be <= {MAX_READERS}, got {readers!r}")
    return readers


def _check_latency(db_latency) -> float:
    db_latency = _validate.finite_positive("db_latency", db_latency)
    if db_latency > 10:
        raise ValueError(f"db_latency must be <= 10 seconds, got {db_latency!r}")
    return db_latency


def _check_beta(xfetch_beta) -> float:
    xfetch_beta = _validate.finite_positive("xfetch_beta", xfetch_beta)
    if xfetch_beta > 10:
        raise ValueError(f"xfetch_beta must be <= 10, got {xfetch_beta!r}")
    return xfetch_beta


def _run_outside_any_loop(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` here, or in a helper thread when this thread already runs an event loop (Jupyter)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="stampede-sim") as pool:
        return pool.submit(fn).result()


def simulate_stampede(
    protection: str = "none",
    readers: int = 50,
    db_latency: float = 0.5,
    *,
    xfetch_beta: float = 1.0,
    db_connections: int = 8,
    seed: int = 0,
) -> StampedeResult:
    """``readers`` clients keep reading one hot key across its expiry; count the database queries.

    What runs is the real :class:`highload.cache.AsyncCacheAside` on its memory backend,
    with ``protection`` as its configuration: ``"none"``; ``"lock"`` (``single_flight=True``:
    concurrent misses share one load); ``"xfetch"`` (``xfetch_beta``: the cache's own
    :func:`~highload.cache.xfetch_due` test refreshes early, on a seeded rng); or
    ``"xfetch + lock"`` (both: one early refresh while the others are served the cached value).

    What is modelled around it, in simulated time (an asyncio loop whose clock is a
    :class:`ManualClock`, so nothing sleeps and the same arguments give the same numbers):

    * the key is loaded once, long before; its entry expires at time 0 of the result;
    * each reader starts at ``-lead`` (``lead = db_latency * max(8 * xfetch_beta, 2)``) and
      loops: read the key, wait for the answer, "think" for a random ``0.3 .. 0.9 *
      db_latency`` seconds (from ``seed``), read again, until ``3 * db_latency`` after expiry.
      So every reader asks at least once while a load is running: the worst case a hot key
      meets;
    * the database answers a query in ``db_latency`` seconds, at most ``db_connections``
      at once; more queries wait for a connection, as on a real connection pool. The cache
      measures a load's duration (XFetch's delta) on the same clock.

    Not modelled: the cache's own cost (a memory lookup takes no time), network delays, and
    threads: asyncio tasks stand in for a server's concurrent requests.
    """
    protection = _check_protection(protection)
    readers = _check_readers(readers)
    db_latency = _check_latency(db_latency)
    xfetch_beta = _check_beta(xfetch_beta)
    db_connections = _validate.integer("db_connections", db_connections, minimum=1)
    seed = _seed(seed)
    options: dict[str, Any] = {}
    if protection in ("lock", "xfetch + lock"):
        options["single_flight"] = True
    if protection.startswith("xfetch"):
        options["xfetch_beta"] = xfetch_beta
    lead = db_latency * max(8 * xfetch_beta, 2.0)
    tail = 3 * db_latency
    ttl = lead + 60.0

    def run() -> StampedeResult:
        clock = ManualClock()
        loop = _VirtualTimeLoop(clock)
        query_times: list[float] = []
        reads: list[Read] = []

        async def main() -> tuple[float, dict[str, int]]:
            connections = asyncio.Semaphore(db_connections)

            async def query(key):
                query_times.append(clock())
                async with connections:
                    await asyncio.sleep(db_latency)
                return f"{key} as of t={clock():.3f}"

            cache = AsyncCacheAside(query, ttl, clock=clock, rng=seed, name=protection, **options)
            await cache.get("hot")
            entry = await cache.peek("hot")
            expiry = entry.expires
            start, end = expiry - lead, expiry + tail

            async def reader(i: int) -> None:
                think = random.Random(f"{seed}:{i}")
                await asyncio.sleep(start - clock() + think.uniform(0, THINK[1] * db_latency))
                while clock() < end:
                    began = clock()
                    await cache.get("hot")
                    reads.append(Read(i, began - expiry, clock() - began))
                    await asyncio.sleep(think.uniform(*THINK) * db_latency)

            await asyncio.gather(*(reader(i) for i in range(readers)))
            return expiry, cache.counters

        try:
            expiry, counters = loop.run_until_complete(main())
        finally:
            loop.close()
        return StampedeResult(
            protection=protection, readers=readers, db_latency=db_latency, xfetch_beta=xfetch_beta,
            window=(-lead, tail), queries=tuple(t - expiry for t in query_times[1:]),
            reads=tuple(sorted(reads, key=lambda r: (r.start, r.reader))), counters=counters,
        )

    return _run_outside_any_loop(run)


def stampede(
    protection: Iterable[str] = DEFAULT_PROTECTIONS,
    readers: int = 50,
    db_latency: float = 0.5,
    *,
    xfetch_beta: float = 1.0,
    db_connections: int = 8,
    seed: int = 0,
) -> dict[str, StampedeResult]:
    """:func:`simulate_stampede` for each protection, on the same readers and think times."""
    return {p: simulate_stampede(p, readers, db_latency, xfetch_beta=xfetch_beta,
                                 db_connections=db_connections, seed=seed)
            for p in _check_protections(protection)}


def _cumulative(times: tuple[float, ...], window: tuple[float, float]) -> tuple[list[float], list[int]]:
    """Step-line points for "queries started so far" across ``window``."""
    xs, ys = [window[0]], [0]
    for n, t in enumerate(times, start=1):
        xs.append(t)
        ys.append(n)
    xs.append(max(window[1], times[-1] if times else window[1]))
    ys.append(len(times))
    return xs, ys


class StampedeVisualizer(Panel):
    """Many readers of one hot key at its expiry: every database query, and every read that waited.

    Drag the number of readers, the database latency and XFetch's beta, and tick the
    protections to compare. Each change re-runs :func:`stampede` (the real
    :class:`~highload.cache.AsyncCacheAside` in simulated time; see
    :func:`simulate_stampede` for what is modelled) and redraws two charts against the
    expiry (the dashed line at 0): database queries started so far, and each read that
    was not answered at once, by when it started and how long it waited.
    """

    def __init__(
        self,
        readers: int = 50,
        protection: Iterable[str] = DEFAULT_PROTECTIONS,
        seed: int = 0,
        *,
        db_latency: float = 0.5,
        xfetch_beta: float = 1.0,
        db_connections: int = 8,
    ) -> None:
        readers = _check_readers(readers)
        picked = _check_protections(protection)
        self.seed = _seed(seed)
        db_latency = _check_latency(db_latency)
        xfetch_beta = _check_beta(xfetch_beta)
        self.db_connections = _validate.integer("db_connections", db_connections, minimum=1)
        #: The last results by protection (None while the controls are invalid).
        self.results: dict[str, StampedeResult] | None = None

        slider = {"continuous_update": False, "style": {"description_width": "initial"}}
        self.controls: dict[str, widgets.Widget] = {
            "readers": widgets.IntSlider(value=readers, min=1, max=max(200, readers), step=1,
                                         description="concurrent readers", **slider),
            "db_latency": widgets.FloatSlider(value=db_latency, min=0.1, max=max(2.0, db_latency), step=0.1,
                                              readout_format=".1f", description="DB query time (s)", **slider),
            "xfetch_beta": widgets.FloatSlider(value=xfetch_beta, min=0.25, max=max(2.0, xfetch_beta), step=0.25,
                                               readout_format=".2f", description="XFetch beta", **slider),
        }
        #: One checkbox per protection: tick it to run that one.
        self.picks: dict[str, widgets.Checkbox] = {
            name: widgets.Checkbox(value=name in picked, description=name, indent=False,
                                   layout=widgets.Layout(width="auto"))
            for name in PROTECTIONS
        }
        self.summary = widgets.HTML()
        self.summary.add_class("hl-stampede-readout")
        base = make_subplots(rows=1, cols=2, horizontal_spacing=0.1,
                             subplot_titles=("database queries started so far", "reads that waited"))
        self.figure = go.FigureWidget(base)
        for name in PROTECTIONS:
            self.figure.add_trace(go.Scatter(name=name, meta="queries", mode="lines", x=[], y=[],
                                             line={"color": COLOURS[name], "shape": "hv", **LINES[name]}),
                                  row=1, col=1)
        for name in PROTECTIONS:
            self.figure.add_trace(go.Scatter(name=name, meta="waits", mode="markers", showlegend=False, x=[], y=[],
                                             marker={"color": COLOURS[name], "size": 7, "opacity": 0.7}),
                                  row=1, col=2)
        for col in (1, 2):
            self.figure.add_vline(x=0, line_dash="dash", line_color=GREY, row=1, col=col)
        self.figure.update_xaxes(title_text="seconds from expiry")
        self.figure.update_yaxes(title_text="queries", rangemode="tozero", row=1, col=1)
        self.figure.update_yaxes(title_text="wait (s)", rangemode="tozero", row=1, col=2)
        self.figure.update_layout(height=420, title_font_size=13, margin={"t": 70, "b": 50, "l": 60, "r": 20},
                                  legend={"orientation": "h", "y": -0.2})
        c = self.controls
        self.widget = widgets.VBox([
            widgets.HBox([c["readers"], c["db_latency"], c["xfetch_beta"]]),
            widgets.HBox(list(self.picks.values())),
            self.figure,
            self.summary,
        ])
        self._watch(*c.values(), *self.picks.values())
        self.update()

    def picked(self) -> tuple[str, ...]:
        """The protections whose checkbox is ticked."""
        return tuple(name for name in PROTECTIONS if self.picks[name].value)

    def settings(self) -> dict[str, Any]:
        c = self.controls
        return {"readers": c["readers"].value, "db_latency": round(c["db_latency"].value, 6),
                "xfetch_beta": round(c["xfetch_beta"].value, 6)}

    def update(self) -> dict[str, StampedeResult] | None:
        """Re-run with the current controls and redraw; returns the results, or None."""
        try:
            picked = self.picked()
            if not picked:
                raise ValueError("tick at least one protection to run")
            results = stampede(picked, **self.settings(), db_connections=self.db_connections, seed=self.seed)
        except Exception as exc:
            self.results = None
            self._draw()
            self.summary.value = f"<span style='color:{RED}'>{html.escape(error_text(exc))}</span>"
            return None
        self.results = results
        self._draw()
        self.summary.value = self._summary_html(results)
        return results

    def numbers(self) -> dict[str, dict[str, list[float]]]:
        """What the charts show, per protection run: the step line of queries started so far
        (``query_x``, ``query_y``) and each read that waited (``wait_x``: start, ``wait_y``: wait)."""
        out = {}
        for name, r in (self.results or {}).items():
            qx, qy = _cumulative(r.queries, r.window)
            waits = r.waits
            out[name] = {"query_x": qx, "query_y": qy,
                         "wait_x": [w.start for w in waits], "wait_y": [w.wait for w in waits]}
        return out

    def _draw(self) -> None:
        shown = self.numbers()
        xs, ys, legend = [], [], []
        for trace in self.figure.data:
            got = shown.get(trace.name)
            if got is None:
                xs.append([])
                ys.append([])
            elif trace.meta == "queries":
                xs.append(got["query_x"])
                ys.append(got["query_y"])
            else:
                xs.append(got["wait_x"])
                ys.append(got["wait_y"])
            legend.append(trace.meta == "queries" and got is not None)
        # One restyle with a value for every trace (see LoadBalancerRace._draw).
        self.figure.plotly_restyle({"x": xs, "y": ys, "showlegend": legend},
                                   trace_indexes=list(range(len(self.figure.data))))
        s = self.settings()
        self.figure.layout.title.text = (
            f"{s['readers']} readers of one hot key across its expiry; DB query {s['db_latency']:g} s, "
            f"{self.db_connections} DB connections, XFetch beta {s['xfetch_beta']:g}"
        ) if self.results else ""

    def _summary_html(self, results: dict[str, StampedeResult]) -> str:
        rows = []
        for name, r in results.items():
            first = "none" if r.first_query is None else f"{r.first_query:+.2f} s"
            waited = len({w.reader for w in r.waits})
            rows.append(
                f"<tr><td style='color:{COLOURS[name]}'><b>{html.escape(name)}</b></td><td>{r.loads}</td>"
                f"<td>{first}</td><td>{waited} of {r.readers}</td><td>{r.worst_wait:.2f} s</td>"
                f"<td>{len(r.reads):,}</td></tr>")
        return (
            "<style>.hl-stampede td, .hl-stampede th {padding: 2px 10px; text-align: right}</style>"
            "<table class='hl-stampede'><tr><th>protection</th><th>DB queries</th><th>first query</th>"
            "<th>readers who waited</th><th>worst wait</th><th>reads</th></tr>" + "".join(rows) + "</table>"
            "Times are relative to the expiry; a negative first query is a refresh before it."
        )

    def _label(self) -> str:
        return ", ".join(self.picked())

