"""FastAPI glue: an open circuit or a full bulkhead becomes a 503 with Retry-After, a failed
upstream call a 502: never a bare 500.

    app = FastAPI()
    install(app)                      # CircuitOpenError / BulkheadFullError -> 503 JSON

    @app.get("/stock/{sku}")
    async def stock(sku: str, response: Response):
        value, source = await fallback.acall_with_source(breaker.acall, fetch_stock, sku)
        return served_from(response, source, value)     # X-Served-From: live | cache-fallback

Needs the ``web`` extra: ``pip install "highload[web]"``.
"""

from __future__ import annotations

import math
from typing import Any

try:
    from fastapi import FastAPI, Request, Response
    from fastapi.responses import JSONResponse
except ImportError as exc:  # pragma: no cover - exercised by the clean-venv wheel test
    raise ImportError('highload.resilience.fastapi needs the web extra: pip install "highload[web]"') from exc

from .errors import BulkheadFullError, CircuitOpenError

__all__ = ["install", "served_from"]


def _seconds(value: float) -> str:
    return str(max(1, math.ceil(value)))  # at least 1: "0" invites an instant retry storm


async def _circuit_open(request: Request, error: CircuitOpenError) -> JSONResponse:
    body = {"detail": {"error": "circuit_open", "dependency": error.name, "state": error.state,
                       "retry_after": float(error.retry_after)}}
    headers = {"Retry-After": _seconds(error.retry_after), "X-Circuit-State": error.state}
    return JSONResponse(body, status_code=503, headers=headers)


async def _bulkhead_full(request: Request, error: BulkheadFullError) -> JSONResponse:
    body = {"detail": {"error": "bulkhead_full", "dependency": error.name}}
    return JSONResponse(body, status_code=503, headers={"Retry-After": "1", "X-Bulkhead": "full"})


async def _upstream_failed(request: Request, error: Exception) -> JSONResponse:
    body = {"detail": {"error": "upstream_failed", "message": type(error).__name__}}
    return JSONResponse(body, status_code=502)


def install(app: FastAPI) -> FastAPI:
    """Register the handlers: open circuit or full bulkhead -> 503, a failed httpx upstream call -> 502."""
    app.add_exception_handler(CircuitOpenError, _circuit_open)
    app.add_exception_handler(BulkheadFullError, _bulkhead_full)
    try:
        import httpx
    except ImportError:
        return app
    app.add_exception_handler(httpx.HTTPError, _upstream_failed)
    return app


def served_from(response: Response, source: str, value: Any) -> Any:
    """Say where an answer came from (``X-Served-From``) and return it unchanged."""
    response.headers["X-Served-From"] = source
    return value
