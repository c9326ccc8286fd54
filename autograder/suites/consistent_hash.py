"""Hidden suite: ConsistentHashRing(nodes=(), vnodes=100, hash_fn=None) and jump_hash(key, buckets).

The target is a module (``--target highload.sharding``), or any object with both names: in a
notebook, ``sys.modules["__main__"]`` or a ``types.SimpleNamespace``. Hand-made hash
functions put vnodes at chosen positions, so boundaries (a key exactly on a vnode, past
the last one, two vnodes on one position) are tested exactly; model-based tests compare the
target with the tiny models below on random nodes, keys and add/remove sequences.
"""

from __future__ import annotations

from bisect import bisect_left
from hashlib import md5

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograder.suites._support import GRADING

#: The names this suite reads from its target; the runner checks them in grading mode.
TARGET_NAMES = ("ConsistentHashRing", "jump_hash")

lookup = pytest.mark.group("ring_lookup")
members = pytest.mark.group("ring_membership")
movement = pytest.mark.group("ring_movement")
jump = pytest.mark.group("jump_hash")

NAMES = st.sampled_from(["a", "b", "c", "db-1", "db-2", "node-x", "z", "ğ"])
KEYS = st.one_of(st.text(max_size=10), st.integers(-10**6, 10**6))


def _name(target, name):
    found = getattr(target, name, None)
    assert found is not None, f"the target must provide {name} (a module or namespace with that name)"
    return found


@pytest.fixture
def Ring(target):
    return _name(target, "ConsistentHashRing")


@pytest.fixture
def jump_hash(target):
    return _name(target, "jump_hash")


# -- the models -----------------------------------------------------------------------------------
def md5_64(text: str) -> int:
    return int.from_bytes(md5(text.encode("utf-8")).digest()[:8], "big")


def model_points(nodes, vnodes, h=md5_64):
    return sorted((h(f"{n}#{i}"), n) for n in nodes for i in range(vnodes))


def model_owner(nodes, vnodes, key, h=md5_64, points=None):
    points = points or model_points(nodes, vnodes, h)
    i = bisect_left(points, (h(key if isinstance(key, str) else str(key)), ""))
    return points[i % len(points)][1]


def model_jump(key, buckets):
    b, j = -1, 0
    while j < buckets:
        b = j
        key = (key * 2862933555777941757 + 1) % 2**64
        j = int((b + 1) * (float(1 << 31) / float((key >> 33) + 1)))
    return b


def placed(positions, keys=None):
    """A hash_fn from a table: vnode labels and keys hash to the numbers given."""
    table = dict(positions)
    table.update(keys or {})

    def h(text):
        return table[text]
    return h


# -- ring_lookup ----------------------------------------------------------------------------------
@lookup
def test_default_hash_is_md5_first_8_bytes_big_endian(Ring):
    ring = Ring(["a", "b", "c"], vnodes=1)
    for key in ["user:1", "user:2", "x", "", "hello world", "k" * 40] + [f"k{i}" for i in range(200)]:
        assert ring.get_node(key) == model_owner("abc", 1, key), \
            f"get_node({key!r}): hash with the first 8 bytes of md5, read big-endian"


@lookup
def test_keys_are_utf8_encoded(Ring):
    ring = Ring(["a", "b", "c", "d"], vnodes=3)
    for key in ["çilek", "İstanbul", "ğüşöı", "日本", "😀"]:
        assert ring.get_node(key) == model_owner("abcd", 3, key), f"{key!r} must be hashed as UTF-8"


@lookup
def test_vnode_labels_are_name_hash_index(Ring):
    seen = []

    def h(text):
        seen.append(text)
        return md5_64(text)
    Ring(["a", "bb"], vnodes=3, hash_fn=h)
    labels = {"a#0", "a#1", "a#2", "bb#0", "bb#1", "bb#2"}
    assert labels <= set(seen), f"vnode labels must be f'{{node}}#{{i}}' for i in 0..vnodes-1, hashed: {sorted(set(seen))[:8]}"
    assert not {s for s in seen if "#" in s} - labels, "no other vnode labels"


