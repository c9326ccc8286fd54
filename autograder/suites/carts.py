"""Hidden suite: RedisCartStore(redis, ttl) on fakeredis — one test per clause of the contract.

Every test that touches Redis runs twice: with a client that returns bytes and with one that
returns str (``decode_responses=False`` / ``True``). The suite reads the hash back through its
own str client on the same server. TTLs are 100 s, so a refreshed TTL (close to 100,000 ms) is
clearly apart from one shortened to 50 ms. Atomicity under concurrent writers is not graded here.
"""

from __future__ import annotations

import time

import fakeredis
import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograder.suites._support import GRADING

basics = pytest.mark.group("cart_basics")
ttl_group = pytest.mark.group("cart_ttl")
errors = pytest.mark.group("cart_errors")

TTL = 100
#: A refreshed TTL is within this many ms of ttl * 1000 (the tests run for well under a second).
SLACK_MS = 5000


class Redis:
    """One fake Redis server: clients with either decode setting, and a str view for checking."""

    def __init__(self, decode: bool) -> None:
        self.server = fakeredis.FakeServer()
        self.decode = decode
        self.raw = fakeredis.FakeRedis(server=self.server, decode_responses=True)

    def client(self):
        return fakeredis.FakeRedis(server=self.server, decode_responses=self.decode)


@pytest.fixture(params=[False, True], ids=["bytes_client", "str_client"])
def redis(request):
    return Redis(request.param)


def make(target, redis, ttl=TTL):
    return target(redis.client(), ttl)


def refreshed(redis, key, ttl=TTL):
    pttl = redis.raw.pttl(key)
    return ttl * 1000 - SLACK_MS < pttl <= ttl * 1000, pttl


# -- basics ---------------------------------------------------------------------------------------
@basics
def test_unknown_cart_is_empty(target, redis):
    cart = make(target, redis).get_cart("nobody")
    assert cart == {} and isinstance(cart, dict), "get_cart of an unknown cart must be {}"


@basics
def test_add_item_returns_the_new_quantity(target, redis):
    store = make(target, redis)
    assert store.add_item("c1", "apple", 2) == 2, "the first add returns its qty"
    assert store.add_item("c1", "apple", 3) == 5, "a second add returns the new total: 2 + 3 = 5"


@basics
def test_default_qty_is_one(target, redis):
    store = make(target, redis)
    assert store.add_item("c1", "apple") == 1, "qty defaults to 1"
    assert store.add_item("c1", "apple") == 2
    assert store.get_cart("c1") == {"apple": 2}


@basics
def test_get_cart_returns_str_skus_and_int_quantities(target, redis):
    store = make(target, redis)
    store.add_item("c1", "apple", 2)
    store.add_item("c1", "pear")
    cart = store.get_cart("c1")
    assert cart == {"apple": 2, "pear": 1}, f"get_cart must be {{'apple': 2, 'pear': 1}}, got {cart!r}"
    assert all(type(k) is str and type(v) is int for k, v in cart.items()), \
        f"skus must be str and quantities int whatever decode_responses is, got {cart!r}"


@basics
def test_cart_lives_in_the_hash_cart_id(target, redis):
    store = make(target, redis)
    store.add_item("c42", "apple", 3)
    assert redis.raw.type("cart:c42") == "hash", "the cart must be the Redis hash cart:{cart_id}"
    stored = redis.raw.hgetall("cart:c42")
    assert list(stored) == ["apple"] and int(stored["apple"]) == 3, \
        f"the hash must map sku -> quantity, got {stored!r}"


@basics
def test_get_cart_reads_the_hash(target, redis):
    redis.raw.hset("cart:c7", mapping={"apple": 4, "pear": 1})
    assert make(target, redis).get_cart("c7") == {"apple": 4, "pear": 1}, \
        "get_cart must read the hash cart:{cart_id}"


@basics
def test_carts_are_separate(target, redis):
    store = make(target, redis)
    store.add_item("alice", "apple", 2)
    store.add_item("bob", "pear", 1)
    assert store.get_cart("alice") == {"apple": 2} and store.get_cart("bob") == {"pear": 1}


