"""Hidden suite: WriteBackCache(store, flush_interval, clock) and WriteThroughCache(store) — one
test per clause of the contract.

The target is a module (``--target highload.cache``), or any object with both names: in a
notebook, a ``types.SimpleNamespace``. The store is a MutableMapping that logs every write and
can be told to fail, so the tests see exactly what reached it and when. Times move in steps of
0.25 and intervals are small multiples of 0.25, so every flush boundary is exactly representable.
Tests outside the ``flush_timer`` group never let an interval run out, so a timing mistake costs
only that group.
"""

from __future__ import annotations

from collections.abc import MutableMapping

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograder.suites._support import GRADING, Clock

#: The names this suite reads from its target; the runner checks them in grading mode.
TARGET_NAMES = ("WriteBackCache", "WriteThroughCache")

write_back = pytest.mark.group("write_back")
flush_timer = pytest.mark.group("flush_timer")
write_through = pytest.mark.group("write_through")

#: Long enough that no test outside flush_timer reaches it.
NEVER = 1_000_000


class StoreDown(Exception):
    """What the store raises while it is failing."""


class Store(MutableMapping):
    """The system of record: a dict that logs writes and raises ``StoreDown`` while ``failing``."""

    def __init__(self, data=None) -> None:
        self.data = dict(data or {})
        self.writes: list[tuple] = []
        self.failing = False
        self.on_write = None  # called with (key, value) before a write is applied

    def __getitem__(self, key):
        return self.data[key]

    def __setitem__(self, key, value):
        if self.on_write is not None:
            self.on_write(key, value)
        if self.failing:
            raise StoreDown(f"the database refused to write {key!r}")
        self.writes.append((key, value))
        self.data[key] = value

    def __delitem__(self, key):
        del self.data[key]

    def __iter__(self):
        return iter(self.data)

    def __len__(self):
        return len(self.data)


def _name(target, name):
    found = getattr(target, name, None)
    assert found is not None, f"the target must provide {name} (a module or namespace with that name)"
    return found


@pytest.fixture
def wb(target):
    return _name(target, "WriteBackCache")


@pytest.fixture
def wt(target):
    return _name(target, "WriteThroughCache")


def back(cls, interval=NEVER, data=None, start=1000.0):
    clock, store = Clock(start), Store(data)
    return cls(store, interval, clock=clock), store, clock


def through(cls, data=None):
    store = Store(data)
    return cls(store), store


# -- write-back: writes, reads and flush ----------------------------------------------------------
@write_back
def test_write_does_not_touch_the_store(wb):
    cache, store, _ = back(wb)
    cache.write("a", 1)
    assert store.writes == [] and "a" not in store, "write-back: a write updates the cache only"


@write_back
def test_write_marks_the_key_dirty(wb):
    cache, _, _ = back(wb)
    assert cache.dirty_count == 0, "a new cache has no dirty keys (dirty_count is an attribute or property)"
    cache.write("a", 1)
    assert cache.dirty_count == 1, "a written key is dirty until it is flushed"


@write_back
def test_dirty_count_counts_keys_not_writes(wb):
    cache, _, _ = back(wb)
    cache.write("a", 1)
    cache.write("a", 2)
    cache.write("b", 3)
    assert cache.dirty_count == 2, "three writes to two keys: 2 dirty keys"


@write_back
def test_read_serves_an_unflushed_write(wb):
    cache, _, _ = back(wb)
    cache.write("a", 1)
    assert cache.read("a") == 1, "a written value is read back from the cache before any flush"


@write_back
def test_read_serves_the_cache_before_the_store(wb):
    cache, _, _ = back(wb, data={"a": "old"})
    cache.write("a", "new")
    assert cache.read("a") == "new", "the cache is read first: the unflushed write wins over the store"


@write_back
def test_read_falls_through_to_the_store(wb):
    cache, _, _ = back(wb, data={"a": 1})
    assert cache.read("a") == 1, "a key not in the cache is read from the store"


@write_back
def test_read_from_the_store_is_not_cached(wb):
    cache, store, _ = back(wb, data={"a": 1})
    cache.read("a")
    store.data["a"] = 2
    assert cache.read("a") == 2, "a read that fell through to the store must not put the value in the cache"
    assert cache.dirty_count == 0, "and must not mark anything dirty"


@write_back
def test_key_in_neither_raises_key_error(wb):
    cache, _, _ = back(wb, data={"a": 1})
    with pytest.raises(KeyError):
        cache.read("b")


@write_back
def test_flush_writes_every_dirty_key(wb):
    cache, store, _ = back(wb, data={"c": 0})
    cache.write("a", 1)
    cache.write("b", 2)
    cache.flush()
    assert store.data == {"a": 1, "b": 2, "c": 0}, f"flush must write every dirty key, store is {store.data}"


