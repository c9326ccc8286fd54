"""Hidden suite: CacheAside(loader, ttl, max_entries=None, clock) — one test per clause of the contract.

The loader counts its calls and returns ``"key#n"`` for the n-th load of a key, so a reload is
told apart from a hit by its value. A loader may also advance the clock while it runs, to check
that an entry's age starts when the load has finished. Times move in steps of 0.25 and TTLs are
multiples of 0.25, so every expiry boundary is exactly representable. Tests outside the
``aside_ttl`` group never come near an expiry boundary, so an off-by-one there costs only that group.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograder.suites._support import GRADING, Clock

basics = pytest.mark.group("aside_basics")
ttl_group = pytest.mark.group("aside_ttl")
lru = pytest.mark.group("aside_lru")

#: Keys this loader finds nothing for: it returns None.
MISSING = "missing"


class Loader:
    """``loader(key)``: records the call, advances the clock by ``takes`` seconds, returns ``"key#n"``."""

    def __init__(self, clock: Clock | None = None, takes: float = 0.0, values: dict | None = None) -> None:
        self.clock, self.takes = clock, takes
        self.values = values or {}
        self.calls: list = []

    def __call__(self, key):
        self.calls.append(key)
        if self.takes:
            self.clock.advance(self.takes)
        if key == MISSING:
            return None
        if key in self.values:
            return self.values[key]
        return f"{key}#{self.calls.count(key)}"

    def count(self, key) -> int:
        return self.calls.count(key)


def make(target, ttl=10, max_entries=None, start=1000.0, takes=0.0, values=None):
    clock = Clock(start)
    loader = Loader(clock, takes, values)
    return target(loader, ttl, max_entries=max_entries, clock=clock), clock, loader


def stats(cache) -> dict:
    found = cache.stats
    assert isinstance(found, Mapping), f"stats must be a mapping (e.g. a dict), got {found!r}"
    return {name: found[name] for name in ("hits", "misses", "loads")}


# -- basics -------------------------------------------------------------------------------------
@basics
def test_first_get_calls_the_loader_and_returns_its_value(target):
    cache, _, loader = make(target)
    assert cache.get("a") == "a#1", "a miss must return what the loader returned"
    assert loader.calls == ["a"], "a miss must call loader(key) exactly once, with the key"


@basics
def test_second_get_is_a_hit_that_skips_the_loader(target):
    cache, _, loader = make(target)
    cache.get("a")
    assert cache.get("a") == "a#1", "a fresh entry must be served from the cache"
    assert cache.get("a") == "a#1"
    assert loader.calls == ["a"], "hits must not call the loader"


@basics
def test_each_key_is_loaded_and_cached_separately(target):
    cache, _, loader = make(target)
    assert [cache.get("a"), cache.get("b"), cache.get("a"), cache.get("b")] == ["a#1", "b#1", "a#1", "b#1"]
    assert loader.calls == ["a", "b"], "each key is loaded once, then served from the cache"


@basics
def test_a_none_result_is_returned_but_not_cached(target):
    cache, _, loader = make(target)
    assert cache.get(MISSING) is None, "a loader result of None must be returned"
    assert cache.get(MISSING) is None
    assert loader.count(MISSING) == 2, "None must not be cached: every get of it calls the loader again"


@basics
@pytest.mark.parametrize("value", [0, "", False, []], ids=repr)
def test_falsy_values_other_than_none_are_cached(target, value):
    cache, _, loader = make(target, values={"k": value})
    assert cache.get("k") == value
    assert cache.get("k") == value and type(cache.get("k")) is type(value)
    assert loader.count("k") == 1, f"only None is not cached; {value!r} must be cached like any value"


@basics
def test_invalidate_drops_the_entry(target):
    cache, _, loader = make(target)
    cache.get("a")
    cache.invalidate("a")
    assert cache.get("a") == "a#2", "after invalidate(key) the next get must call the loader again"
    assert cache.get("a") == "a#2", "and cache the new value"
    assert loader.count("a") == 2


@basics
def test_invalidate_drops_only_that_key(target):
    cache, _, loader = make(target)
    cache.get("a")
    cache.get("b")
    cache.invalidate("a")
    assert cache.get("b") == "b#1" and loader.count("b") == 1, "invalidate('a') must leave 'b' cached"


@basics
def test_a_new_cache_has_zero_stats(target):
    cache, _, _ = make(target)
    assert stats(cache) == {"hits": 0, "misses": 0, "loads": 0}, "stats must start at 0"


@basics
def test_stats_count_hits_misses_and_loads(target):
    cache, _, _ = make(target)
    cache.get("a")  # miss, load
    cache.get("a")  # hit
    cache.get("b")  # miss, load
    cache.get("a")  # hit
    assert stats(cache) == {"hits": 2, "misses": 2, "loads": 2}, \
        f"get a, a, b, a is 2 hits, 2 misses and 2 loads, got {stats(cache)}"


@basics
def test_stats_count_a_get_after_invalidate_as_a_miss(target):
    cache, _, _ = make(target)
    cache.get("a")
    cache.invalidate("a")
    cache.get("a")
    assert stats(cache) == {"hits": 0, "misses": 2, "loads": 2}, f"got {stats(cache)}"


@basics
def test_stats_count_every_load_of_none(target):
    cache, _, _ = make(target)
    for _ in range(3):
        cache.get(MISSING)
    assert stats(cache) == {"hits": 0, "misses": 3, "loads": 3}, \
        f"None is not cached, so every get of it is a miss and a load, got {stats(cache)}"


@basics
@pytest.mark.parametrize("ttl", [0, -1, -0.25])
def test_ttl_must_be_positive(target, ttl):
    with pytest.raises(ValueError):
        target(Loader(), ttl, clock=Clock())


@basics
@pytest.mark.parametrize("max_entries", [0, -1])
def test_max_entries_must_be_at_least_one(target, max_entries):
    with pytest.raises(ValueError):
        target(Loader(), 10, max_entries=max_entries, clock=Clock())


@basics
def test_small_ttl_and_max_entries_one_are_valid(target):
    cache = target(Loader(), 0.25, max_entries=1, clock=Clock())
    assert cache.get("a") == "a#1", "ttl=0.25 and max_entries=1 are valid"


@basics
def test_caches_do_not_share_entries(target):
    first, _, _ = make(target)
    second, _, loader = make(target)
    first.get("a")
    assert second.get("a") == "a#1" and loader.calls == ["a"], "each cache keeps its own entries"


# -- ttl ----------------------------------------------------------------------------------------
@ttl_group
def test_entry_is_fresh_just_before_ttl(target):
    cache, clock, loader = make(target, ttl=5)
    cache.get("a")
    clock.advance(4.75)
    assert cache.get("a") == "a#1" and loader.count("a") == 1, "an entry 4.75 s old with ttl=5 is a hit"


@ttl_group
def test_entry_expires_at_exactly_ttl(target):
    cache, clock, loader = make(target, ttl=5)
    cache.get("a")
    clock.advance(5)
    assert cache.get("a") == "a#2", "an entry exactly ttl old is expired (fresh means age < ttl): reload"
    assert loader.count("a") == 2


@ttl_group
def test_reloaded_entry_is_cached_again(target):
    cache, clock, loader = make(target, ttl=5)
    cache.get("a")
    clock.advance(6)
    cache.get("a")
    clock.advance(4.75)
    assert cache.get("a") == "a#2" and loader.count("a") == 2, \
        "the reloaded value must be cached, fresh for ttl from its own load"
    clock.advance(0.25)
    assert cache.get("a") == "a#3", "and expire ttl after its own load"


@ttl_group
def test_age_counts_from_after_the_loader_returns(target):
    cache, clock, loader = make(target, ttl=5, takes=2)
    cache.get("a")  # starts at 1000, the loader returns at 1002
    clock.advance(4.75)  # 1006.75: 4.75 s after the load finished, 6.75 s after it started
    assert cache.get("a") == "a#1" and loader.count("a") == 1, \
        "a load that took 2 s: its entry's age starts when the loader returned, so 4.75 s later it is a hit"
    clock.advance(0.25)
    assert cache.get("a") == "a#2", "and exactly ttl after the loader returned it is expired"


@ttl_group
def test_hits_do_not_extend_the_ttl(target):
    cache, clock, _ = make(target, ttl=5)
    cache.get("a")
    for _ in range(4):
        clock.advance(1)
        assert cache.get("a") == "a#1"
    clock.advance(1)
    assert cache.get("a") == "a#2", "hits must not reset an entry's age: it expires ttl after its load"


@ttl_group
def test_ttl_is_per_entry(target):
    cache, clock, loader = make(target, ttl=5)
    cache.get("a")
    clock.advance(3)
    cache.get("b")
    clock.advance(2)
    assert cache.get("b") == "b#1", "b is 2 s old: still fresh"
    assert cache.get("a") == "a#2", "a is 5 s old: expired"


@ttl_group
def test_an_expired_get_is_a_miss_and_a_load(target):
    cache, clock, _ = make(target, ttl=5)
    cache.get("a")
    cache.get("a")
    clock.advance(5)
    cache.get("a")
    assert stats(cache) == {"hits": 1, "misses": 2, "loads": 2}, \
        f"a get of an expired entry calls the loader: a miss and a load, got {stats(cache)}"


@ttl_group
def test_ttl_uses_the_injected_clock(target):
    cache, clock, loader = make(target, ttl=10, start=50_000.0)
    cache.get("a")
    clock.advance(10)
    assert cache.get("a") == "a#2", "ten seconds on the injected clock expire a ttl=10 entry"
    clock.advance(9.75)
    assert cache.get("a") == "a#2" and loader.count("a") == 2


@ttl_group
def test_fractional_ttl(target):
    cache, clock, _ = make(target, ttl=0.75)
    cache.get("a")
    clock.advance(0.5)
    assert cache.get("a") == "a#1", "0.5 s < ttl=0.75: a hit"
    clock.advance(0.25)
    assert cache.get("a") == "a#2", "0.75 s = ttl: expired"


_timed_ops = st.lists(st.tuples(st.sampled_from(["get", "get", "invalidate", "wait"]),
                                st.sampled_from(["a", "b", MISSING]),
                                st.integers(1, 12).map(lambda n: n * 0.25)), max_size=40)


@ttl_group
@GRADING
@given(ttl=st.sampled_from([0.25, 1, 2.5]), takes=st.sampled_from([0, 0.25, 1]), ops=_timed_ops)
def test_matches_a_model_with_expiry(target, ttl, takes, ops):
    cache, clock, loader = make(target, ttl=ttl, takes=takes)
    entries: dict = {}  # key -> (value, time the load finished)
    hits = misses = 0
    for op, key, amount in ops:
        if op == "wait":
            clock.advance(amount)
        elif op == "invalidate":
            if key in entries and clock.now - entries[key][1] < ttl:  # only fresh entries: the contract
                cache.invalidate(key)                                 # says nothing about other keys
                del entries[key]
        else:
            now, cached = clock.now, entries.get(key)
            hit = cached is not None and now - cached[1] < ttl
            want = cached[0] if hit else None if key == MISSING else f"{key}#{loader.count(key) + 1}"
            got = cache.get(key)
            assert got == want, f"ttl={ttl}, loads take {takes} s: get({key!r}) at t={now} must be {want!r}"
            hits, misses = hits + hit, misses + (not hit)
            if not hit and want is not None:
                entries[key] = (want, clock.now)  # the loader has moved the clock on by `takes`
    assert stats(cache) == {"hits": hits, "misses": misses, "loads": misses}


# -- lru ----------------------------------------------------------------------------------------
@lru
def test_oldest_entry_is_evicted_when_full(target):
    cache, _, loader = make(target, max_entries=2)
    for key in "abc":
        cache.get(key)
    assert cache.get("b") == "b#1" and cache.get("c") == "c#1", "b and c were used last: still cached"
    assert cache.get("a") == "a#2", "max_entries=2: the third key must evict the least recently used, a"
    assert loader.calls == ["a", "b", "c", "a"]


@lru
def test_a_hit_makes_its_entry_most_recently_used(target):
    cache, _, _ = make(target, max_entries=2)
    cache.get("a")
    cache.get("b")
    cache.get("a")  # a hit: a is now used more recently than b
    cache.get("c")
    assert cache.get("a") == "a#1" and cache.get("c") == "c#1", \
        "a was used after b, so c must evict b (least recently *used*), not a (least recently loaded)"
    assert cache.get("b") == "b#2"


@lru
def test_eviction_follows_use_over_many_keys(target):
    cache, _, loader = make(target, max_entries=3)
    for key in "abc":
        cache.get(key)
    cache.get("a")
    cache.get("b")  # use order, oldest first: c, a, b
    cache.get("d")  # evicts c
    cache.get("e")  # evicts a
    assert [cache.get(k) for k in "bde"] == ["b#1", "d#1", "e#1"], "b, d and e were used last"
    assert loader.calls == list("abcde")
    assert cache.get("a") == "a#2" and cache.get("c") == "c#2", "c, then a, were the least recently used"


@lru
def test_max_entries_one_keeps_only_the_last_key(target):
    cache, _, _ = make(target, max_entries=1)
    cache.get("a")
    cache.get("b")
    assert cache.get("b") == "b#1", "the last key stays cached"
    assert cache.get("a") == "a#2", "max_entries=1: b evicted a"


@lru
def test_without_max_entries_nothing_is_evicted(target):
    cache, _, loader = make(target)
    for i in range(200):
        cache.get(i)
    assert [cache.get(i) for i in range(200)] == [f"{i}#1" for i in range(200)], \
        "with max_entries=None the cache is unbounded"
    assert len(loader.calls) == 200


@lru
def test_invalidate_frees_a_slot(target):
    cache, _, loader = make(target, max_entries=2)
    cache.get("a")
    cache.get("b")
    cache.invalidate("a")
    cache.get("c")
    assert cache.get("b") == "b#1" and cache.get("c") == "c#1", \
        "after invalidate('a') b and c fit in max_entries=2: nothing may be evicted"


@lru
def test_a_none_result_takes_no_slot(target):
    cache, _, loader = make(target, max_entries=1)
    cache.get("a")
    cache.get(MISSING)
    assert cache.get("a") == "a#1" and loader.count("a") == 1, "None is not cached, so it evicts nothing"


@lru
def test_reloading_a_cached_key_evicts_no_other_key(target):
    cache, clock, loader = make(target, ttl=10, max_entries=2)
    cache.get("a")  # t = 1000
    clock.advance(6)
    cache.get("b")  # t = 1006
    clock.advance(1)
    cache.get("a")  # hit: b is now the least recently used
    clock.advance(6)  # t = 1013: a is 13 s old (expired), b 7 s (fresh)
    assert cache.get("a") == "a#2", "a has expired: reload it"
    assert cache.get("b") == "b#1" and loader.count("b") == 1, \
        "reloading a replaces a's entry: the cache still holds 2 keys, so b must not be evicted"


_lru_ops = st.lists(st.tuples(st.sampled_from(["get", "get", "get", "invalidate"]),
                              st.sampled_from(["a", "b", "c", "d", "e", MISSING])), max_size=50)


@lru
@GRADING
@given(max_entries=st.integers(1, 4), ops=_lru_ops)
def test_matches_an_lru_model(target, max_entries, ops):
    cache, _, loader = make(target, ttl=1_000_000, max_entries=max_entries)
    entries: OrderedDict = OrderedDict()  # least recently used first
    for op, key in ops:
        if op == "invalidate":
            if key in entries:  # only cached keys: the contract says nothing about others
                cache.invalidate(key)
                del entries[key]
            continue
        if key in entries:
            entries.move_to_end(key)
            want = entries[key]
        else:
            want = None if key == MISSING else f"{key}#{loader.count(key) + 1}"
            if want is not None:
                entries[key] = want
                if len(entries) > max_entries:
                    entries.popitem(last=False)
        got = cache.get(key)
        assert got == want, f"max_entries={max_entries}, cached {list(entries)}: get({key!r}) must be {want!r}"
