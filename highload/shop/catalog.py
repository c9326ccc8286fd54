"""The shop's products: a small, fixed catalog (prices in cents, never floats)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass

__all__ = ["Product", "Catalog", "CATALOG"]


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    price_cents: int

    def __post_init__(self) -> None:
        if not isinstance(self.sku, str) or not self.sku:
            raise ValueError(f"sku must be a non-empty string, got {self.sku!r}")
        if type(self.price_cents) is not int or self.price_cents < 0:
            raise ValueError(f"price_cents must be an int >= 0, got {self.price_cents!r}")

    def as_dict(self) -> dict:
        return asdict(self)


class Catalog:
    """Products by SKU, in the order given."""

    def __init__(self, products: Iterable[Product]) -> None:
        self._by_sku: dict[str, Product] = {}
        for product in products:
            if product.sku in self._by_sku:
                raise ValueError(f"products must have distinct skus, got {product.sku!r} twice")
            self._by_sku[product.sku] = product

    def get(self, sku: str) -> Product | None:
        return self._by_sku.get(sku)

    def __contains__(self, sku: object) -> bool:
        return sku in self._by_sku

    def __iter__(self) -> Iterator[Product]:
        return iter(self._by_sku.values())

    def __len__(self) -> int:
        return len(self._by_sku)

    def __repr__(self) -> str:
        return f"Catalog({len(self)} products)"


CATALOG = Catalog([
    Product("KB-001", "Mechanical keyboard", 8999),
    Product("MS-002", "Wireless mouse", 2499),
    Product("MN-003", "27-inch monitor", 27999),
    Product("HP-004", "Noise-cancelling headphones", 19950),
    Product("CB-005", "USB-C cable (2 m)", 999),
    Product("WC-006", "HD webcam", 5490),
    Product("SD-007", "Laptop stand", 3450),
    Product("MP-008", "Desk mat", 1500),
])