@basics
def test_remove_item_without_qty_removes_the_sku(target, redis):
    store = make(target, redis)
    store.add_item("c1", "apple", 5)
    store.add_item("c1", "pear", 1)
    store.remove_item("c1", "apple")
    assert store.get_cart("c1") == {"pear": 1}, "remove_item(cart, sku) with no qty removes the whole sku"


@basics
def test_remove_item_decrements_by_qty(target, redis):
    store = make(target, redis)
    store.add_item("c1", "apple", 5)
    store.remove_item("c1", "apple", 2)
    assert store.get_cart("c1") == {"apple": 3}, "5 - 2 = 3"


@basics
def test_decrement_to_exactly_zero_removes_the_sku(target, redis):
    store = make(target, redis)
    store.add_item("c1", "apple", 3)
    store.add_item("c1", "pear", 1)
    store.remove_item("c1", "apple", 3)
    assert store.get_cart("c1") == {"pear": 1}, "a quantity of 0 removes the sku (no 0 entry)"
    assert not redis.raw.hexists("cart:c1", "apple"), "the sku must be gone from the hash"


@basics
def test_decrement_below_zero_removes_the_sku(target, redis):
    store = make(target, redis)
    store.add_item("c1", "apple", 2)
    store.add_item("c1", "pear", 1)
    store.remove_item("c1", "apple", 5)
    assert store.get_cart("c1") == {"pear": 1}, "a quantity below 0 removes the sku (no negative entry)"
    assert not redis.raw.hexists("cart:c1", "apple"), "the sku must be gone from the hash"


@basics
def test_add_after_removal_starts_from_zero(target, redis):
    store = make(target, redis)
    store.add_item("c1", "apple", 2)
    store.remove_item("c1", "apple", 5)
    assert store.add_item("c1", "apple", 1) == 1, "a removed sku starts again from 0, not from a negative"


@basics
def test_removing_a_missing_sku_changes_nothing(target, redis):
    store = make(target, redis)
    store.add_item("c1", "pear", 1)
    store.remove_item("c1", "apple")
    store.remove_item("c1", "apple", 2)
    assert store.get_cart("c1") == {"pear": 1}, "a missing sku has quantity 0: removing it leaves no entry"


@basics
def test_removing_the_last_sku_empties_the_cart(target, redis):
    store = make(target, redis)
    store.add_item("c1", "apple", 1)
    store.remove_item("c1", "apple", 1)
    assert store.get_cart("c1") == {}, "a cart with no skus left is {}"


@basics
def test_clear_empties_the_cart(target, redis):
    store = make(target, redis)
    store.add_item("c1", "apple", 2)
    store.add_item("c1", "pear", 1)
    store.add_item("c2", "plum", 1)
    store.clear("c1")
    assert store.get_cart("c1") == {}, "clear empties the cart"
    assert not redis.raw.exists("cart:c1"), "clear must remove the hash cart:{cart_id}"
    assert store.get_cart("c2") == {"plum": 1}, "clear must not touch other carts"


@basics
def test_clear_of_an_unknown_cart_is_fine(target, redis):
    store = make(target, redis)
    store.clear("nobody")
    assert store.get_cart("nobody") == {}


@basics
def test_add_after_clear_starts_from_zero(target, redis):
    store = make(target, redis)
    store.add_item("c1", "apple", 4)
    store.clear("c1")
    assert store.add_item("c1", "apple", 1) == 1, "after clear the quantity starts from 0"


@basics
def test_two_stores_on_the_same_redis_share_carts(target, redis):
    first, second = make(target, redis), make(target, redis)
    first.add_item("c1", "apple", 2)
    assert second.get_cart("c1") == {"apple": 2}, "a second server must see the cart the first one wrote"
    assert second.add_item("c1", "apple", 1) == 3, "and add to it: 2 + 1 = 3"
    assert first.get_cart("c1") == {"apple": 3}, "the first server must see the second one's write"
    second.clear("c1")
    assert first.get_cart("c1") == {}, "and its clear"


@basics
def test_stores_with_either_decode_setting_agree(target):
    server = fakeredis.FakeServer()
    as_bytes = target(fakeredis.FakeRedis(server=server, decode_responses=False), TTL)
    as_str = target(fakeredis.FakeRedis(server=server, decode_responses=True), TTL)
    as_bytes.add_item("c1", "apple", 2)
    as_str.add_item("c1", "pear", 1)
    assert as_bytes.get_cart("c1") == as_str.get_cart("c1") == {"apple": 2, "pear": 1}