@lookup
def test_default_vnodes_is_100(Ring):
    seen = set()

    def h(text):
        seen.add(text)
        return md5_64(text)
    Ring(["a"], hash_fn=h)
    assert {f"a#{i}" for i in range(100)} <= seen and "a#100" not in seen, "vnodes defaults to 100"


@lookup
def test_hash_fn_replaces_the_default(Ring):
    ring = Ring(["a", "b"], vnodes=1, hash_fn=placed({"a#0": 100, "b#0": 200}, {"k1": 50, "k2": 150}))
    assert ring.get_node("k1") == "a" and ring.get_node("k2") == "b", "hash_fn must replace md5 everywhere"


@lookup
def test_key_on_a_vnode_belongs_to_that_vnode(Ring):
    ring = Ring(["a", "b"], vnodes=1, hash_fn=placed({"a#0": 100, "b#0": 200}, {"on": 100, "after": 101}))
    assert ring.get_node("on") == "a", "the first vnode whose position is >= hash(key): equal counts"
    assert ring.get_node("after") == "b", "one past a vnode goes to the next one"


@lookup
def test_key_past_the_last_vnode_wraps_to_the_smallest(Ring):
    ring = Ring(["a", "b"], vnodes=1, hash_fn=placed({"a#0": 100, "b#0": 200}, {"late": 201, "top": 2**64 - 1, "low": 0}))
    assert ring.get_node("late") == "a", "past the last position, wrap to the smallest"
    assert ring.get_node("top") == "a"
    assert ring.get_node("low") == "a"


@lookup
def test_ties_go_to_the_name_that_sorts_first(Ring):
    positions = {"b#0": 100, "a#0": 100, "c#0": 50}
    for order in (["b", "a", "c"], ["a", "b", "c"], ["c", "b", "a"]):
        ring = Ring(order, vnodes=1, hash_fn=placed(positions, {"k": 75}))
        assert ring.get_node("k") == "a", "two vnodes on one position: the node name that sorts first wins"
    ring = Ring(["b"], vnodes=1, hash_fn=placed(positions, {"k": 75}))
    ring.add_node("a")
    assert ring.get_node("k") == "a", "the tie rule holds after add_node too"


@lookup
def test_non_str_key_is_hashed_as_its_str(Ring):
    seen = []

    def h(text):
        seen.append(text)
        return md5_64(text)
    ring = Ring(["a", "b", "c"], vnodes=5, hash_fn=h)
    seen.clear()
    ring.get_node(1234)
    assert seen == ["1234"], f"get_node(1234) must call hash_fn('1234') once, called with {seen}"
    for key in [1234, 0, -7, 3.5, (1, 2)]:
        assert ring.get_node(key) == ring.get_node(str(key)) == model_owner("abc", 5, str(key))


@lookup
@GRADING
@given(st.sets(NAMES, min_size=1), st.integers(1, 8), st.lists(KEYS, max_size=30))
def test_lookups_match_the_contract_model(Ring, nodes, vnodes, keys):
    ring = Ring(sorted(nodes), vnodes=vnodes)
    for key in keys:
        assert ring.get_node(key) == model_owner(nodes, vnodes, key), f"get_node({key!r})"


# -- ring_membership ------------------------------------------------------------------------------
@members
def test_nodes_returns_a_new_set_of_names(Ring):
    ring = Ring(["a", "b"], vnodes=2)
    nodes = ring.nodes
    assert type(nodes) is set and nodes == {"a", "b"}, "nodes must be a set of the names"
    nodes.add("c")
    nodes.discard("a")
    assert ring.nodes == {"a", "b"}, "changing the returned set must not change the ring"
    assert ring.nodes is not ring.nodes, "each call returns a new set"


@members
def test_add_and_remove_update_nodes(Ring):
    ring = Ring(vnodes=2)
    assert ring.nodes == set()
    ring.add_node("a")
    ring.add_node("b")
    ring.remove_node("a")
    assert ring.nodes == {"b"} and ring.get_node("anything") == "b"


@members
def test_add_present_node_is_a_value_error(Ring):
    ring = Ring(["a"], vnodes=2)
    with pytest.raises(ValueError):
        ring.add_node("a")
    assert ring.nodes == {"a"}


