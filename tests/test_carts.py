"""Cart stores: one contract over memory and Redis, Redis TTL/sharing, signed tokens, validation."""

from __future__ import annotations

import base64
import json

import fakeredis
import pytest
import redis
from hypothesis import given, settings
from hypothesis import strategies as st

from highload.carts import (
    MAX_QTY,
    CartStore,
    CartTokenError,
    ExpiredCartToken,
    InMemoryCartStore,
    RedisCartStore,
    TokenCartStore,
)
from highload.clock import ManualClock

TTL = 60.0
# A shortened TTL far below TTL, yet long enough that the key cannot expire before the next
# command on a loaded machine (5 ms did, when a first script call paid SCRIPT LOAD).
SHORTENED_MS = 5000
SECRET = b"0123456789abcdef0123456789abcdef"


@pytest.fixture(params=["memory", "fakeredis", "redis-server", "redis-cluster"])
def store(request):
    """Every server-side store: memory, and Redis on fakeredis, on a real redis-server and on a
    real Redis Cluster."""
    if request.param == "memory":
        yield InMemoryCartStore()
        return
    if request.param == "fakeredis":
        client = fakeredis.FakeRedis(server=fakeredis.FakeServer())
    elif request.param == "redis-cluster":
        client = request.getfixturevalue("redis_cluster").client(decode_responses=False)
    else:
        client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
    yield RedisCartStore(client, ttl=TTL)
    client.close()


@pytest.fixture
def cart(unique_key):
    return unique_key  # a fresh cart id per test, so real-Redis runs never collide


# ---- the shared contract ----------------------------------------------------------------

def test_store_meets_the_protocol(store):
    assert isinstance(store, CartStore)


def test_unknown_cart_is_empty(store, cart):
    assert store.get_cart(cart) == {}


def test_add_item_returns_the_new_quantity(store, cart):
    assert store.add_item(cart, "apple") == 1
    assert store.add_item(cart, "apple", 2) == 3
    assert store.add_item(cart, "pear", 5) == 5
    assert store.get_cart(cart) == {"apple": 3, "pear": 5}


def test_get_cart_returns_str_keys_and_int_values(store, cart):
    store.add_item(cart, "apple", 2)
    (sku, qty), = store.get_cart(cart).items()
    assert type(sku) is str and type(qty) is int


def test_get_cart_returns_a_copy(store, cart):
    store.add_item(cart, "apple")
    store.get_cart(cart)["apple"] = 99
    assert store.get_cart(cart) == {"apple": 1}


def test_remove_item_without_qty_removes_the_sku(store, cart):
    store.add_item(cart, "apple", 4)
    store.add_item(cart, "pear")
    assert store.remove_item(cart, "apple") == 0
    assert store.get_cart(cart) == {"pear": 1}


def test_remove_item_with_qty_decrements(store, cart):
    store.add_item(cart, "apple", 4)
    assert store.remove_item(cart, "apple", 1) == 3
    assert store.get_cart(cart) == {"apple": 3}


def test_remove_item_to_exactly_zero_removes_the_sku(store, cart):
    store.add_item(cart, "apple", 3)
    store.add_item(cart, "pear")
    assert store.remove_item(cart, "apple", 3) == 0
    assert store.get_cart(cart) == {"pear": 1}


def test_remove_item_below_zero_removes_the_sku(store, cart):
    store.add_item(cart, "apple", 3)
    assert store.remove_item(cart, "apple", 10) == 0
    assert store.get_cart(cart) == {}


def test_remove_unknown_sku_or_cart_is_a_no_op(store, cart):
    assert store.remove_item(cart, "ghost") == 0
    assert store.remove_item(cart, "ghost", 2) == 0
    assert store.get_cart(cart) == {}
    store.add_item(cart, "apple")
    assert store.remove_item(cart, "ghost", 1) == 0
    assert store.get_cart(cart) == {"apple": 1}