_ops = st.lists(st.tuples(
    st.sampled_from(["add", "remove", "remove_all", "clear", "get"]),
    st.integers(0, 1),  # which store
    st.sampled_from(["c1", "c2"]),
    st.sampled_from(["apple", "pear", "plum"]),
    st.integers(1, 4),
), max_size=30)


@basics
@GRADING
@given(ops=_ops, decode=st.booleans())
def test_matches_a_model_on_random_operations(target, ops, decode):
    redis = Redis(decode)
    stores = [make(target, redis), make(target, redis)]
    model: dict[str, dict[str, int]] = {"c1": {}, "c2": {}}
    for op, which, cart, sku, qty in ops:
        store, items = stores[which], model[cart]
        if op == "add":
            items[sku] = items.get(sku, 0) + qty
            assert store.add_item(cart, sku, qty) == items[sku], f"add_item must return {items[sku]}"
        elif op == "remove":
            store.remove_item(cart, sku, qty)
            if items.get(sku, 0) - qty <= 0:
                items.pop(sku, None)
            else:
                items[sku] -= qty
        elif op == "remove_all":
            store.remove_item(cart, sku)
            items.pop(sku, None)
        elif op == "clear":
            store.clear(cart)
            items.clear()
        else:
            assert store.get_cart(cart) == items, f"get_cart({cart!r}) must be {items}"


# -- TTL ------------------------------------------------------------------------------------------
@ttl_group
def test_add_sets_the_ttl(target, redis):
    make(target, redis).add_item("c1", "apple")
    good, pttl = refreshed(redis, "cart:c1")
    assert good, f"right after add_item the cart's PTTL must be ttl * 1000 = {TTL * 1000} ms (less a little), got {pttl}"


@ttl_group
def test_add_refreshes_a_shortened_ttl(target, redis):
    store = make(target, redis)
    store.add_item("c1", "apple")
    redis.raw.pexpire("cart:c1", 50)
    store.add_item("c1", "apple")
    good, pttl = refreshed(redis, "cart:c1")
    assert good, f"every add refreshes the TTL to ttl, even after it was shortened to 50 ms: PTTL {pttl}"


@ttl_group
def test_adding_another_sku_refreshes_the_ttl(target, redis):
    store = make(target, redis)
    store.add_item("c1", "apple")
    redis.raw.pexpire("cart:c1", 50)
    store.add_item("c1", "pear", 2)
    good, pttl = refreshed(redis, "cart:c1")
    assert good, f"adding a new sku to an existing cart refreshes the TTL too: PTTL {pttl}"


@ttl_group
def test_remove_with_qty_refreshes_a_shortened_ttl(target, redis):
    store = make(target, redis)
    store.add_item("c1", "apple", 3)
    redis.raw.pexpire("cart:c1", 50)
    store.remove_item("c1", "apple", 1)
    good, pttl = refreshed(redis, "cart:c1")
    assert good, f"remove_item (a write) refreshes the TTL: PTTL {pttl}"


@ttl_group
def test_remove_of_a_sku_refreshes_a_shortened_ttl(target, redis):
    store = make(target, redis)
    store.add_item("c1", "apple", 3)
    store.add_item("c1", "pear", 1)
    redis.raw.pexpire("cart:c1", 50)
    store.remove_item("c1", "pear")
    good, pttl = refreshed(redis, "cart:c1")
    assert good, f"remove_item(cart, sku) refreshes the TTL of what is left: PTTL {pttl}"


@ttl_group
def test_decrement_that_removes_a_sku_refreshes_the_ttl(target, redis):
    store = make(target, redis)
    store.add_item("c1", "apple", 3)
    store.add_item("c1", "pear", 1)
    redis.raw.pexpire("cart:c1", 50)
    store.remove_item("c1", "pear", 5)
    good, pttl = refreshed(redis, "cart:c1")
    assert good, f"a decrement that removes a sku refreshes the TTL of what is left: PTTL {pttl}"


