"""Lesson 02's crash drill (highload.carts.drill), without plotly: its numbers, a learner's
RedisCartStore inside it, and argument errors."""

from __future__ import annotations

import json
import random

import fakeredis
import pytest

from highload.balancing import ConsistentHash, RoundRobin
from highload.carts import InMemoryCartStore, RedisCartStore
from highload.carts.drill import SETUPS, DrillResult, crash_drill

MEMORY_RR, STICKY, REDIS = SETUPS


def notebook_crash_drill(setup, servers=3, items=3, shoppers=300, seed=1):
    """The drill as lesson 02's cell had it before it moved into the package: the reference."""
    names = [f"shop-{i}" for i in range(1, servers + 1)]
    shared = RedisCartStore(fakeredis.FakeRedis(server=fakeredis.FakeServer()), ttl=3600)
    carts = {n: shared if setup.startswith("Redis") else InMemoryCartStore() for n in names}
    ring, rr, alive = ConsistentHash(names), RoundRobin(names), list(names)
    sticky = "sticky" in setup

    def route(user):
        return ring.pick(user, among=alive) if sticky else rr.next(among=alive)

    users, rng = [f"user-{i}" for i in range(shoppers)], random.Random(seed)
    for k in range(items):
        rng.shuffle(users)
        for user in users:
            carts[route(user)].add_item(user, f"SKU-{k}")

    def whole():
        rng.shuffle(users)
        return sum(len(carts[route(u)].get_cart(u)) == items for u in users) / shoppers

    before = whole()
    alive.remove("shop-1")
    return before, whole()


class BrokenStore:
    """A learner's class whose add_item is not written yet."""

    def __init__(self, redis, ttl):
        self.redis = redis

    def add_item(self, cart_id, sku, qty=1):
        raise NotImplementedError("write add_item first")

    def get_cart(self, cart_id):
        return {}


class OverwritingStore:
    """A classic wrong answer: each add replaces the whole cart with the one item just added."""

    def __init__(self, redis, ttl):
        self.redis, self.ttl = redis, ttl

    def add_item(self, cart_id, sku, qty=1):
        self.redis.set(f"cart:{cart_id}", json.dumps({sku: qty}), ex=int(self.ttl))
        return qty

    def get_cart(self, cart_id):
        raw = self.redis.get(f"cart:{cart_id}")
        return json.loads(raw) if raw else {}


# -- the numbers ----------------------------------------------------------------------------------


def test_defaults_give_the_lessons_numbers():
    results = {s: crash_drill(s) for s in SETUPS}
    assert (results[MEMORY_RR].before, results[MEMORY_RR].after) == (10 / 300, 12 / 300)
    assert (results[STICKY].before, results[STICKY].after) == (1.0, 206 / 300)
    assert (results[REDIS].before, results[REDIS].after) == (1.0, 1.0)
    assert results[STICKY] == DrillResult(STICKY, 3, 3, 300, 1.0, 206 / 300)


@pytest.mark.parametrize("setup", SETUPS)
@pytest.mark.parametrize(
    "args", [(), (5, 3), (3, 1), (10, 5), (2, 1), (4, 2, 50, 7)],
    ids=["defaults", "5 servers", "1 item", "10 servers 5 items", "2 servers 1 item", "50 shoppers seed 7"],
)
def test_same_numbers_as_the_notebooks_code(setup, args):
    result = crash_drill(setup, *args)
    assert (result.before, result.after) == notebook_crash_drill(setup, *args)
    expected = (*args, *(3, 3, 300)[len(args):])[:3]
    assert (result.setup, result.servers, result.items, result.shoppers) == (setup, *expected)


def test_structure_of_the_results():
    for servers in (2, 3, 6):
        sticky = crash_drill(STICKY, servers, 2)
        redis_ = crash_drill(REDIS, servers, 2)
        assert sticky.before == 1.0 and sticky.after < 1.0  # shop-1's shoppers lose their carts
        assert 1 - sticky.after == pytest.approx(1 / servers, abs=0.12)  # about 1 in n
        assert redis_.before == redis_.after == 1.0
    # One item: a memory cart is whole when the read lands where the write did, about 1 in n.
    assert crash_drill(MEMORY_RR, 3, 1).before == pytest.approx(1 / 3, abs=0.05)
    # Three items: every click and the read must land on one server, about 1 in 27.
    assert crash_drill(MEMORY_RR, 3, 3).before < 0.06


