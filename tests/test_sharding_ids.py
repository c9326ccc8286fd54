"""Snowflake and ULID: unique across processes, monotonic per worker, backwards clocks handled."""

from __future__ import annotations

import multiprocessing
import random

import pytest

from highload.clock import ManualClock
from highload.sharding import ULID, ClockMovedBackwards, Snowflake
from highload.sharding.ids import ulid_time_ms

NOW = 1_700_000_000.0  # a Unix time: Snowflake IDs carry calendar time


def _ids(worker: int, count: int = 100_000) -> list[int]:
    gen = Snowflake(worker)  # the real wall clock: sequence overflow waits really happen
    return [gen.next_id() for _ in range(count)]


def test_unique_across_four_processes_and_monotonic_per_worker():
    with multiprocessing.get_context("fork").Pool(4) as pool:
        batches = pool.map(_ids, range(4))
    assert all(batch == sorted(batch) and len(set(batch)) == len(batch) for batch in batches)
    every = [i for batch in batches for i in batch]
    assert len(every) == 400_000 and len(set(every)) == 400_000


def test_fields_round_trip():
    clock = ManualClock(NOW)
    gen = Snowflake(5, clock=clock)
    first, second = gen.next_id(), gen.next_id()
    parts = gen.parse(second)
    assert (parts.timestamp_ms, parts.worker, parts.sequence) == (int(NOW * 1000), 5, 1)
    clock.advance(0.001)
    assert gen.parse(gen.next_id()).sequence == 0, "a new millisecond restarts the sequence"
    assert first < second


def test_ids_sort_by_time_across_workers():
    clock = ManualClock(NOW)
    a, b = Snowflake(1023, clock=clock), Snowflake(0, clock=clock)
    early = a.next_id()
    clock.advance(0.002)
    assert b.next_id() > early, "a later millisecond sorts later whatever the worker"


def test_sequence_overflow_waits_for_the_next_millisecond():
    clock = ManualClock(NOW)
    gen = Snowflake(1, clock=clock)
    ids = [gen.next_id() for _ in range(4097)]
    assert len(set(ids)) == 4097 and ids == sorted(ids)
    assert gen.parse(ids[-1]).timestamp_ms == int(NOW * 1000) + 1 and gen.parse(ids[-1]).sequence == 0
    assert gen.waits >= 1


def test_small_backwards_step_is_waited_out():
    clock = ManualClock(NOW)
    gen = Snowflake(1, clock=clock, max_backwards_ms=10)
    before = gen.next_id()
    clock.set(NOW - 0.005)
    after = gen.next_id()
    assert after > before and gen.waits >= 1


def test_large_backwards_step_raises():
    clock = ManualClock(NOW)
    gen = Snowflake(1, clock=clock, max_backwards_ms=10)
    gen.next_id()
    clock.set(NOW - 1)
    with pytest.raises(ClockMovedBackwards):
        gen.next_id()


def test_snowflake_validates():
    for bad in (-1, 1024):
        with pytest.raises(ValueError):
            Snowflake(bad)
    with pytest.raises(TypeError):
        Snowflake(True)
    with pytest.raises(ValueError, match="41-bit"):
        Snowflake(1, clock=ManualClock(1.0)).next_id()  # before the custom epoch


def test_ulid_is_26_sortable_chars_and_monotonic_in_one_millisecond():
    clock = ManualClock(NOW)
    gen = ULID(clock=clock, rng=random.Random(1))
    ids = [gen.new() for _ in range(1000)]
    assert all(len(u) == 26 for u in ids) and ids == sorted(ids) and len(set(ids)) == 1000
    assert ulid_time_ms(ids[0]) == int(NOW * 1000)
    clock.advance(1)
    assert gen.new() > ids[-1]
    assert ULID(clock=clock, rng=random.Random(7)).new() == ULID(clock=clock, rng=random.Random(7)).new()