@ttl_group
def test_write_resets_a_longer_ttl_to_ttl(target, redis):
    store = make(target, redis)
    store.add_item("c1", "apple")
    redis.raw.pexpire("cart:c1", 10_000_000)
    store.add_item("c1", "apple")
    good, pttl = refreshed(redis, "cart:c1")
    assert good, f"after a write the PTTL must be at most ttl * 1000 = {TTL * 1000}, got {pttl}"


@ttl_group
def test_write_sets_a_ttl_on_a_cart_that_had_none(target, redis):
    redis.raw.hset("cart:c1", "apple", 1)
    make(target, redis).add_item("c1", "apple")
    good, pttl = refreshed(redis, "cart:c1")
    assert good, f"a write must set the TTL even on a cart key that had none: PTTL {pttl}"


@ttl_group
@pytest.mark.parametrize("ttl", [0.5, 2.5])
def test_fractional_ttl_is_honoured_in_milliseconds(target, redis, ttl):
    make(target, redis, ttl=ttl).add_item("c1", "apple")
    pttl = redis.raw.pttl("cart:c1")
    assert 0 < pttl <= ttl * 1000, f"ttl={ttl}: right after a write 0 < PTTL <= {ttl * 1000:g} ms, got {pttl}"


@ttl_group
def test_ttl_is_per_store(target, redis):
    short, long = make(target, redis, ttl=10), make(target, redis, ttl=TTL)
    short.add_item("c1", "apple")
    assert 0 < redis.raw.pttl("cart:c1") <= 10_000, "a store with ttl=10 sets PTTL <= 10,000 ms"
    long.add_item("c1", "apple")
    good, pttl = refreshed(redis, "cart:c1")
    assert good, f"the next write, by a store with ttl={TTL}, refreshes it to {TTL * 1000} ms: PTTL {pttl}"


@ttl_group
def test_expired_cart_is_empty(target, redis):
    store = make(target, redis)
    store.add_item("c1", "apple", 2)
    redis.raw.pexpire("cart:c1", 1)
    time.sleep(0.02)  # lets the 1 ms TTL run out; no timing is asserted
    assert store.get_cart("c1") == {}, "once the key has expired the cart is empty (read it from Redis)"
    assert store.add_item("c1", "apple") == 1, "and a new add starts from 0"


# -- errors ---------------------------------------------------------------------------------------
@errors
@pytest.mark.parametrize("ttl", [0, -1, -0.5])
def test_ttl_must_be_positive(target, ttl):
    with pytest.raises(ValueError):
        target(fakeredis.FakeRedis(server=fakeredis.FakeServer()), ttl)


_BAD_QTY = [0, -1, 1.5, 2.0, True, False, "2", None]


@errors
@pytest.mark.parametrize("qty", _BAD_QTY, ids=lambda q: f"qty={q!r}")
def test_add_item_qty_must_be_a_positive_int(target, redis, qty):
    store = make(target, redis)
    with pytest.raises(ValueError):
        store.add_item("c1", "apple", qty)


@errors
@pytest.mark.parametrize("qty", [q for q in _BAD_QTY if q is not None], ids=lambda q: f"qty={q!r}")
def test_remove_item_qty_must_be_a_positive_int(target, redis, qty):
    store = make(target, redis)
    store.add_item("c1", "apple", 3)
    with pytest.raises(ValueError):
        store.remove_item("c1", "apple", qty)


@errors
@pytest.mark.parametrize("qty", [0, -2, True, "3", 1.0], ids=lambda q: f"qty={q!r}")
def test_rejected_qty_changes_nothing(target, redis, qty):
    store = make(target, redis)
    store.add_item("c1", "apple", 3)
    with pytest.raises(ValueError):
        store.add_item("c1", "apple", qty)
    with pytest.raises(ValueError):
        store.remove_item("c1", "apple", qty)
    with pytest.raises(ValueError):
        store.add_item("c2", "apple", qty)
    assert store.get_cart("c1") == {"apple": 3}, "a rejected qty must leave the cart unchanged"
    assert not redis.raw.exists("cart:c2"), "a rejected add must not create the cart"


@errors
def test_large_positive_qty_is_valid(target, redis):
    store = make(target, redis)
    assert store.add_item("c1", "apple", 10**12) == 10**12, "any positive int is a valid qty"
    store.remove_item("c1", "apple", 10**12 - 1)
    assert store.get_cart("c1") == {"apple": 1}