@write_back
def test_flush_returns_how_many_keys_it_wrote(wb):
    cache, _, _ = back(wb)
    cache.write("a", 1)
    cache.write("b", 2)
    assert cache.flush() == 2, "two dirty keys: flush() returns 2"


@write_back
def test_last_write_wins(wb):
    cache, store, _ = back(wb)
    cache.write("a", 1)
    cache.write("b", 2)
    cache.write("a", 3)
    assert cache.flush() == 2, "a key written twice is one dirty key: flush() returns 2"
    assert store.data == {"a": 3, "b": 2}, "the store must hold the last value written to each key"


@write_back
def test_flush_cleans_the_keys_it_wrote(wb):
    cache, store, _ = back(wb)
    cache.write("a", 1)
    cache.flush()
    assert cache.dirty_count == 0, "after a flush nothing is dirty"
    assert cache.flush() == 0, "a second flush has nothing to write: 0"
    assert store.writes == [("a", 1)], "and must not write again"


@write_back
def test_flush_with_nothing_dirty_returns_zero(wb):
    cache, store, _ = back(wb)
    assert cache.flush() == 0 and store.writes == [], "a flush with no dirty keys writes nothing and returns 0"


@write_back
def test_flush_counts_only_dirty_keys(wb):
    cache, _, _ = back(wb)
    cache.write("a", 1)
    cache.flush()
    cache.write("b", 2)
    assert cache.flush() == 1, "a is clean and b is dirty: flush() returns 1"


@write_back
def test_flush_leaves_clean_keys_alone(wb):
    cache, store, _ = back(wb)
    cache.write("a", 1)
    cache.flush()
    store.data["a"] = "changed elsewhere"
    cache.write("b", 2)
    cache.flush()
    assert store.data["a"] == "changed elsewhere", "a was clean: the second flush must not write it again"
    assert store.writes == [("a", 1), ("b", 2)]


@write_back
def test_a_key_written_after_a_flush_is_dirty_again(wb):
    cache, store, _ = back(wb)
    cache.write("a", 1)
    cache.flush()
    cache.write("a", 2)
    assert cache.dirty_count == 1 and store.data["a"] == 1, "a new write makes a clean key dirty again"
    assert cache.flush() == 1 and store.data["a"] == 2


@write_back
def test_write_back_caches_do_not_share_state(wb):
    first, _, _ = back(wb)
    second, store, _ = back(wb)
    first.write("a", 1)
    assert second.dirty_count == 0 and second.flush() == 0 and store.writes == [], \
        "each cache keeps its own entries and dirty keys"


_back_ops = st.lists(st.tuples(st.sampled_from(["write", "write", "read", "flush", "poke"]),
                               st.sampled_from(["a", "b", "c"]), st.integers(0, 9)), max_size=40)


@write_back
@GRADING
@given(ops=_back_ops)
def test_write_back_matches_a_model(wb, ops):
    cache, store, _ = back(wb)
    cached: dict = {}
    dirty: set = set()
    model: dict = {}  # the store
    for op, key, value in ops:
        if op == "write":
            cache.write(key, value)
            cached[key] = value
            dirty.add(key)
        elif op == "poke":  # another service writes the store directly
            store.data[key] = model[key] = value
        elif op == "flush":
            want = len(dirty)
            assert cache.flush() == want, f"dirty keys {sorted(dirty)}: flush() must return {want}"
            model.update((k, cached[k]) for k in dirty)
            dirty.clear()
        elif key in cached or key in model:
            want = cached[key] if key in cached else model[key]
            assert cache.read(key) == want, f"read({key!r}) must be {want!r}"
        else:
            with pytest.raises(KeyError):
                cache.read(key)
        assert cache.dirty_count == len(dirty), f"after {op}: dirty_count must be {len(dirty)}"
        assert store.data == model, f"after {op}: the store must be {model}, got {store.data}"


# -- write-back: the flush timer ------------------------------------------------------------------
@flush_timer
def test_no_flush_before_the_interval(wb):
    cache, store, clock = back(wb, interval=5)
    cache.write("a", 1)
    clock.advance(4.75)
    cache.write("b", 2)
    cache.read("a")
    assert store.writes == [], "4.75 s after the last flush, with flush_interval=5, nothing is flushed"
    assert cache.dirty_count == 2


@flush_timer
def test_a_read_at_exactly_the_interval_flushes_first(wb):
    cache, store, clock = back(wb, interval=5)
    cache.write("a", 1)
    clock.advance(5)
    assert cache.read("a") == 1
    assert store.data == {"a": 1}, "a read exactly flush_interval after the last flush must flush first"
    assert cache.dirty_count == 0


