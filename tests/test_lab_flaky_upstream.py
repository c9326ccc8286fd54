"""The flaky downstream: seeded failures, injected latency, run-time control, and its own process."""

from __future__ import annotations

import asyncio
import math
import random

import httpx
import pytest

from highload.lab import flaky_upstream
from highload.lab.flaky_upstream import flaky_app, main, run_flaky


def _exchange(app, calls):
    """Run ``calls`` (a list of (method, path, json)) against ``app`` in process; return responses."""
    async def go():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://flaky") as client:
            return [await client.request(method, path, json=body) for method, path, body in calls]
    return asyncio.run(go())


def _statuses(app, n):
    return [r.status_code for r in _exchange(app, [("GET", "/", None)] * n)]


def test_failure_rate_zero_never_fails():
    responses = _exchange(flaky_app(name="A"), [("GET", "/", None)] * 100)
    assert [r.status_code for r in responses] == [200] * 100
    assert [r.json() for r in responses[:2]] == [{"served_by": "A", "ok": True, "request": 1},
                                                  {"served_by": "A", "ok": True, "request": 2}]


def test_failure_rate_one_always_fails_with_the_failure_status():
    app = flaky_app(failure_rate=1, failure_status=503, name="B")
    responses = _exchange(app, [("GET", "/", None)] * 50)
    assert [r.status_code for r in responses] == [503] * 50
    assert responses[0].json() == {"served_by": "B", "ok": False, "request": 1, "error": "injected failure"}
    assert app.state.flaky.snapshot()["failures"] == 50


def test_same_seed_same_pattern_and_it_follows_the_rng():
    first = _statuses(flaky_app(failure_rate=0.5, seed=7), 60)
    again = _statuses(flaky_app(failure_rate=0.5, seed=7), 60)
    other = _statuses(flaky_app(failure_rate=0.5, seed=8), 60)
    rng = random.Random(7)
    model = [500 if rng.random() < 0.5 else 200 for _ in range(60)]
    assert first == again == model, "request n fails when the n-th draw of Random(seed) < failure_rate"
    assert set(first) == {200, 500} and other != first


def test_health_answers_even_when_every_request_fails():
    health = _exchange(flaky_app(failure_rate=1, name="C"), [("GET", "/health", None)])[0]
    assert health.status_code == 200 and health.json() == {"status": "ok", "served_by": "C"}


def test_control_changes_behaviour_at_run_time():
    app = flaky_app(name="D")
    get = ("GET", "/", None)
    responses = _exchange(app, [
        get, get,
        ("POST", "/control", {"failure_rate": 1, "failure_status": 502}),
        get, get,
        ("POST", "/control", {"failure_rate": 0}),
        get,
        ("GET", "/control", None),
    ])
    assert [r.status_code for r in responses] == [200, 200, 200, 502, 502, 200, 200, 200]
    assert responses[2].json()["failure_rate"] == 1.0
    assert responses[-1].json() == {"name": "D", "failure_rate": 0.0, "latency": 0.0, "failure_status": 502,
                                    "requests": 5, "failures": 2}


@pytest.mark.parametrize(("body", "message"), [
    ({"failure_rate": 2}, "failure_rate must be between 0 and 1, got 2"),
    ({"latency": 0.5, "failure_status": 200}, "failure_status must be an HTTP error status"),
    ({"retries": 3}, "unknown settings ['retries']"),
])
def test_control_rejects_bad_values_and_changes_nothing(body, message):
    app = flaky_app(name="E")
    rejected, after = _exchange(app, [("POST", "/control", body), ("GET", "/control", None)])
    assert rejected.status_code == 422 and message in rejected.json()["detail"]
    assert (after.json()["failure_rate"], after.json()["latency"], after.json()["failure_status"]) == (0, 0, 500)


def test_sleeps_only_when_latency_is_positive(monkeypatch):
    slept = []

    async def fake_sleep(seconds):
        slept.append(seconds)

    monkeypatch.setattr(flaky_upstream.asyncio, "sleep", fake_sleep)
    _statuses(flaky_app(latency=0), 3)
    assert slept == []
    app = flaky_app(latency=0.25)
    _statuses(app, 2)
    _exchange(app, [("POST", "/control", {"latency": 0.5}), ("GET", "/", None)])
    assert slept == [0.25, 0.25, 0.5]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"failure_rate": -0.1}, "failure_rate must be between 0 and 1, got -0.1"),
    ({"failure_rate": 1.5}, "failure_rate must be between 0 and 1, got 1.5"),
    ({"failure_rate": math.nan}, "failure_rate must be between 0 and 1, got nan"),
    ({"failure_rate": "0.5"}, "failure_rate must be between 0 and 1, got '0.5'"),
    ({"latency": -1}, "latency must be a finite number of seconds >= 0, got -1"),
    ({"latency": math.inf}, "latency must be a finite number of seconds >= 0, got inf"),
    ({"failure_status": 200}, r"failure_status must be an HTTP error status \(400-599\), got 200"),
    ({"failure_status": True}, "failure_status must be an HTTP error status"),
    ({"seed": 1.5}, "seed must be an int, got 1.5"),
    ({"name": ""}, "name must be a non-empty string, got ''"),
])
def test_bad_arguments_raise_value_error_naming_them(kwargs, message):
    with pytest.raises(ValueError, match=message):
        flaky_app(**kwargs)


def test_command_line_rejects_bad_arguments(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--failure-rate", "2"])
    assert exit_info.value.code == 2
    assert "failure_rate must be between 0 and 1, got 2.0" in capsys.readouterr().err


def test_run_flaky_serves_from_its_own_process_and_kills_it():
    with pytest.raises(ValueError, match="latency"):
        with run_flaky(latency=-1):
            pass
    with run_flaky(name="F", failure_rate=1, failure_status=503) as server:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            assert http.get("/health").json() == {"status": "ok", "served_by": "F"}
            assert http.get("/").status_code == 503
            assert http.post("/control", json={"failure_rate": 0}).status_code == 200
            assert http.get("/").json() == {"served_by": "F", "ok": True, "request": 2}
        process = server.process
    assert process.poll() is not None, "the process group is gone when the context exits"
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url, timeout=2)
