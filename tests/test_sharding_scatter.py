"""Scatter-gather names the shards that miss; MapReduce aggregates what answered."""

from __future__ import annotations

import operator
import threading
from collections import Counter

import pytest

from highload.sharding import map_reduce, scatter_gather


def test_all_shards_answer():
    out = scatter_gather({"a": lambda: 1, "b": lambda: 2}, timeout=5)
    assert out.results == {"a": 1, "b": 2} and out.complete and out.missing == []


def test_a_slow_shard_is_reported_not_waited_for():
    gate = threading.Event()
    try:
        # The slow shard blocks until released: no sleeps, and the test cannot depend on speed.
        out = scatter_gather({"fast": lambda: "ok", "slow": lambda: gate.wait(30)}, timeout=0.2)
        assert out.results == {"fast": "ok"}
        assert out.timed_out == ["slow"] and out.missing == ["slow"] and not out.complete
    finally:
        gate.set()


def test_a_failing_shard_is_reported_with_its_error():
    def boom():
        raise ConnectionError("shard down")
    out = scatter_gather({"a": lambda: 1, "b": boom}, timeout=5)
    assert out.results == {"a": 1} and isinstance(out.failed["b"], ConnectionError) and out.missing == ["b"]


def test_timeout_must_be_positive():
    with pytest.raises(ValueError):
        scatter_gather({"a": lambda: 1}, timeout=0)


def test_map_reduce_counts_orders_per_product_and_names_the_missing_shard():
    shards = {
        "db-0": [{"product": "pen"}, {"product": "ink"}],
        "db-1": [{"product": "pen"}],
        "db-2": [{"product": "ink"}, {"product": "pen"}],
    }
    def count(rows):
        return Counter(r["product"] for r in rows)
    full = map_reduce(shards, count, operator.add, Counter(), timeout=5)
    assert full.value == Counter(pen=3, ink=2) and full.complete

    def broken(rows):
        if rows is shards["db-1"]:
            raise TimeoutError("db-1 did not answer")
        return count(rows)
    partial = map_reduce(shards, broken, operator.add, Counter(), timeout=5)
    assert partial.value == Counter(pen=2, ink=2) and partial.missing == ["db-1"]
