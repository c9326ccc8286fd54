"""The helpers lessons 08 and 09 run instead of showing their plumbing: the hung-payment model,
the bulkhead's hung threads, the live nginx drills, and a tier's admitted requests per second."""

from __future__ import annotations

import pytest

from highload.lab.hung_payment import HungPayment, catalog, workers_held
from highload.nginx import find_nginx
from highload.resilience import Bulkhead

needs_nginx = pytest.mark.skipif(find_nginx() is None, reason="nginx is not installed")


def test_without_a_breaker_a_hung_payment_fills_the_pool_in_two_seconds():
    held, pool_full = workers_held(3.0)
    assert max(held) == 200
    assert held[199] == 200 and held[198] == 199          # arrival 200 (t = 1.99 s) takes the last
    # Full from t = 2 to 3 s and 5 to 6 s (a worker frees exactly as the next arrival comes, so
    # float rounding decides an edge arrival or two): about 100 refused calls each time.
    assert 200 <= pool_full <= 202


def test_a_short_timeout_and_a_breaker_keep_the_pool_mostly_free():
    held, pool_full = workers_held(0.5, breaker=5)
    assert max(held) == 50 and pool_full == 0
    assert held[-1] == 0                                   # the breaker refuses, nothing is held


def test_workers_held_refuses_a_timeout_of_zero():
    with pytest.raises(ValueError, match="timeout"):
        workers_held(0)


def test_hung_calls_hold_a_shared_pool_and_bulkheads_keep_the_catalog_served():
    with HungPayment() as payment:
        shared = Bulkhead(40, name="shared")
        assert payment.flood(shared, 40) == 0
        assert catalog(shared).startswith("refused")
    with HungPayment() as payment:
        own, rest = Bulkhead(20, name="payment"), Bulkhead(20, name="rest")
        assert payment.flood(own, 40) == 20
        assert catalog(rest) == "200 products"
    assert catalog(own) == "200 products"                  # release gave every slot back


@needs_nginx
def test_failover_drill_answers_every_request_while_servers_die():
    from highload.lab.nginx_drills import failover_drill

    phases, disabled = failover_drill(requests=10)
    assert list(phases) == ["both up", "A killed", "B killed"]
    for seen in phases.values():
        assert sum(seen.values()) == 10 and {status for status, _, _ in seen} == {200}
    assert {name for _, name, _ in phases["B killed"]} == {"backup"}
    assert len(disabled) == 2 and all(line.startswith("upstream server temporarily disabled")
                                      for line in disabled)


@needs_nginx
def test_a_failed_server_gets_no_second_request_within_fail_timeout():
    from highload.lab.nginx_drills import trial_times

    # One second of requests, fail_timeout 2 s: the first request fails there, and nginx sends
    # it nothing else inside the window.
    assert trial_times(fail_timeout=2, seconds=1) == [0.0]


def test_a_tier_serves_the_full_rate_until_its_bucket_is_empty_then_its_refill_rate():
    from highload.lab.tiers import admitted_per_second
    from highload.ratelimit import FREE, PREMIUM

    free = admitted_per_second(FREE, rate=20, seconds=30)
    assert free[:5] == [20] * 5 and free[-10:] == [1] * 10      # 100 tokens last 100 / 19 s
    premium = admitted_per_second(PREMIUM, rate=20, seconds=150)
    assert premium[:90] == [20] * 90 and premium[-10:] == [10] * 10
    with pytest.raises(ValueError, match="rate"):
        admitted_per_second(FREE, rate=0)


# -- lesson 02 -------------------------------------------------------------------------------------


class _Response:
    def __init__(self, items, served_by="shop-1", upstreams="127.0.0.1:1, 127.0.0.1:2", status=200):
        self._items, self.status_code = items, status
        self.headers = {"x-served-by": served_by, "x-upstream-addr": upstreams}

    def json(self):
        return {"items": [{"sku": sku, "qty": qty} for sku, qty in self._items.items()]}


def test_shop_visit_helpers_read_the_cart_and_name_the_servers_tried(capsys):
    from highload.lab.shop_visits import cart_items, show_route, tried

    response = _Response({"KB-001": 1, "MS-002": 2}, served_by="shop-2")
    names = {"127.0.0.1:1": "shop-1", "127.0.0.1:2": "shop-2"}
    assert cart_items(response) == {"KB-001": 1, "MS-002": 2}
    assert tried(response, names) == "shop-1 -> shop-2"
    assert tried(response, {}) == "127.0.0.1:1 -> 127.0.0.1:2"      # unknown addresses stay as they are
    show_route(response, "open the cart", names)
    assert capsys.readouterr().out.split() == ["open", "the", "cart", "200", "shop-2", "shop-1", "->",
                                               "shop-2", "{'KB-001':", "1,", "'MS-002':", "2}"]


def test_interleaved_calls_each_in_turn_and_reports_microseconds():
    from highload.lab.timing import interleaved

    order, now = [], [0]

    def timer():
        now[0] += 1000                                   # every reading is 1 µs after the last
        return now[0]

    samples = interleaved({"a": lambda: order.append("a"), "b": lambda: order.append("b")}, rounds=3,
                          timer=timer)
    assert order == ["a", "b"] * 3
    assert samples == {"a": [1.0] * 3, "b": [1.0] * 3}
    with pytest.raises(ValueError, match="rounds"):
        interleaved({"a": lambda: None}, rounds=0)


def test_a_forged_token_is_readable_but_refused():
    from highload.carts import CartTokenError, TokenCartStore
    from highload.lab.cart_tokens import forge, read_payload, token_sizes

    store = TokenCartStore(secret=b"k" * 32, max_age=3600)
    token = store.add_item(None, "MN-003")
    assert read_payload(token)["items"] == {"MN-003": 1}
    forged = forge(token, lambda body: body["items"].update({"MN-003": 100}))
    assert read_payload(forged)["items"] == {"MN-003": 100}
    with pytest.raises(CartTokenError):
        store.get_cart(forged)
    sizes = token_sizes(store, lambda n: f"SKU-{n:06d}", items=20)
    assert len(sizes) == 20 and all(a < b for a, b in zip(sizes, sizes[1:], strict=False))


# -- lesson 03 -------------------------------------------------------------------------------------


def test_interleaved_can_pass_the_round_number():
    from highload.lab.timing import interleaved

    seen = []
    interleaved({"a": seen.append}, rounds=3, pass_round=True, timer=lambda: 0)
    assert seen == [0, 1, 2]


def test_time_reads_counts_the_queries_the_reads_cost():
    from highload.lab.timing import time_reads

    class Db:
        queries = 0

    db = Db()

    def read(key):
        db.queries += key != "cached"

    seconds, queries = time_reads(read, ["a", "cached", "b"], db)
    assert queries == 2 and seconds >= 0


def test_writeback_crash_drill_loses_only_what_was_not_flushed():
    from highload.lab.writeback_drill import crash_drill

    lost_often, flushes_often = crash_drill(flush_interval=1, crash_at=30, seed=1)
    lost_rarely, flushes_rarely = crash_drill(flush_interval=60, crash_at=30, seed=1)
    assert flushes_rarely == 0 and lost_rarely > 250          # ~10 clicks/s for 30 s, none flushed
    assert 25 <= flushes_often <= 30 and lost_often < 20      # one flush a second: at most ~1 s lost
    assert crash_drill(flush_interval=1, crash_at=30, seed=1) == (lost_often, flushes_often)
