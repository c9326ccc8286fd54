"""Lesson 02's request printers: send a shopper's requests to a cluster and print one line per
response (status, which shop process answered, which servers the balancer tried, the cart)."""

from __future__ import annotations

__all__ = ["cart_items", "show", "shop_visit", "tried", "show_route", "visit"]


def cart_items(response) -> dict[str, int]:
    """The cart in a shop response, as {sku: qty}."""
    return {item["sku"]: item["qty"] for item in response.json()["items"]}


def show(response, request: str) -> None:
    print(f"{request:15} {response.status_code}  {response.headers['x-served-by']:9}  {cart_items(response)}")


def shop_visit(http, cart: str):
    """Add a keyboard and a mouse, then open the cart three times, printing each response.
    Returns the last write's response."""
    print(f"{'request':15} code served by  cart in the response")
    show(http.post(f"/cart/{cart}/items", json={"sku": "KB-001", "qty": 1}), "add a keyboard")
    last = http.post(f"/cart/{cart}/items", json={"sku": "MS-002", "qty": 1})
    show(last, "add a mouse")
    for _ in range(3):
        show(http.get(f"/cart/{cart}"), "open the cart")
    return last


def tried(response, names: dict[str, str]) -> str:
    """The servers the balancer tried, in order, e.g. 'shop-2 -> shop-3' (``names``: address -> name)."""
    return " -> ".join(names.get(a.strip(), a.strip()) for a in response.headers["x-upstream-addr"].split(","))


def show_route(response, request: str, names: dict[str, str]) -> None:
    print(f"{request:15} {response.status_code}  {response.headers['x-served-by']:9}  "
          f"{tried(response, names):18} {cart_items(response)}")


def visit(url: str, shopper: str, adds=()) -> list:
    """One shopper's requests to ``url``, with their own session cookie: add each sku, then open
    the cart. Returns the responses."""
    import httpx

    with httpx.Client(base_url=url, timeout=10, cookies={"session": shopper}) as http:
        responses = [http.post(f"/cart/{shopper}/items", json={"sku": sku, "qty": 1}) for sku in adds]
        return responses + [http.get(f"/cart/{shopper}")]