def test_clear_empties_only_that_cart(store, cart):
    other = cart + ":other"
    store.add_item(cart, "apple", 2)
    store.add_item(other, "pear")
    store.clear(cart)
    assert store.get_cart(cart) == {}
    assert store.get_cart(other) == {"pear": 1}
    store.clear(cart)  # clearing an empty cart is fine
    assert store.add_item(cart, "apple") == 1, "a cleared cart starts again from zero"


def test_carts_are_independent(store, cart):
    store.add_item(cart + "a", "apple")
    store.add_item(cart + "b", "apple", 7)
    assert store.get_cart(cart + "a") == {"apple": 1}
    assert store.get_cart(cart + "b") == {"apple": 7}


def test_max_qty_is_accepted(store, cart):
    assert store.add_item(cart, "bulk", MAX_QTY) == MAX_QTY
    assert store.remove_item(cart, "bulk", MAX_QTY) == 0


# ---- validation (all stores) -------------------------------------------------------------

BAD_QTYS = [0, -1, True, False, "1", "", 1.0, 2.5, None, MAX_QTY + 1, [1]]


@pytest.mark.parametrize("qty", BAD_QTYS, ids=repr)
def test_add_item_rejects_a_qty_that_is_not_a_positive_int(store, cart, qty):
    with pytest.raises(ValueError, match="qty") as info:
        store.add_item(cart, "apple", qty)
    assert repr(qty) in str(info.value), "the message shows the value"
    assert store.get_cart(cart) == {}, "a rejected call changes nothing"


@pytest.mark.parametrize("qty", [q for q in BAD_QTYS if q is not None], ids=repr)
def test_remove_item_rejects_a_qty_that_is_not_a_positive_int(store, cart, qty):
    store.add_item(cart, "apple", 5)
    with pytest.raises(ValueError, match="qty") as info:
        store.remove_item(cart, "apple", qty)
    assert repr(qty) in str(info.value)
    assert store.get_cart(cart) == {"apple": 5}


@pytest.mark.parametrize("bad", ["", None, 7, b"cart"], ids=repr)
def test_cart_id_must_be_a_non_empty_string(store, bad):
    for call in (lambda: store.add_item(bad, "apple"), lambda: store.remove_item(bad, "apple"),
                 lambda: store.get_cart(bad), lambda: store.clear(bad)):
        with pytest.raises(ValueError, match="cart_id") as info:
            call()
        assert repr(bad) in str(info.value)


@pytest.mark.parametrize("bad", ["", None, 7, b"apple"], ids=repr)
def test_sku_must_be_a_non_empty_string(store, cart, bad):
    with pytest.raises(ValueError, match="sku"):
        store.add_item(cart, bad)
    with pytest.raises(ValueError, match="sku"):
        store.remove_item(cart, bad)


# ---- model-based: random operation sequences against a plain dict -------------------------

OPS = st.lists(
    st.tuples(st.sampled_from(["add", "remove", "remove_all", "clear"]),
              st.sampled_from(["a", "b"]), st.sampled_from(["x", "y", "z"]),
              st.integers(min_value=1, max_value=4)),
    max_size=30,
)


@settings(deadline=None, derandomize=True, database=None, max_examples=60)
@given(ops=OPS)
def test_memory_and_redis_match_a_dict_model(ops):
    stores = [InMemoryCartStore(), RedisCartStore(fakeredis.FakeRedis(), ttl=TTL)]
    model: dict[str, dict[str, int]] = {}
    for op, cart_id, sku, qty in ops:
        cart = model.setdefault(cart_id, {})
        if op == "add":
            cart[sku] = cart.get(sku, 0) + qty
            expected = cart[sku]
            results = [s.add_item(cart_id, sku, qty) for s in stores]
        elif op in ("remove", "remove_all"):
            n = qty if op == "remove" else None
            left = 0 if n is None else cart.get(sku, 0) - n
            if left > 0:
                cart[sku] = left
            else:
                cart.pop(sku, None)
            expected = max(left, 0)
            results = [s.remove_item(cart_id, sku, n) for s in stores]
        else:
            cart.clear()
            expected = None
            results = [s.clear(cart_id) for s in stores]
        assert results == [expected] * len(stores)
        for s in stores:
            assert s.get_cart(cart_id) == cart