def test_same_seed_same_numbers_other_seed_other_numbers():
    assert crash_drill(STICKY, seed=3) == crash_drill(STICKY, seed=3)
    assert crash_drill(MEMORY_RR, 3, 1, seed=3) != crash_drill(MEMORY_RR, 3, 1, seed=4)


def test_each_server_builds_its_own_store_on_one_redis():
    made = []

    def factory(client):
        made.append(RedisCartStore(client, ttl=60))
        return made[-1]

    result = crash_drill(REDIS, servers=4, items=2, shoppers=20, redis_store=factory)
    assert len(made) == 4 and (result.before, result.after) == (1.0, 1.0)
    assert len({id(store) for store in made}) == 4
    assert len(made[0].redis.keys("cart:*")) == 20
    assert all(store.get_cart("user-0") == {"SKU-0": 1, "SKU-1": 1} for store in made)
    crash_drill(MEMORY_RR, redis_store=factory)
    assert len(made) == 4  # the memory setups never build a Redis store


class DictInsteadOfRedis:
    """A classic wrong RedisCartStore: it takes the client but keeps carts in its own dict."""

    def __init__(self, redis, ttl=3600):
        self.carts = {}

    def add_item(self, cart_id, sku, qty=1):
        cart = self.carts.setdefault(cart_id, {})
        cart[sku] = cart.get(sku, 0) + qty

    def get_cart(self, cart_id):
        return dict(self.carts.get(cart_id, {}))


def test_a_store_that_keeps_carts_in_process_memory_fails_like_memory():
    wrong = crash_drill(REDIS, redis_store=DictInsteadOfRedis)
    assert (wrong.before, wrong.after) == (crash_drill(MEMORY_RR).before, crash_drill(MEMORY_RR).after)
    assert wrong.before < 0.1


def test_a_store_that_loses_items_loses_carts():
    result = crash_drill(REDIS, redis_store=lambda client: OverwritingStore(client, ttl=3600))
    assert result.before == 0.0 and result.after == 0.0
    one_item = crash_drill(REDIS, items=1, redis_store=lambda client: OverwritingStore(client, ttl=3600))
    assert one_item.before == one_item.after == 1.0  # with one item there is nothing to overwrite


def test_a_store_error_names_the_call():
    with pytest.raises(NotImplementedError, match="write add_item first") as raised:
        crash_drill(REDIS, redis_store=lambda client: BrokenStore(client, 3600))
    assert any("BrokenStore.add_item(" in note for note in raised.value.__notes__)


@pytest.mark.parametrize(
    ("kwargs", "error", "name", "value"),
    [
        ({"setup": "Redis"}, ValueError, "setup", "Redis"),
        ({"setup": None}, ValueError, "setup", None),
        ({"servers": 1}, ValueError, "servers", 1),
        ({"servers": 2.5}, TypeError, "servers", 2.5),
        ({"servers": True}, TypeError, "servers", True),
        ({"items": 0}, ValueError, "items", 0),
        ({"items": "3"}, TypeError, "items", "3"),
        ({"shoppers": 0}, ValueError, "shoppers", 0),
        ({"shoppers": 1.0}, TypeError, "shoppers", 1.0),
        ({"seed": "one"}, TypeError, "seed", "one"),
        ({"redis_store": 3}, TypeError, "redis_store", 3),
    ],
)
def test_bad_arguments_raise_naming_the_parameter_and_value(kwargs, error, name, value):
    args = {"setup": STICKY, **kwargs}
    with pytest.raises(error, match=name) as raised:
        crash_drill(**args)
    assert repr(value) in str(raised.value)
    if name == "setup":
        assert all(repr(s) in str(raised.value) for s in SETUPS)  # says what it wants
