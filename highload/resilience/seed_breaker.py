"""Moved to :mod:`highload.lab.openresty_breaker` (teaching code lives in ``highload.lab``).

This alias keeps the old import path and names working, without a warning, until the next
release: ``SeedLuaBreaker`` is :class:`~highload.lab.openresty_breaker.LuaCircuitBreaker`,
``SeedCircuitBreaker`` is :class:`~highload.lab.openresty_breaker.OpenRestyBreaker` and
``SEED_CB_CONFIG`` is :data:`~highload.lab.openresty_breaker.LUA_SERVICE_CONFIG`.
"""

from highload.lab.openresty_breaker import (
    LUA_CONFIG,
    LUA_SERVICE_CONFIG,
    STATE,
    CircuitOpenError,
    LuaCircuitBreaker,
    OpenRestyBreaker,
    SharedDict,
)

SEED_CB_CONFIG = LUA_SERVICE_CONFIG
SeedLuaBreaker = LuaCircuitBreaker
SeedCircuitBreaker = OpenRestyBreaker

__all__ = [
    "STATE", "LUA_CONFIG", "LUA_SERVICE_CONFIG", "SharedDict", "LuaCircuitBreaker", "OpenRestyBreaker",
    "CircuitOpenError", "SEED_CB_CONFIG", "SeedLuaBreaker", "SeedCircuitBreaker",
]