@members
def test_repeated_name_in_constructor_is_a_value_error(Ring):
    with pytest.raises(ValueError):
        Ring(["a", "b", "a"], vnodes=2)


@members
def test_remove_absent_node_is_a_value_error(Ring):
    ring = Ring(["a"], vnodes=2)
    with pytest.raises(ValueError):
        ring.remove_node("b")
    ring.remove_node("a")
    with pytest.raises(ValueError):
        ring.remove_node("a")


@members
def test_empty_ring_lookup_is_a_lookup_error(Ring):
    with pytest.raises(LookupError):
        Ring().get_node("k")
    ring = Ring(["a"], vnodes=2)
    ring.remove_node("a")
    with pytest.raises(LookupError):
        ring.get_node("k")


@members
@pytest.mark.parametrize("bad", [1, None, b"a", ("a",)], ids=["int", "None", "bytes", "tuple"])
def test_node_names_must_be_str(Ring, bad):
    with pytest.raises(TypeError):
        Ring(["a", bad], vnodes=2)
    ring = Ring(["a"], vnodes=2)
    with pytest.raises(TypeError):
        ring.add_node(bad)


@members
@pytest.mark.parametrize("bad", [True, False, 2.0, "3", None], ids=["True", "False", "float", "str", "None"])
def test_vnodes_must_be_an_int_not_a_bool(Ring, bad):
    with pytest.raises(TypeError):
        Ring(["a"], vnodes=bad)


@members
@pytest.mark.parametrize("bad", [0, -1])
def test_vnodes_below_one_is_a_value_error(Ring, bad):
    with pytest.raises(ValueError):
        Ring(["a"], vnodes=bad)


@members
def test_one_vnode_is_allowed(Ring):
    assert Ring(["a", "b"], vnodes=1).get_node("k") in {"a", "b"}


# -- ring_movement --------------------------------------------------------------------------------
@movement
@GRADING
@given(st.sets(NAMES, min_size=1, max_size=5), NAMES, st.integers(1, 6), st.lists(KEYS, min_size=1, max_size=40))
def test_adding_a_node_moves_only_keys_onto_it(Ring, nodes, new, vnodes, keys):
    nodes.discard(new)
    if not nodes:
        return
    ring = Ring(sorted(nodes), vnodes=vnodes)
    before = {k: ring.get_node(k) for k in keys}
    ring.add_node(new)
    for key in keys:
        after = ring.get_node(key)
        assert after in (before[key], new), f"{key!r} moved {before[key]} -> {after}, not onto the new node"
        assert after == model_owner(nodes | {new}, vnodes, key)


@movement
@GRADING
@given(st.sets(NAMES, min_size=2, max_size=6), st.integers(1, 6), st.lists(KEYS, min_size=1, max_size=40), st.data())
def test_removing_a_node_moves_only_its_keys(Ring, nodes, vnodes, keys, data):
    gone = data.draw(st.sampled_from(sorted(nodes)))
    ring = Ring(sorted(nodes), vnodes=vnodes)
    before = {k: ring.get_node(k) for k in keys}
    ring.remove_node(gone)
    for key in keys:
        after = ring.get_node(key)
        if before[key] != gone:
            assert after == before[key], f"{key!r} moved {before[key]} -> {after} though {gone} was removed"
        assert after != gone


@movement
def test_remove_then_add_restores_every_key(Ring):
    ring = Ring(["a", "b", "c", "d"], vnodes=20)
    keys = [f"user:{i}" for i in range(500)]
    before = [ring.get_node(k) for k in keys]
    ring.remove_node("c")
    ring.add_node("c")
    assert [ring.get_node(k) for k in keys] == before, "the ring depends on its nodes, not on history"


