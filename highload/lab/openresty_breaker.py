"""A faithful Python port of an OpenResty circuit breaker (``circuit_breaker.lua``): DELIBERATELY BUGGY.

The Lua module comes from a widely copied nginx/OpenResty guide. Lesson 09's "find the bug"
section runs this port. Do not use it for anything else: use
:class:`highload.resilience.CircuitBreaker`.

The port keeps the Lua module's logic line for line. ``ngx.shared.circuit_states`` becomes a
:class:`SharedDict` (``get``/``set``/``incr`` with the same semantics), ``ngx.now()`` becomes the
injected ``clock``, and ``ngx.log`` appends to :attr:`LuaCircuitBreaker.log`. Its bugs, kept on purpose:

1. **Half-open counts admitted trials, not trials in flight.** ``half_open_calls`` only ever
   goes up while half-open, and only a return to OPEN resets it. Once the allowance is used up,
   every request is refused, so no trial can fail and re-open the circuit either. If
   ``success_threshold`` is more than the trials it admits, the circuit stays half-open forever.
   The guide's payment config (``success_threshold = 5``, ``half_open_max_calls = 2``) does this.
2. **The request that flips OPEN to HALF_OPEN is not counted**, so half-open admits
   ``half_open_max_calls + 1`` trials (3 for payment: still fewer than 5).
3. **Half-open successes are not reset when the circuit re-opens**, so successes from an
   earlier half-open period count towards closing a later one.

:class:`OpenRestyBreaker` wraps it in the exercise contract (``call``, ``state``,
``CircuitOpenError``), so ``BreakerTimeline(impl=OpenRestyBreaker)`` can draw it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from highload import _validate

__all__ = [
    "STATE", "LUA_CONFIG", "LUA_SERVICE_CONFIG", "SharedDict", "LuaCircuitBreaker", "OpenRestyBreaker",
    "CircuitOpenError",
]

#: The Lua module's ``STATE`` table.
STATE = {"CLOSED": "CLOSED", "OPEN": "OPEN", "HALF_OPEN": "HALF_OPEN"}

#: The ``config`` table at the top of ``circuit_breaker.lua`` (the one the module really uses).
LUA_CONFIG = {"failure_threshold": 5, "success_threshold": 2, "timeout": 60, "half_open_max_calls": 3}

#: The guide's per-service ``cb_config.lua`` (key ``timeout``, as in the Lua files); the same
#: thresholds as :data:`highload.resilience.SERVICE_THRESHOLDS`, which says ``open_timeout``.
LUA_SERVICE_CONFIG = {
    "payment": {"failure_threshold": 3, "success_threshold": 5, "timeout": 30, "half_open_max_calls": 2},
    "inventory": {"failure_threshold": 10, "success_threshold": 3, "timeout": 60, "half_open_max_calls": 5},
    "recommendation": {"failure_threshold": 20, "success_threshold": 2, "timeout": 120,
                       "half_open_max_calls": 10},
    "order": {"failure_threshold": 5, "success_threshold": 3, "timeout": 45, "half_open_max_calls": 3},
}


class SharedDict:
    """The part of ``ngx.shared.DICT`` the breaker uses (no expiry, no size limit)."""

    def __init__(self) -> None:
        self._data: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        """The value, or None when the key is missing (Lua's nil)."""
        return self._data.get(key)

    def set(self, key: str, value: Any) -> None:
        self._data[key] = value

    def incr(self, key: str, value: float, init: float | None = None) -> float | None:
        """Add ``value``; a missing key starts from ``init`` (or stays missing when init is None)."""
        if key not in self._data:
            if init is None:
                return None  # Lua returns nil, "not found"
            self._data[key] = init
        self._data[key] += value
        return self._data[key]

    def snapshot(self) -> dict[str, Any]:
        """A copy of every key, like the guide's ``/internal/circuit-status`` endpoint would show."""
        return dict(self._data)


class LuaCircuitBreaker:
    """``circuit_breaker.lua`` in Python: one config, many services, state in a shared dict.

    Methods take the service name, like the Lua functions. ``log`` collects what ``ngx.log``
    would write.
    """

    def __init__(self, *, failure_threshold: int = LUA_CONFIG["failure_threshold"],
                 success_threshold: int = LUA_CONFIG["success_threshold"],
                 timeout: float = LUA_CONFIG["timeout"],
                 half_open_max_calls: int = LUA_CONFIG["half_open_max_calls"],
                 clock: Callable[[], float] = time.time, shared: SharedDict | None = None) -> None:
        _validate.clock(clock)
        self.config = {"failure_threshold": failure_threshold, "success_threshold": success_threshold,
                       "timeout": timeout, "half_open_max_calls": half_open_max_calls}
        self.circuit_states = shared if shared is not None else SharedDict()
        self.now = clock  # ngx.now()
        self.log: list[str] = []

    def _log(self, level: str, message: str) -> None:
        self.log.append(f"[{level}] {message}")

    def get_state(self, service_name: str) -> str:
        cs = self.circuit_states
        state = cs.get(service_name + ":state")
        if state is None:
            cs.set(service_name + ":state", STATE["CLOSED"])
            cs.set(service_name + ":failures", 0)
            cs.set(service_name + ":successes", 0)
            return STATE["CLOSED"]
        return state

    def can_request(self, service_name: str) -> bool:
        cs, config = self.circuit_states, self.config
        state = self.get_state(service_name)
        if state == STATE["CLOSED"]:
            return True
        elif state == STATE["OPEN"]:
            # Timeout passed: go HALF_OPEN (and admit this request without counting it).
            open_time = cs.get(service_name + ":open_time")
            # Lua's `open_time and ...`: only nil is false there (0 is true), hence `is not None`.
            if open_time is not None and (self.now() - open_time) >= config["timeout"]:
                cs.set(service_name + ":state", STATE["HALF_OPEN"])
                cs.set(service_name + ":half_open_calls", 0)
                self._log("WARN", "Circuit HALF_OPEN for service: " + service_name)
                return True
            return False
        elif state == STATE["HALF_OPEN"]:
            calls = cs.get(service_name + ":half_open_calls")
            calls = 0 if calls is None else calls
            if calls < config["half_open_max_calls"]:
                cs.incr(service_name + ":half_open_calls", 1, 0)  # counts admissions, never decremented
                return True
            return False
        return False

    def record_success(self, service_name: str) -> None:
        cs, config = self.circuit_states, self.config
        state = self.get_state(service_name)
        if state == STATE["HALF_OPEN"]:
            successes = cs.incr(service_name + ":successes", 1, 0)
            if successes >= config["success_threshold"]:
                cs.set(service_name + ":state", STATE["CLOSED"])
                cs.set(service_name + ":failures", 0)
                cs.set(service_name + ":successes", 0)
                self._log("WARN", "Circuit CLOSED for service: " + service_name)
        elif state == STATE["CLOSED"]:
            cs.set(service_name + ":failures", 0)  # a success resets the failure count

    def record_failure(self, service_name: str) -> None:
        cs, config = self.circuit_states, self.config
        state = self.get_state(service_name)
        if state == STATE["HALF_OPEN"]:
            # A failed trial re-opens the circuit (successes are NOT reset).
            cs.set(service_name + ":state", STATE["OPEN"])
            cs.set(service_name + ":open_time", self.now())
            self._log("ERR", "Circuit re-OPENED for service: " + service_name)
            return
        if state == STATE["CLOSED"]:
            failures = cs.incr(service_name + ":failures", 1, 0)
            if failures >= config["failure_threshold"]:
                cs.set(service_name + ":state", STATE["OPEN"])
                cs.set(service_name + ":open_time", self.now())
                self._log("ERR", f"Circuit OPENED for service: {service_name} after {failures} failures")


class CircuitOpenError(Exception):
    """What the guide's nginx answers with ``503`` and ``X-Circuit-State: OPEN``."""

    def __init__(self, service: str, state: str) -> None:
        super().__init__(f"circuit {service!r} refused the request (state {state})")
        self.service, self.state = service, state


class OpenRestyBreaker:
    """The guide's Lua breaker behind the exercise contract, for one service.

    ``call(fn)`` does what the guide's nginx location does: ``access_by_lua`` asks
    ``can_request`` (refusing with :class:`CircuitOpenError`), the request runs, and
    ``log_by_lua`` records a failure for an exception (a 5xx or a timeout) or else a success.
    Same bugs as :class:`LuaCircuitBreaker`: do not use it outside the lesson.
    """

    def __init__(self, failure_threshold: int = 5, success_threshold: int = 2, open_timeout: float = 30.0,
                 half_open_max_calls: int = 1, clock: Callable[[], float] = time.monotonic, *,
                 service: str = "payment") -> None:
        self.service = service
        self.lua = LuaCircuitBreaker(failure_threshold=failure_threshold, success_threshold=success_threshold,
                                     timeout=open_timeout, half_open_max_calls=half_open_max_calls, clock=clock)

    def __repr__(self) -> str:
        return f"OpenRestyBreaker(service={self.service!r}, state={self.state!r})"

    @property
    def state(self) -> str:
        """"closed", "open" or "half_open". Like the Lua, it moves only when a request arrives."""
        return self.lua.get_state(self.service).lower()

    @property
    def opened_at(self) -> float | None:
        return self.lua.circuit_states.get(self.service + ":open_time")

    @property
    def counters(self) -> dict[str, Any]:
        """The service's keys in the shared dict (state, failures, successes, half_open_calls, ...)."""
        prefix = self.service + ":"
        return {k[len(prefix):]: v for k, v in self.lua.circuit_states.snapshot().items()
                if k.startswith(prefix)}

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self.lua.can_request(self.service):
            raise CircuitOpenError(self.service, self.lua.get_state(self.service))
        try:
            result = fn(*args, **kwargs)
        except Exception:
            self.lua.record_failure(self.service)
            raise
        self.lua.record_success(self.service)
        return result