# ---- Redis specifics ---------------------------------------------------------------------

def test_redis_cart_is_a_hash_named_cart_colon_id(redis_client, cart):
    carts = RedisCartStore(redis_client, ttl=TTL)
    carts.add_item(cart, "apple", 2)
    assert redis_client.type(f"cart:{cart}") in (b"hash", "hash")
    assert redis_client.hgetall(f"cart:{cart}") == {b"apple": b"2"}


def test_add_refreshes_the_ttl_even_after_it_was_shortened(redis_client, cart):
    carts = RedisCartStore(redis_client, ttl=TTL)
    carts.add_item(cart, "apple")
    assert 0 < redis_client.pttl(f"cart:{cart}") <= TTL * 1000
    redis_client.pexpire(f"cart:{cart}", SHORTENED_MS)
    carts.add_item(cart, "apple")
    assert TTL * 1000 - 5000 < redis_client.pttl(f"cart:{cart}") <= TTL * 1000


def test_remove_refreshes_the_ttl_even_after_it_was_shortened(redis_client, cart):
    carts = RedisCartStore(redis_client, ttl=TTL)
    carts.add_item(cart, "apple", 3)
    carts.add_item(cart, "pear")
    for qty in (1, None):
        redis_client.pexpire(f"cart:{cart}", SHORTENED_MS)
        carts.remove_item(cart, "apple", qty)
        assert TTL * 1000 - 5000 < redis_client.pttl(f"cart:{cart}") <= TTL * 1000


def test_remove_of_an_absent_sku_still_refreshes_the_ttl(redis_client, cart):
    carts = RedisCartStore(redis_client, ttl=TTL)
    carts.add_item(cart, "apple")
    redis_client.pexpire(f"cart:{cart}", SHORTENED_MS)
    carts.remove_item(cart, "ghost", 1)
    assert redis_client.pttl(f"cart:{cart}") > SHORTENED_MS


def test_removing_the_last_item_deletes_the_key(redis_client, cart):
    carts = RedisCartStore(redis_client, ttl=TTL)
    carts.add_item(cart, "apple")
    carts.remove_item(cart, "apple")
    assert redis_client.exists(f"cart:{cart}") == 0


def test_fractional_ttl_never_exceeds_ttl_in_ms(redis_client, cart):
    carts = RedisCartStore(redis_client, ttl=2.5)
    carts.add_item(cart, "apple")
    assert 0 < redis_client.pttl(f"cart:{cart}") <= 2500


def test_an_expired_cart_is_empty():
    server = fakeredis.FakeServer()
    client = fakeredis.FakeRedis(server=server)
    carts = RedisCartStore(client, ttl=TTL)
    carts.add_item("c1", "apple")
    client.delete("cart:c1")  # what expiry does, without waiting for it
    assert carts.get_cart("c1") == {}
    assert carts.remove_item("c1", "apple", 1) == 0
    assert client.exists("cart:c1") == 0, "removing from a gone cart does not recreate it"


@pytest.mark.parametrize("decode", [True, False])
def test_works_with_decode_responses_true_and_false(decode):
    server = fakeredis.FakeServer()
    carts = RedisCartStore(fakeredis.FakeRedis(server=server, decode_responses=decode), ttl=TTL)
    assert carts.add_item("c1", "äpfel", 2) == 2
    assert carts.remove_item("c1", "äpfel", 1) == 1
    assert carts.get_cart("c1") == {"äpfel": 1}
    carts.clear("c1")
    assert carts.get_cart("c1") == {}