@movement
def test_adding_a_fifth_node_moves_about_a_fifth(Ring):
    ring = Ring(["a", "b", "c", "d"], vnodes=100)
    keys = [f"order:{i}" for i in range(4000)]
    before = [ring.get_node(k) for k in keys]
    ring.add_node("e")
    moved = sum(ring.get_node(k) != b for k, b in zip(keys, before, strict=True)) / len(keys)
    points = model_points("abcde", 100)
    assert moved == sum(model_owner("abcde", 100, k, points=points) == "e" for k in keys) / len(keys)
    assert 0.1 < moved < 0.3, f"{moved:.0%} of keys moved: a ring moves ~1/(N+1), not most of them"


@movement
@GRADING
@given(st.lists(st.tuples(st.sampled_from(["add", "remove", "get"]), NAMES, KEYS), max_size=25))
def test_operation_sequences_match_the_model(Ring, ops):
    ring, nodes = Ring(vnodes=3), set()
    for op, node, key in ops:
        if op == "add":
            if node in nodes:
                with pytest.raises(ValueError):
                    ring.add_node(node)
            else:
                ring.add_node(node)
                nodes.add(node)
        elif op == "remove":
            if node in nodes:
                ring.remove_node(node)
                nodes.discard(node)
            else:
                with pytest.raises(ValueError):
                    ring.remove_node(node)
        elif nodes:
            assert ring.get_node(key) == model_owner(nodes, 3, key), f"after {ops}"
        else:
            with pytest.raises(LookupError):
                ring.get_node(key)
        assert ring.nodes == nodes


# -- jump_hash ------------------------------------------------------------------------------------
@jump
def test_published_vectors(jump_hash):
    vectors = {(1, 1): 0, (42, 57): 43, (256, 1024): 520, (0xDEAD10CC, 1): 0, (0xDEAD10CC, 666): 361,
               (1, 10): 6, (0xDEADBEEF, 1000): 285, (1, 60): 55, (2, 60): 46}
    got = {args: jump_hash(*args) for args in vectors}
    assert got == vectors, "jump_hash must reproduce the published algorithm's buckets"


@jump
def test_returns_a_plain_int_in_range(jump_hash):
    for key in (0, 1, 12345, 2**64 - 1):
        for buckets in (1, 2, 7, 1000):
            b = jump_hash(key, buckets)
            assert type(b) is int and 0 <= b < buckets


@jump
def test_key_is_a_64_bit_unsigned_int_wrapping_at_2_64(jump_hash):
    big = 0xFFFFFFFFFFFFFFF0
    for buckets in (2**31 - 1, 1_000_003, 97):
        assert jump_hash(big, buckets) == model_jump(big, buckets), "multiply modulo 2**64 at every step"


@jump
def test_growing_buckets_moves_keys_only_to_the_new_bucket(jump_hash):
    for key in range(0, 3000, 7):
        for n in (1, 2, 5, 9, 10, 31):
            a, b = jump_hash(key, n), jump_hash(key, n + 1)
            assert b in (a, n), f"key {key}: {n}->{n + 1} buckets moved it {a}->{b}"


@jump
@GRADING
@given(st.integers(0, 2**64 - 1), st.integers(1, 2**31 - 1))
def test_matches_the_published_algorithm(jump_hash, key, buckets):
    assert jump_hash(key, buckets) == model_jump(key, buckets)


@jump
@pytest.mark.parametrize("args", [(0, 1), (2**64 - 1, 1), (5, 2**31 - 1)], ids=["key0", "keymax", "bucketsmax"])
def test_boundary_arguments_are_accepted(jump_hash, args):
    assert jump_hash(*args) == model_jump(*args)


@jump
@pytest.mark.parametrize("args", [(-1, 3), (2**64, 3), (1, 0), (1, -2), (1, 2**31)],
                         ids=["key-1", "key2**64", "buckets0", "buckets-2", "buckets2**31"])
def test_out_of_range_is_a_value_error(jump_hash, args):
    with pytest.raises(ValueError):
        jump_hash(*args)


@jump
@pytest.mark.parametrize("args", [(True, 3), (1, True), (1.0, 3), (1, 3.0), ("1", 3), (1, None)],
                         ids=["key-bool", "buckets-bool", "key-float", "buckets-float", "key-str", "buckets-None"])
def test_non_int_arguments_are_type_errors(jump_hash, args):
    with pytest.raises(TypeError):
        jump_hash(*args)