@flush_timer
def test_a_write_at_the_interval_flushes_the_earlier_writes_first(wb):
    cache, store, clock = back(wb, interval=5)
    cache.write("a", 1)
    clock.advance(5)
    cache.write("b", 2)
    assert store.data == {"a": 1}, "the write at 5 s flushes first (a), then updates the cache (b)"
    assert cache.dirty_count == 1, "so b is dirty, waiting for the next flush"


@flush_timer
def test_a_write_at_the_interval_flushes_the_old_value_of_its_key(wb):
    cache, store, clock = back(wb, interval=5)
    cache.write("a", 1)
    clock.advance(5)
    cache.write("a", 2)
    assert store.data == {"a": 1}, "the flush comes first: the store gets a=1, and a=2 stays dirty"
    assert cache.read("a") == 2 and cache.dirty_count == 1


@flush_timer
def test_a_read_of_a_missing_key_still_flushes_first(wb):
    cache, store, clock = back(wb, interval=5)
    cache.write("a", 1)
    clock.advance(5)
    with pytest.raises(KeyError):
        cache.read("nowhere")
    assert store.data == {"a": 1}, "the flush happens before the read, even if the read then fails"


@flush_timer
def test_the_first_interval_starts_at_construction(wb):
    cache, store, clock = back(wb, interval=5)
    clock.advance(4.75)
    cache.write("a", 1)
    assert store.writes == [], "4.75 s after construction: no flush yet"
    clock.advance(0.25)
    cache.read("a")
    assert store.data == {"a": 1}, "5 s after construction the first interval is over: flush first"


@flush_timer
def test_a_manual_flush_restarts_the_interval(wb):
    cache, store, clock = back(wb, interval=5)
    clock.advance(3)
    cache.flush()  # t = 1003
    cache.write("a", 1)
    clock.advance(4.75)  # t = 1007.75: 7.75 s since construction, 4.75 s since the flush
    cache.read("a")
    assert store.writes == [], "the interval counts from the last flush, manual ones included"
    clock.advance(0.25)
    cache.read("a")
    assert store.data == {"a": 1}, "5 s after the manual flush: flush first"


@flush_timer
def test_an_automatic_flush_restarts_the_interval(wb):
    cache, store, clock = back(wb, interval=5)
    clock.advance(5)
    cache.write("a", 1)  # t = 1005: flushes (nothing), then a is dirty
    clock.advance(4.75)
    cache.write("b", 2)
    assert store.writes == [], "4.75 s after the automatic flush at t=1005: no flush yet"
    clock.advance(0.25)
    cache.read("a")
    assert store.data == {"a": 1, "b": 2}, "5 s after it: flush first"


@flush_timer
def test_a_late_operation_flushes_once_and_restarts_the_interval(wb):
    cache, store, clock = back(wb, interval=2)
    cache.write("a", 1)
    clock.advance(7)  # three intervals late
    cache.write("b", 2)  # flushes a
    clock.advance(1.75)
    cache.write("c", 3)
    assert store.data == {"a": 1}, "the interval restarts at the late flush (t=1007), not at t=1006"
    clock.advance(0.25)
    cache.read("c")
    assert store.data == {"a": 1, "b": 2, "c": 3}


@flush_timer
def test_flush_timer_uses_the_injected_clock(wb):
    cache, store, clock = back(wb, interval=5, start=50_000.0)
    cache.write("a", 1)
    clock.advance(5)
    cache.read("a")
    assert store.data == {"a": 1}, "five seconds on the injected clock end a flush_interval=5"


_timed_ops = st.lists(st.tuples(st.sampled_from(["write", "read", "flush", "wait", "wait"]),
                                st.sampled_from(["a", "b"]), st.integers(1, 12)), max_size=40)


@flush_timer
@GRADING
@given(interval=st.sampled_from([0.25, 1, 2.5]), ops=_timed_ops)
def test_flush_timer_matches_a_model(wb, interval, ops):
    cache, store, clock = back(wb, interval=interval)
    cached: dict = {}
    dirty: set = set()
    model: dict = {}
    last_flush = clock.now

    def flush():
        nonlocal last_flush
        model.update((k, cached[k]) for k in dirty)
        dirty.clear()
        last_flush = clock.now

    for op, key, amount in ops:
        if op == "wait":
            clock.advance(amount * 0.25)
            continue
        if op == "flush":
            want = len(dirty)
            assert cache.flush() == want, f"flush() must return {want}"
            flush()
        else:
            if clock.now - last_flush >= interval:
                flush()
            if op == "write":
                cache.write(key, amount)
                cached[key] = amount
                dirty.add(key)
            elif key in cached or key in model:
                assert cache.read(key) == (cached[key] if key in cached else model[key])
            else:
                with pytest.raises(KeyError):
                    cache.read(key)
        assert store.data == model, \
            f"flush_interval={interval}, last flush at t={last_flush}: after {op} at t={clock.now} the store must be {model}"
        assert cache.dirty_count == len(dirty), f"dirty_count must be {len(dirty)}"


