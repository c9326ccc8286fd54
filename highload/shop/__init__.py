"""The running example: a small FastAPI e-commerce shop whose cart store is pluggable.

Run several instances behind a load balancer and watch ``X-Served-By``: with
``carts="memory"`` the cart disappears whenever the next request lands elsewhere; with
``carts="redis"`` every instance sees the same cart.

Needs the ``web`` extra: ``pip install "highload[web]"``.
"""

from .catalog import CATALOG, Catalog, Product
from .settings import ShopSettings

try:
    from .app import create_app
except ImportError as exc:  # pragma: no cover - exercised by the clean-venv wheel test
    raise ImportError('highload.shop needs the web extra: pip install "highload[web]"') from exc

__all__ = ["create_app", "ShopSettings", "Catalog", "Product", "CATALOG"]
