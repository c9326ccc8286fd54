"""The hit-ratio lab of lesson 03: sliders for key popularity, cache size, TTL and update rate,
and what the cache saves, drawn from :func:`highload.cache.simulation.simulate_hit_ratio`."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from highload import _simulate, _validate
from highload.cache.simulation import (
    MAX_KEYS,
    HitRatioResult,
    _check_impl,
    simulate_hit_ratio,
)

from .._errors import error_text
from .._panel import Panel
from .._style import GREEN, GREY, ORANGE, RED

__all__ = ["HitRatioLab", "SIZE_STOPS", "TTL_STOPS"]

#: Slider stops for the cache size and the TTL (the values given to a widget are added).
SIZE_STOPS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
TTL_STOPS = (1, 2, 5, 10, 20, 30, 60, 120, 300, 600)


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

    _default_impl_name = "CacheAside"

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
        self.keys, self.seed = keys, _simulate.check_seed(seed)
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
        self.figure = go.Figure(base)
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
            self.chart,
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

    def _recompute(self) -> HitRatioResult | None:
        """Replay with the current controls and redraw; returns the result, or None on error."""
        try:
            result = self.compute()
        except Exception as exc:  # a learner's half-written class must not kill the widget
            self.result, self.impl_error = None, error_text(exc)
            self._draw()
            self.summary.value = (f"<span style='color:{RED}'><b>{html.escape(self._impl_name())} raised</b> "
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
        self.figure.plotly_restyle({"x": [x] * len(ys), "y": ys}, trace_indexes=list(range(len(ys))))
        r = self.result
        s = self.settings()
        self.figure.layout.title.text = "" if r is None else (
            f"{self._impl_name()}: {s['cache_size']} entries, ttl {s['ttl']:g} s, "
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
            parts.append(f"<span style='color:{ORANGE}'><b>{html.escape(self._impl_name())}.stats</b> says "
                         f"loads={r.stats.get('loads')!r}, but the loader ran {r.loads:,} times.</span>")
        return "<br>".join(parts)
