"""Metrics through the event/listener API: hits, misses, loads, load latency, stale serves."""

from __future__ import annotations

import pytest

from highload.cache import KINDS, CacheAside, CacheMetrics, WriteBackCache, WriteThroughCache
from highload.clock import ManualClock


def slow_loader(clock, seconds):
    def loader(key):
        clock.advance(seconds)
        return key.upper()

    return loader


def test_events_report_each_decision_with_its_key_and_the_load_latency():
    clock = ManualClock()
    cache = CacheAside(slow_loader(clock, 0.5), 10, clock=clock, name="users")
    events = []
    cache.subscribe(events.append)
    cache.get("a")
    cache.get("a")
    assert [(e.source, e.kind, e.detail["key"]) for e in events] == [
        ("users", "miss", "a"), ("users", "load", "a"), ("users", "hit", "a")]
    assert events[1].duration == 0.5
    assert events[1].time == 0.5


def test_listeners_can_pick_kinds_and_unsubscribe():
    clock = ManualClock()
    cache = CacheAside(lambda k: k, 10, clock=clock)
    loads = []
    unsubscribe = cache.subscribe(loads.append, "load")
    cache.get("a")
    cache.get("a")
    unsubscribe()
    cache.get("b")
    assert [e.kind for e in loads] == ["load"]


def test_a_failing_listener_never_breaks_a_read(caplog):
    cache = CacheAside(lambda k: k, 10, clock=ManualClock())

    def broken(event):
        raise RuntimeError("exporter down")

    cache.subscribe(broken)
    assert cache.get("a") == "a"
    assert "listener" in caplog.text


def test_unknown_event_kinds_are_rejected_by_name():
    cache = CacheAside(lambda k: k, 10)
    with pytest.raises(ValueError, match=r"kinds must be among .* got \['hits'\]"):
        cache.subscribe(print, "hits")
    with pytest.raises(TypeError, match="listener must be callable"):
        cache.subscribe("print")


def test_metrics_snapshot_has_counters_latency_percentiles_and_hit_ratio():
    clock = ManualClock()
    durations = iter([0.25, 0.5, 1.0, 2.0])

    def loader(key):
        clock.advance(next(durations))
        return key

    cache = CacheAside(loader, 100, clock=clock, name="products")
    for key in ["a", "b", "c", "d", "a", "a", "b", "c"]:
        cache.get(key)
    m = cache.metrics()
    assert isinstance(m, CacheMetrics)
    assert (m.name, m.hits, m.misses, m.loads) == ("products", 4, 4, 4)
    assert (m.load_p50, m.load_p95, m.load_p99) == (0.5, 2.0, 2.0)
    assert m.hit_ratio == 0.5


def test_stale_serves_and_early_refreshes_are_counted_and_published():
    clock = ManualClock()
    cache = CacheAside(slow_loader(clock, 1), 10, clock=clock, stale_while_revalidate=5,
                       executor=type("Inline", (), {"submit": lambda self, fn: fn()})())
    kinds = []
    cache.subscribe(lambda e: kinds.append(e.kind), "stale", "load")
    cache.get("a")
    clock.set(11.5)
    cache.get("a")  # stale; the inline executor refreshes before get returns
    assert kinds == ["load", "stale", "load"]
    assert cache.counters["stale_hits"] == 1
    assert cache.metrics().hit_ratio == 0.5


def test_metrics_before_any_read():
    m = CacheAside(lambda k: k, 10).metrics()
    assert m.hit_ratio == 0.0 and m.load_p50 is None


def test_write_strategies_count_their_own_events():
    clock = ManualClock()
    wt = WriteThroughCache({"s": 1})
    wt.write("a", 1)
    wt.read("a")
    wt.read("s")
    assert {k: wt.stats[k] for k in ("writes", "hits", "misses")} == {"writes": 1, "hits": 1, "misses": 1}
    wb = WriteBackCache({}, 10, clock)
    flushed = []
    wb.subscribe(lambda e: flushed.append(e.detail["written"]), "flush")
    wb.write("a", 1)
    wb.write("b", 2)
    wb.flush()
    assert flushed == [2] and wb.counters["flushes"] == 1 and wb.counters["writes"] == 2


def test_stats_are_exactly_the_exercise_counters_and_counters_have_every_kind():
    cache = CacheAside(lambda k: k, 10)
    cache.get("a")
    cache.get("a")
    assert cache.stats == {"hits": 1, "misses": 1, "loads": 1}
    assert len(cache.counters) == len(KINDS)
    assert cache.counters["hits"] == 1 and cache.counters["stale_hits"] == 0
