"""The shop app: products, the cart flow on both stores, X-Served-By everywhere, 422/404/503
bodies, and the lesson's story: shared Redis carts survive a load balancer, memory carts do not."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import fakeredis
import httpx
import pytest
import redis

from highload.carts import InMemoryCartStore, RedisCartStore
from highload.processes import free_port, kill_group, spawn, wait_for_port
from highload.shop import CATALOG, Catalog, Product, ShopSettings, create_app
from highload.shop.app import MAX_QTY_PER_REQUEST


class Shop:
    """A synchronous face over httpx.AsyncClient + ASGITransport (in process, no server)."""

    def __init__(self, app) -> None:
        self.app = app

    def request(self, method: str, url: str, **kw) -> httpx.Response:
        async def go():
            transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://shop") as client:
                return await client.request(method, url, **kw)

        return asyncio.run(go())

    def get(self, url, **kw):
        return self.request("GET", url, **kw)

    def post(self, url, **kw):
        return self.request("POST", url, **kw)

    def delete(self, url, **kw):
        return self.request("DELETE", url, **kw)


def shop(instance_id="A", carts="memory", **kw) -> Shop:
    return Shop(create_app(ShopSettings(instance_id=instance_id, carts=carts), **kw))


@pytest.fixture(params=["memory", "redis"])
def any_shop(request):
    if request.param == "memory":
        return shop()
    return shop(carts="redis", redis=fakeredis.FakeRedis(server=fakeredis.FakeServer()))


def add(s: Shop, cart: str, sku: str, qty: int) -> httpx.Response:
    return s.post(f"/cart/{cart}/items", json={"sku": sku, "qty": qty})


def quantities(response: httpx.Response) -> dict[str, int]:
    return {item["sku"]: item["qty"] for item in response.json()["items"]}


# ---- products and the cart flow ----------------------------------------------------------

def test_products_lists_the_catalog():
    r = shop().get("/products")
    assert r.status_code == 200
    products = r.json()["products"]
    assert len(products) == len(CATALOG) == 8
    assert products[0] == {"sku": "KB-001", "name": "Mechanical keyboard", "price_cents": 8999}
    assert all(type(p["price_cents"]) is int for p in products)


def test_add_get_remove_flow(any_shop):
    s = any_shop
    assert s.get("/cart/c1").json() == {"cart_id": "c1", "items": [], "total_cents": 0}
    r = add(s, "c1", "KB-001", 2)
    assert r.status_code == 200
    assert r.json() == {"cart_id": "c1", "total_cents": 2 * 8999, "items": [
        {"sku": "KB-001", "name": "Mechanical keyboard", "price_cents": 8999, "qty": 2,
         "subtotal_cents": 2 * 8999}]}
    add(s, "c1", "CB-005", 3)
    add(s, "c1", "KB-001", 1)
    r = s.get("/cart/c1")
    assert quantities(r) == {"KB-001": 3, "CB-005": 3}
    assert r.json()["total_cents"] == 3 * 8999 + 3 * 999
    r = s.delete("/cart/c1/items/KB-001", params={"qty": 1})
    assert r.status_code == 200 and quantities(r) == {"KB-001": 2, "CB-005": 3}
    r = s.delete("/cart/c1/items/KB-001")
    assert quantities(r) == {"CB-005": 3} and r.json()["total_cents"] == 3 * 999
    r = s.delete("/cart/c1/items/CB-005", params={"qty": 5})
    assert r.json() == {"cart_id": "c1", "items": [], "total_cents": 0}
    assert s.delete("/cart/c1/items/CB-005").status_code == 200, "removing what is not there is a no-op"


def test_redis_shop_writes_the_cart_hash_with_a_ttl():
    client = fakeredis.FakeRedis(server=fakeredis.FakeServer())
    s = Shop(create_app(ShopSettings(instance_id="A", carts="redis", cart_ttl=120), redis=client))
    add(s, "c1", "MS-002", 2)
    assert client.hgetall("cart:c1") == {b"MS-002": b"2"}
    assert 0 < client.pttl("cart:c1") <= 120_000


def test_redis_shop_without_a_client_uses_store_connect(monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    a = shop("A", carts="redis")
    b = shop("B", carts="redis")  # both on the process's embedded fakeredis server
    add(a, "embedded-cart-1", "MS-002", 1)
    assert quantities(b.get("/cart/embedded-cart-1")) == {"MS-002": 1}
    a.app.state.carts.clear("embedded-cart-1")


def test_injected_cart_store_is_used():
    store = InMemoryCartStore()
    s = Shop(create_app(ShopSettings(instance_id="A"), carts=store))
    add(s, "c1", "MS-002", 4)
    assert store.get_cart("c1") == {"MS-002": 4}
    assert s.get("/health").json()["carts"] == "InMemoryCartStore"


def test_items_withdrawn_from_the_catalog_are_not_charged():
    store = InMemoryCartStore()
    store.add_item("c1", "GONE-1", 5)
    store.add_item("c1", "MS-002", 1)
    r = Shop(create_app(ShopSettings(instance_id="A"), carts=store)).get("/cart/c1")
    assert quantities(r) == {"MS-002": 1} and r.json()["total_cents"] == 2499


def test_health():
    r = shop("node-7").get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "instance_id": "node-7", "carts": "memory"}
    client = fakeredis.FakeRedis(server=fakeredis.FakeServer())
    assert shop(carts="redis", redis=client).get("/health").json()["carts"] == "redis"


# ---- X-Served-By on every response -------------------------------------------------------

@pytest.mark.parametrize("method,url,body,status", [
    ("GET", "/products", None, 200),
    ("GET", "/health", None, 200),
    ("GET", "/cart/c1", None, 200),
    ("POST", "/cart/c1/items", {"sku": "KB-001", "qty": 1}, 200),
    ("DELETE", "/cart/c1/items/KB-001", None, 200),
    ("POST", "/cart/c1/items", {"sku": "NOPE", "qty": 1}, 404),
    ("DELETE", "/cart/c1/items/NOPE", None, 404),
    ("GET", "/no/such/route", None, 404),
    ("POST", "/cart/c1/items", {"sku": "KB-001", "qty": 0}, 422),
    ("GET", "/cart/bad:id", None, 422),
    ("PUT", "/products", None, 405),
])
def test_every_response_carries_x_served_by(method, url, body, status):
    r = shop("node-42").request(method, url, json=body)
    assert r.status_code == status
    assert r.headers["X-Served-By"] == "node-42"


# ---- bad input: 404 and 422 with clear JSON, never 500 -------------------------------------

def test_unknown_sku_is_404_json(any_shop):
    for r in (add(any_shop, "c1", "NOPE", 1), any_shop.delete("/cart/c1/items/NOPE")):
        assert r.status_code == 404
        assert r.headers["content-type"] == "application/json"
        assert r.json() == {"detail": {"error": "unknown_sku", "message": "No product with sku 'NOPE'."}}
    assert any_shop.get("/cart/c1").json()["items"] == []


@pytest.mark.parametrize("body,field", [
    ({"sku": "KB-001", "qty": True}, "qty"),
    ({"sku": "KB-001", "qty": False}, "qty"),
    ({"sku": "KB-001", "qty": 0}, "qty"),
    ({"sku": "KB-001", "qty": -3}, "qty"),
    ({"sku": "KB-001", "qty": "2"}, "qty"),
    ({"sku": "KB-001", "qty": 1.5}, "qty"),
    ({"sku": "KB-001", "qty": None}, "qty"),
    ({"sku": "KB-001", "qty": MAX_QTY_PER_REQUEST + 1}, "qty"),
    ({"sku": "KB-001", "qty": 10**30}, "qty"),
    ({"sku": "KB-001"}, "qty"),
    ({"qty": 1}, "sku"),
    ({"sku": "", "qty": 1}, "sku"),
    ({"sku": 7, "qty": 1}, "sku"),
    ({"sku": "KB-001", "qty": 1, "price_cents": 1}, "price_cents"),
], ids=repr)
def test_bad_add_bodies_are_422_naming_the_field(any_shop, body, field):
    r = any_shop.post("/cart/c1/items", json=body)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail["error"] == "invalid_request"
    assert field in detail["message"]
    assert any(e["loc"][-1] == field for e in detail["errors"])
    assert any_shop.get("/cart/c1").json()["items"] == [], "a rejected request changes nothing"


@pytest.mark.parametrize("content,headers", [
    (b"{not json", {"content-type": "application/json"}),
    (b"[1, 2]", {"content-type": "application/json"}),
    (b"", {"content-type": "application/json"}),
    (b"sku=KB-001&qty=1", {"content-type": "application/x-www-form-urlencoded"}),
], ids=["malformed", "array", "empty", "form"])
def test_non_object_bodies_are_422(content, headers):
    r = shop().post("/cart/c1/items", content=content, headers=headers)
    assert r.status_code == 422
    assert r.json()["detail"]["error"] == "invalid_request"


@pytest.mark.parametrize("qty", ["0", "-1", "abc", "true", str(MAX_QTY_PER_REQUEST + 1)])
def test_bad_remove_qty_is_422(qty):
    s = shop()
    add(s, "c1", "KB-001", 2)
    r = s.delete("/cart/c1/items/KB-001", params={"qty": qty})
    assert r.status_code == 422 and "qty" in r.json()["detail"]["message"]
    assert quantities(s.get("/cart/c1")) == {"KB-001": 2}


@pytest.mark.parametrize("cart_id", ["bad:id", "a" * 65, "sp ace"])
def test_bad_cart_ids_are_422(cart_id):
    r = shop().get(f"/cart/{cart_id}")
    assert r.status_code == 422 and "cart_id" in r.json()["detail"]["message"]


class _DownRedis(fakeredis.FakeRedis):
    def execute_command(self, *args, **kwargs):
        raise redis.ConnectionError("Connection refused")

    def pipeline(self, *args, **kwargs):
        raise redis.ConnectionError("Connection refused")


def test_unreachable_redis_is_503_never_500(caplog):
    s = Shop(create_app(ShopSettings(instance_id="A", carts="redis"), redis=_DownRedis()))
    for r in (s.get("/cart/c1"), add(s, "c1", "KB-001", 1), s.delete("/cart/c1/items/KB-001")):
        assert r.status_code == 503
        assert r.json()["detail"]["error"] == "cart_store_unavailable"
        assert r.headers["Retry-After"] == "1" and r.headers["X-Served-By"] == "A"
    health = s.get("/health")
    assert health.status_code == 503 and health.json()["status"] == "unavailable"
    assert "cart store unreachable" in caplog.text


# ---- the lesson's story: two instances behind a load balancer ------------------------------

def test_two_instances_sharing_one_redis_see_the_same_cart():
    server = fakeredis.FakeServer()
    a = shop("A", carts="redis", redis=fakeredis.FakeRedis(server=server))
    b = shop("B", carts="redis", redis=fakeredis.FakeRedis(server=server))
    first = add(a, "c1", "KB-001", 1)
    assert first.headers["X-Served-By"] == "A"
    second = add(b, "c1", "MS-002", 1)  # the balancer sent the next request elsewhere
    assert second.headers["X-Served-By"] == "B"
    assert quantities(second) == {"KB-001": 1, "MS-002": 1}
    assert quantities(a.get("/cart/c1")) == {"KB-001": 1, "MS-002": 1}
    b.delete("/cart/c1/items/KB-001")
    assert quantities(a.get("/cart/c1")) == {"MS-002": 1}


def test_two_instances_with_memory_carts_lose_the_cart():
    a, b = shop("A"), shop("B")
    add(a, "c1", "KB-001", 1)
    r = b.get("/cart/c1")
    assert r.headers["X-Served-By"] == "B"
    assert r.json()["items"] == [], "server B never saw the cart: 'my cart vanished!'"
    assert quantities(add(b, "c1", "MS-002", 1)) == {"MS-002": 1}
    assert quantities(a.get("/cart/c1")) == {"KB-001": 1}, "each instance has its own half"


def test_two_instances_on_a_real_redis_share_the_cart(redis_url, unique_key):
    cart = unique_key.replace(":", "-")
    a = shop("A", carts="redis", redis=redis.Redis.from_url(redis_url))
    b = Shop(create_app(ShopSettings(instance_id="B", carts="redis", redis_url=redis_url)))
    add(a, cart, "HP-004", 2)
    assert quantities(b.get(f"/cart/{cart}")) == {"HP-004": 2}
    a.app.state.carts.clear(cart)


# ---- settings and catalog ----------------------------------------------------------------

@pytest.mark.parametrize("kw,name", [
    ({"carts": "disk"}, "carts"),
    ({"cart_ttl": 0}, "cart_ttl"),
    ({"cart_ttl": True}, "cart_ttl"),
    ({"instance_id": ""}, "instance_id"),
    ({"catalog": [1, 2]}, "catalog"),
])
def test_settings_validate(kw, name):
    with pytest.raises(ValueError, match=name):
        ShopSettings(**kw)


def test_settings_are_frozen_and_default_the_instance_id(monkeypatch):
    monkeypatch.setenv("HIGHLOAD_INSTANCE_ID", "from-env")
    s = ShopSettings()
    assert s.instance_id == "from-env" and s.carts == "memory"
    with pytest.raises(AttributeError):
        s.carts = "redis"
    monkeypatch.delenv("HIGHLOAD_INSTANCE_ID")
    assert ShopSettings().instance_id.endswith(f"-{os.getpid()}")


def test_catalog_validates_products():
    with pytest.raises(ValueError, match="price_cents"):
        Product("X-1", "x", 9.99)
    with pytest.raises(ValueError, match="distinct"):
        Catalog([Product("X-1", "x", 1), Product("X-1", "y", 2)])
    custom = ShopSettings(instance_id="A", catalog=Catalog([Product("X-1", "Thing", 5)]))
    r = Shop(create_app(custom)).get("/products")
    assert r.json() == {"products": [{"sku": "X-1", "name": "Thing", "price_cents": 5}]}


def test_redis_cart_store_type_is_what_redis_settings_build():
    app = create_app(ShopSettings(instance_id="A", carts="redis", cart_ttl=30),
                     redis=fakeredis.FakeRedis(server=fakeredis.FakeServer()))
    assert isinstance(app.state.carts, RedisCartStore) and app.state.carts.ttl == 30


# ---- python -m highload.shop -------------------------------------------------------------

def test_module_runs_under_uvicorn():
    port = free_port()
    proc = spawn(
        [sys.executable, "-m", "highload.shop", "--port", str(port), "--instance-id", "cli-1",
         "--carts", "memory"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        if not wait_for_port("127.0.0.1", port, 15, process=proc):
            kill_group(proc)  # first, so reading its stderr cannot block
            raise AssertionError(f"the shop did not listen on {port}: {proc.stderr.read().decode()[-2000:]}")
        r = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
        assert r.status_code == 200 and r.headers["X-Served-By"] == "cli-1"
        assert r.json()["carts"] == "memory"
    finally:
        kill_group(proc)


def test_module_rejects_an_unknown_cart_kind():
    r = subprocess.run([sys.executable, "-m", "highload.shop", "--carts", "disk"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "--carts" in r.stderr


# -- a fixed per-instance capacity (the scaling bench's workload) ----------------------------


def test_simulated_capacity_admits_at_most_max_in_flight_and_queues_the_rest():
    from highload.shop.capacity import SimulatedCapacity

    inside, peak, release = 0, 0, None

    async def app(scope, receive, send):
        nonlocal inside, peak
        inside += 1
        peak = max(peak, inside)
        await release.wait()
        inside -= 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def scenario():
        nonlocal release
        release = asyncio.Event()
        limited = SimulatedCapacity(app, max_in_flight=2, io_delay=0)
        transport = httpx.ASGITransport(app=limited)
        async with httpx.AsyncClient(transport=transport, base_url="http://shop") as client:
            calls = [asyncio.ensure_future(client.get("/cart/c1")) for _ in range(5)]
            for _ in range(20):  # let every request reach the semaphore
                await asyncio.sleep(0)
            admitted = inside
            release.set()
            responses = await asyncio.gather(*calls)
        return admitted, responses

    admitted, responses = asyncio.run(scenario())
    assert admitted == 2, "two admitted, three waiting in line"
    assert peak == 2
    assert [r.status_code for r in responses] == [200] * 5, "the waiting requests are served, not refused"


def test_health_bypasses_the_capacity_limit():
    shop = Shop(create_app(ShopSettings(instance_id="A", max_in_flight=1, io_delay=0.0)))
    assert shop.get("/health").status_code == 200
    assert shop.get("/products").headers["x-served-by"] == "A"


@pytest.mark.parametrize("kwargs, message", [
    ({"max_in_flight": 0}, "max_in_flight must be an int >= 1 or None, got 0"),
    ({"max_in_flight": 2, "io_delay": -1}, "io_delay must be a number of seconds >= 0, got -1"),
    ({"io_delay": 0.05}, "io_delay=0.05 needs max_in_flight"),
])
def test_capacity_settings_are_validated(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ShopSettings(instance_id="A", **kwargs)