def test_decode_responses_on_real_redis(redis_url, unique_key):
    for decode in (True, False):
        client = redis.Redis.from_url(redis_url, decode_responses=decode)
        carts = RedisCartStore(client, ttl=TTL)
        carts.add_item(unique_key, "apple", 2)
        assert carts.remove_item(unique_key, "apple", 1) == 1
        assert carts.get_cart(unique_key) == {"apple": 1}
        carts.clear(unique_key)
        client.close()


def test_two_instances_on_one_redis_share_carts():
    server = fakeredis.FakeServer()
    a = RedisCartStore(fakeredis.FakeRedis(server=server), ttl=TTL)
    b = RedisCartStore(fakeredis.FakeRedis(server=server, decode_responses=True), ttl=TTL)
    a.add_item("c1", "apple", 2)
    assert b.get_cart("c1") == {"apple": 2}
    assert b.add_item("c1", "apple") == 3
    assert b.remove_item("c1", "apple", 1) == 2
    assert a.get_cart("c1") == {"apple": 2}
    a.clear("c1")
    assert b.get_cart("c1") == {}


def test_two_memory_stores_do_not_share_carts():
    a, b = InMemoryCartStore(), InMemoryCartStore()
    a.add_item("c1", "apple")
    assert b.get_cart("c1") == {}, "each process has its own dict: the stateful anti-pattern"
    assert len(a) == 1 and len(b) == 0


def test_remove_survives_a_script_flush(redis_client, cart):
    carts = RedisCartStore(redis_client, ttl=TTL)
    carts.add_item(cart, "apple", 3)
    redis_client.script_flush()
    assert carts.remove_item(cart, "apple", 1) == 2


@pytest.mark.parametrize("ttl", [0, -1, 0.0, True, "60", None, float("nan"), float("inf")], ids=repr)
def test_redis_ttl_must_be_a_positive_number(ttl):
    with pytest.raises(ValueError, match="ttl") as info:
        RedisCartStore(fakeredis.FakeRedis(), ttl=ttl)
    assert repr(ttl) in str(info.value)


def test_memory_store_is_thread_safe():
    from concurrent.futures import ThreadPoolExecutor

    carts = InMemoryCartStore()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: carts.add_item("c1", "apple"), range(2000)))
    assert carts.get_cart("c1") == {"apple": 2000}


# ---- signed tokens -----------------------------------------------------------------------

@pytest.fixture
def clock():
    return ManualClock(1_000_000.0)


@pytest.fixture
def tokens(clock):
    return TokenCartStore(SECRET, max_age=3600, clock=clock)


def test_token_round_trip(tokens):
    cart = {"apple": 2, "pear": 1, "ünïcode": 3}
    assert tokens.decode(tokens.encode(cart)) == cart
    assert tokens.decode(tokens.encode({})) == {}


def test_token_is_compact_json_base64url_and_signature(tokens, clock):
    token = tokens.encode({"apple": 2})
    payload, sig = token.split(".")
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    body = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    assert body == b'{"iat":1000000.0,"items":{"apple":2}}'
    assert len(base64.urlsafe_b64decode(sig + "=")) == 32  # HMAC-SHA256


