"""The shop's FastAPI app: products, carts, health, and ``X-Served-By`` on every response.

Bad input answers 422 with a JSON body naming each problem; an unknown SKU answers 404;
an unreachable cart store answers 503 (logged). None of them is a 500.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import FastAPI, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from highload.carts import CartStore, InMemoryCartStore, RedisCartStore
from highload.outages import CAUGHT, is_outage
from highload.proxies import ClientFromProxy

from .capacity import SimulatedCapacity
from .health import StoreHealth
from .settings import ShopSettings

__all__ = ["create_app", "ServedBy", "AddItem", "MAX_QTY_PER_REQUEST", "CART_ID_PATTERN"]

log = logging.getLogger("highload.shop")

#: The most one request may add or remove: a typo of 10000 should not reach the store.
MAX_QTY_PER_REQUEST = 1000
#: Cart ids are opaque tokens the client picks (say, a UUID): letters, digits, - and _.
CART_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
#: The errors caught around the cart store; only outages (:func:`highload.outages.is_outage`)
#: answer 503, the rest 500. The old name of ``highload.outages.CAUGHT``.
STORE_ERRORS: tuple[type[BaseException], ...] = CAUGHT

CartId = Annotated[str, Path(pattern=CART_ID_PATTERN, description="an opaque id the client picks")]


class AddItem(BaseModel):
    """``POST /cart/{cart_id}/items`` body. Strict: ``true`` or ``"2"`` is not a quantity."""

    model_config = ConfigDict(extra="forbid", strict=True)

    sku: str = Field(min_length=1, max_length=64)
    qty: int = Field(ge=1, le=MAX_QTY_PER_REQUEST)


class ServedBy:
    """Pure ASGI middleware adding ``X-Served-By: <instance_id>`` to every HTTP response."""

    def __init__(self, app, instance_id: str) -> None:
        self.app = app
        self.header = (b"x-served-by", instance_id.encode())

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = self.header

        async def send_with_header(message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), header]}
            await send(message)

        await self.app(scope, receive, send_with_header)


def _error(status: int, error: str, message: str, **extra) -> JSONResponse:
    return JSONResponse({"detail": {"error": error, "message": message, **extra}}, status_code=status)


def _make_store(settings: ShopSettings, redis) -> CartStore:
    if settings.carts == "memory":
        return InMemoryCartStore()
    if redis is None:
        from highload.redis_client import connect

        redis = connect(settings.redis_url)
    return RedisCartStore(redis, ttl=settings.cart_ttl)


def create_app(settings: ShopSettings | None = None, *, carts: CartStore | None = None,
               redis=None, clock=None) -> FastAPI:
    """A shop app. ``carts`` injects any :class:`~highload.carts.CartStore` (overriding
    ``settings.carts``); ``redis`` injects the client a ``"redis"`` store uses; ``clock``
    times the ``/health`` cache (a ``ManualClock`` in tests)."""
    settings = settings if settings is not None else ShopSettings()
    store = carts if carts is not None else _make_store(settings, redis)
    catalog = settings.catalog
    kind = settings.carts if carts is None else type(carts).__name__

    app = FastAPI(title=f"highload shop ({settings.instance_id})")
    app.state.settings, app.state.carts = settings, store
    if settings.max_in_flight is not None:
        app.add_middleware(SimulatedCapacity, max_in_flight=settings.max_in_flight,
                           io_delay=settings.io_delay)
    if settings.trusted_proxies:
        app.add_middleware(ClientFromProxy, trusted_proxies=settings.trusted_proxies)
    # Added last, so outermost: even a request waiting for a slot is answered with X-Served-By.
    app.add_middleware(ServedBy, instance_id=settings.instance_id)
    health_check = None
    if isinstance(store, RedisCartStore):
        health_check = StoreHealth(store.redis.ping, errors=STORE_ERRORS, ttl=settings.health_ttl,
                                   timeout=settings.health_timeout, clock=clock)
    app.state.health = health_check

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
                  for e in exc.errors()]
        message = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
        return _error(422, "invalid_request", message or "invalid request", errors=errors)

    for error_type in STORE_ERRORS:
        @app.exception_handler(error_type)
        async def unavailable(request: Request, exc: Exception) -> JSONResponse:
            if not is_outage(exc):
                log.error("cart store error (%s: %s)", type(exc).__name__, exc)
                return _error(500, "internal_error", "The cart store refused the request.")
            log.warning("cart store unreachable (%s: %s)", type(exc).__name__, exc)
            response = _error(503, "cart_store_unavailable", "The cart store is unreachable; try again shortly.")
            response.headers["Retry-After"] = "1"
            return response

    def product_or_404(sku: str):
        product = catalog.get(sku)
        if product is None:
            raise HTTPException(404, detail={"error": "unknown_sku", "message": f"No product with sku {sku!r}."})
        return product

    def cart_body(cart_id: str) -> dict:
        items, total = [], 0
        for sku, qty in sorted(store.get_cart(cart_id).items()):
            product = catalog.get(sku)
            if product is None:  # withdrawn from the catalog: neither shown nor charged
                continue
            subtotal = product.price_cents * qty
            total += subtotal
            items.append({**product.as_dict(), "qty": qty, "subtotal_cents": subtotal})
        return {"cart_id": cart_id, "items": items, "total_cents": total}

    @app.get("/products")
    def products() -> dict:
        return {"products": [p.as_dict() for p in catalog]}

    @app.get("/cart/{cart_id}")
    def get_cart(cart_id: CartId) -> dict:
        return cart_body(cart_id)

    @app.post("/cart/{cart_id}/items")
    def add_item(cart_id: CartId, item: AddItem) -> dict:
        product_or_404(item.sku)
        store.add_item(cart_id, item.sku, item.qty)
        return cart_body(cart_id)

    @app.delete("/cart/{cart_id}/items/{sku}")
    def remove_item(
        cart_id: CartId,
        sku: Annotated[str, Path(min_length=1, max_length=64)],
        qty: Annotated[int | None, Query(ge=1, le=MAX_QTY_PER_REQUEST,
                                         description="how many to remove; all when absent")] = None,
    ) -> dict:
        product_or_404(sku)
        store.remove_item(cart_id, sku, qty)
        return cart_body(cart_id)

    @app.get("/health")
    async def health():
        body = {"status": "ok", "instance_id": settings.instance_id, "carts": kind}
        if health_check is not None and not await health_check.ok():
            return JSONResponse({**body, "status": "unavailable"}, status_code=503)
        return body

    return app