# -- write-through --------------------------------------------------------------------------------
@write_through
def test_write_goes_to_the_store(wt):
    cache, store = through(wt)
    cache.write("a", 1)
    assert store.data == {"a": 1}, "write-through: every write reaches the store at once"


@write_through
def test_every_write_reaches_the_store_in_order(wt):
    cache, store = through(wt)
    cache.write("a", 1)
    cache.write("a", 2)
    cache.write("b", 3)
    assert store.writes == [("a", 1), ("a", 2), ("b", 3)], "each write is one store write, in order"


@write_through
def test_write_through_reads_back_a_written_value(wt):
    cache, _ = through(wt)
    cache.write("a", 1)
    assert cache.read("a") == 1


@write_through
def test_write_through_reads_the_cache_before_the_store(wt):
    cache, store = through(wt)
    cache.write("a", 1)
    store.data["a"] = "changed elsewhere"
    assert cache.read("a") == 1, "a written value is cached: read serves the cache first"


@write_through
def test_write_through_reads_fall_through_to_the_store(wt):
    cache, _ = through(wt, data={"a": 1})
    assert cache.read("a") == 1, "a key not in the cache is read from the store"


@write_through
def test_write_through_does_not_cache_what_it_reads_from_the_store(wt):
    cache, store = through(wt, data={"a": 1})
    cache.read("a")
    store.data["a"] = 2
    assert cache.read("a") == 2, "a read that fell through to the store must not put the value in the cache"


@write_through
def test_write_through_raises_key_error_for_a_key_in_neither(wt):
    cache, _ = through(wt, data={"a": 1})
    with pytest.raises(KeyError):
        cache.read("b")


@write_through
def test_the_store_is_written_before_the_cache(wt):
    cache, store = through(wt)
    cache.write("a", 1)
    seen = []
    store.on_write = lambda key, value: seen.append(cache.read(key))
    cache.write("a", 2)
    assert seen == [1], "while the store is being written the cache must still hold the old value"
    assert cache.read("a") == 2, "and the new one once write() has returned"


@write_through
def test_a_failed_store_write_propagates_the_error(wt):
    cache, store = through(wt)
    store.failing = True
    with pytest.raises(StoreDown):
        cache.write("a", 1)


@write_through
def test_a_failed_store_write_keeps_the_old_cached_value(wt):
    cache, store = through(wt)
    cache.write("a", 1)
    store.data["a"] = "changed elsewhere"  # so a read served by the store is told apart
    store.failing = True
    with pytest.raises(StoreDown):
        cache.write("a", 2)
    assert cache.read("a") == 1, "the store refused a=2, so the cache must keep its old value, a=1"


@write_through
def test_a_failed_store_write_of_a_new_key_caches_nothing(wt):
    cache, store = through(wt)
    store.failing = True
    with pytest.raises(StoreDown):
        cache.write("a", 1)
    store.failing = False
    with pytest.raises(KeyError):
        cache.read("a")


@write_through
def test_write_through_caches_do_not_share_state(wt):
    first, _ = through(wt)
    second, _ = through(wt, data={"a": "second's store"})
    first.write("a", 1)
    assert second.read("a") == "second's store", "each cache keeps its own entries"


_through_ops = st.lists(st.tuples(st.sampled_from(["write", "write", "read", "poke", "fail"]),
                                  st.sampled_from(["a", "b", "c"]), st.integers(0, 9)), max_size=40)


@write_through
@GRADING
@given(ops=_through_ops)
def test_write_through_matches_a_model(wt, ops):
    cache, store = through(wt)
    cached: dict = {}
    model: dict = {}
    for op, key, value in ops:
        if op == "write":
            cache.write(key, value)
            cached[key] = model[key] = value
        elif op == "fail":  # the store refuses this write
            store.failing = True
            with pytest.raises(StoreDown):
                cache.write(key, value)
            store.failing = False
        elif op == "poke":  # another service writes the store directly
            store.data[key] = model[key] = value
        elif key in cached or key in model:
            want = cached[key] if key in cached else model[key]
            assert cache.read(key) == want, f"read({key!r}) must be {want!r}"
        else:
            with pytest.raises(KeyError):
                cache.read(key)
        assert store.data == model, f"after {op} the store must be {model}, got {store.data}"