def _forge(token: str, items: dict) -> str:
    payload, sig = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body["items"] = items
    raw = json.dumps(body, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode() + "." + sig


def test_tampered_payload_is_rejected(tokens):
    token = tokens.encode({"apple": 1})
    with pytest.raises(CartTokenError, match="tampered"):
        tokens.decode(_forge(token, {"apple": 100}))


def test_tampered_signature_is_rejected(tokens):
    token = tokens.encode({"apple": 1})
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(CartTokenError, match="tampered"):
        tokens.decode(flipped)


def test_token_from_another_secret_is_rejected(clock):
    other = TokenCartStore(b"another secret", max_age=3600, clock=clock)
    with pytest.raises(CartTokenError, match="signature"):
        TokenCartStore(SECRET, 3600, clock=clock).decode(other.encode({"apple": 1}))


@pytest.mark.parametrize("junk", ["", "abc", "a.b", "....", "é.é", "eyJ9." + "A" * 43, 42, None], ids=repr)
def test_malformed_tokens_raise_cart_token_error(tokens, junk):
    with pytest.raises(CartTokenError):
        tokens.decode(junk)


def test_cart_token_error_is_a_value_error():
    assert issubclass(CartTokenError, ValueError) and issubclass(ExpiredCartToken, CartTokenError)


def test_token_expires_at_exactly_max_age(tokens, clock):
    token = tokens.encode({"apple": 1})
    clock.advance(3599.75)
    assert tokens.decode(token) == {"apple": 1}, "still valid just before max_age"
    clock.advance(0.25)
    with pytest.raises(ExpiredCartToken, match="expired"):
        tokens.decode(token)


def test_every_write_reissues_the_token(tokens, clock):
    token = tokens.add_item(None, "apple")
    clock.advance(3000)
    token = tokens.add_item(token, "apple")  # a write refreshes issued-at, like a Redis TTL
    clock.advance(3000)
    assert tokens.get_cart(token) == {"apple": 2}


def test_token_functional_operations(tokens):
    token = tokens.add_item(None, "apple", 3)
    token = tokens.add_item(token, "pear")
    assert tokens.get_cart(token) == {"apple": 3, "pear": 1}
    assert tokens.get_cart(tokens.remove_item(token, "apple", 1)) == {"apple": 2, "pear": 1}
    assert tokens.get_cart(tokens.remove_item(token, "apple", 3)) == {"pear": 1}
    assert tokens.get_cart(tokens.remove_item(token, "apple")) == {"pear": 1}
    assert tokens.get_cart(tokens.remove_item(token, "ghost", 1)) == {"apple": 3, "pear": 1}
    assert tokens.get_cart(tokens.clear(token)) == {}
    assert tokens.get_cart(None) == {} and tokens.get_cart("") == {}
    assert tokens.get_cart(token) == {"apple": 3, "pear": 1}, "old tokens are not changed"


def test_token_operations_refuse_expired_tokens(tokens, clock):
    token = tokens.add_item(None, "apple")
    clock.advance(3600)
    with pytest.raises(ExpiredCartToken):
        tokens.add_item(token, "apple")


def test_token_size_grows_with_items(tokens):
    sizes = []
    token = None
    for i in range(50):
        token = tokens.add_item(token, f"SKU-{i:04d}", 1)
        sizes.append(tokens.size(token))
    assert sizes == sorted(sizes) and sizes[-1] > sizes[0] + 50 * 10
    assert tokens.size("é") == 2, "size counts bytes, not characters"


@pytest.mark.parametrize("qty", BAD_QTYS, ids=repr)
def test_token_operations_validate_qty(tokens, qty):
    with pytest.raises(ValueError, match="qty"):
        tokens.add_item(None, "apple", qty)
    if qty is not None:
        with pytest.raises(ValueError, match="qty"):
            tokens.remove_item(None, "apple", qty)
    with pytest.raises(ValueError, match="qty"):
        tokens.encode({"apple": qty})


def test_token_encode_validates_the_cart(tokens):
    with pytest.raises(ValueError, match="cart"):
        tokens.encode([("apple", 1)])
    with pytest.raises(ValueError, match="sku"):
        tokens.encode({"": 1})


@pytest.mark.parametrize("secret", [b"", "a str secret", None], ids=repr)
def test_token_secret_must_be_non_empty_bytes(secret):
    with pytest.raises(ValueError, match="secret") as info:
        TokenCartStore(secret, 60)
    assert "a str secret" not in str(info.value), "the secret is never echoed"


@pytest.mark.parametrize("max_age", [0, -5, True, "60"], ids=repr)
def test_token_max_age_must_be_positive(max_age):
    with pytest.raises(ValueError, match="max_age"):
        TokenCartStore(SECRET, max_age)
