"""The port of the OpenResty guide's breaker keeps its bugs, and highload's breaker does not.

Lesson 09's "find the bug" section rests on these facts: with the guide's payment config
(failure_threshold 3, success_threshold 5, timeout 30, half_open_max_calls 2) the Lua logic
admits a handful of trials, all succeed, and the circuit still never closes.
"""

from __future__ import annotations

import pytest

from highload.clock import ManualClock
from highload.lab.openresty_breaker import (
    LUA_CONFIG,
    LUA_SERVICE_CONFIG,
    CircuitOpenError,
    LuaCircuitBreaker,
    OpenRestyBreaker,
    SharedDict,
)
from highload.resilience import SERVICE_THRESHOLDS, CircuitBreaker
from highload.resilience import CircuitOpenError as HighloadOpen

PAYMENT = LUA_SERVICE_CONFIG["payment"]


class Down(Exception):
    pass


def fail():
    raise Down("payment timed out")


def ok():
    return "paid"


def outcomes(breaker, n, rejected=CircuitOpenError):
    out = []
    for _ in range(n):
        try:
            breaker.call(ok)
            out.append("ok")
        except rejected:
            out.append("refused")
    return out


def opened_payment(clock):
    lua = LuaCircuitBreaker(**PAYMENT, clock=clock)
    for _ in range(3):
        assert lua.can_request("payment")
        lua.record_failure("payment")
    assert lua.get_state("payment") == "OPEN"
    return lua


def test_configs_match_the_guides_lua_files():
    assert LUA_CONFIG == {"failure_threshold": 5, "success_threshold": 2, "timeout": 60,
                          "half_open_max_calls": 3}
    for name, lua in LUA_SERVICE_CONFIG.items():
        ours = SERVICE_THRESHOLDS[name]
        assert {**lua, "open_timeout": lua["timeout"]} == {**ours, "timeout": ours["open_timeout"]}


def test_shared_dict_incr_has_ngx_semantics():
    d = SharedDict()
    assert d.get("x") is None
    assert d.incr("x", 1) is None and d.get("x") is None, "no init: a missing key stays missing"
    assert d.incr("x", 1, 0) == 1 and d.incr("x", 1, 0) == 2


def test_payment_opens_after_three_failures_and_refuses_until_the_timeout():
    clock = ManualClock()
    lua = opened_payment(clock)
    assert lua.log == ["[ERR] Circuit OPENED for service: payment after 3 failures"]
    clock.set(29.75)
    assert not lua.can_request("payment")
    clock.set(30)
    assert lua.can_request("payment"), "the request that arrives at the timeout is admitted"
    assert lua.get_state("payment") == "HALF_OPEN"


def test_payment_admits_only_a_few_trials_and_all_succeed_yet_it_never_closes():
    clock = ManualClock()
    lua = opened_payment(clock)
    clock.set(30)
    admitted = 0
    for _ in range(50):
        if lua.can_request("payment"):
            admitted += 1
            lua.record_success("payment")
        clock.advance(1)
    # 1 uncounted trial (the OPEN -> HALF_OPEN request) + half_open_max_calls counted ones.
    assert admitted == PAYMENT["half_open_max_calls"] + 1 == 3
    assert admitted < PAYMENT["success_threshold"]
    assert lua.get_state("payment") == "HALF_OPEN"
    assert lua.circuit_states.get("payment:successes") == 3
    assert lua.circuit_states.get("payment:half_open_calls") == 2
    clock.advance(86_400)
    assert not lua.can_request("payment"), "a day later it still refuses everything"
    assert lua.get_state("payment") == "HALF_OPEN"


def test_the_contract_wrapper_is_stuck_half_open_too():
    clock = ManualClock()
    breaker = OpenRestyBreaker(failure_threshold=3, success_threshold=5, open_timeout=30,
                                 half_open_max_calls=2, clock=clock)
    for _ in range(3):
        with pytest.raises(Down):
            breaker.call(fail)
    assert breaker.state == "open" and breaker.opened_at == 0
    with pytest.raises(CircuitOpenError):
        breaker.call(ok)
    clock.set(30)
    assert outcomes(breaker, 10) == ["ok"] * 3 + ["refused"] * 7
    clock.advance(3600)
    assert outcomes(breaker, 10) == ["refused"] * 10
    assert breaker.state == "half_open"
    assert breaker.counters["successes"] == 3


def test_highload_breaker_with_the_same_config_closes_after_five_successful_trials():
    clock = ManualClock()
    breaker = CircuitBreaker(**SERVICE_THRESHOLDS["payment"], clock=clock)
    for _ in range(3):
        with pytest.raises(Down):
            breaker.call(fail)
    assert breaker.state == "open"
    clock.set(30)
    assert outcomes(breaker, 4, HighloadOpen) == ["ok"] * 4
    assert breaker.state == "half_open", "4 successes of 5"
    assert outcomes(breaker, 1, HighloadOpen) == ["ok"]
    assert breaker.state == "closed", "trials in flight free their slot when they finish"


def test_default_lua_config_does_close():
    """The bug needs success_threshold > half_open_max_calls + 1: the module's own config is fine."""
    clock = ManualClock()
    breaker = OpenRestyBreaker(failure_threshold=5, success_threshold=2, open_timeout=60,
                                 half_open_max_calls=3, clock=clock)
    for _ in range(5):
        with pytest.raises(Down):
            breaker.call(fail)
    clock.set(60)
    assert outcomes(breaker, 2) == ["ok", "ok"]
    assert breaker.state == "closed"


def test_half_open_successes_carry_over_into_the_next_half_open_period():
    clock = ManualClock()
    lua = LuaCircuitBreaker(**LUA_SERVICE_CONFIG["order"], clock=clock)  # success_threshold 3
    for _ in range(5):
        lua.can_request("order")
        lua.record_failure("order")
    clock.set(45)
    assert lua.can_request("order")
    lua.record_success("order")
    assert lua.can_request("order")
    lua.record_failure("order")  # re-opens, but successes stay at 1
    assert lua.get_state("order") == "OPEN"
    clock.set(90)
    for _ in range(2):
        assert lua.can_request("order")
        lua.record_success("order")
    assert lua.get_state("order") == "CLOSED", "closed after only 2 fresh successes of 3"


def test_a_success_resets_the_consecutive_failures_while_closed():
    lua = LuaCircuitBreaker(failure_threshold=3, clock=ManualClock())
    for outcome in ("fail", "fail", "ok", "fail", "fail"):
        assert lua.can_request("svc")
        lua.record_success("svc") if outcome == "ok" else lua.record_failure("svc")
    assert lua.get_state("svc") == "CLOSED"


def test_open_time_zero_is_a_real_time():
    """Lua treats 0 as true: a circuit opened at clock 0 must half-open after the timeout."""
    clock = ManualClock(0.0)
    lua = LuaCircuitBreaker(failure_threshold=1, timeout=5, clock=clock)
    lua.record_failure("svc")
    clock.set(5)
    assert lua.can_request("svc")
