"""A real downstream service that fails and stalls on purpose, for tests and lessons.

:func:`flaky_app` builds a small FastAPI app. ``GET /`` answers ``{"served_by": name, ...}``
or fails with ``failure_status``, decided by one ``random.Random(seed)`` draw per request,
so the same seed gives the same pattern of failures. ``latency`` adds an ``asyncio.sleep``
before each answer. ``POST /control`` changes the failure rate, latency or failure status
while the app runs, so a lesson can break a service and watch it recover. ``GET /health``
always answers 200.

Run one as its own process (what a load balancer such as nginx sits in front of)::

    python -m highload.lab.flaky_upstream --port 8001 --name A --failure-rate 0.2 --latency 0.05

or from Python with :func:`run_flaky`, which starts it in its own session and kills the
process group on exit.

Needs the ``web`` extra: ``pip install "highload[web]"``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import random
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

from highload.processes import free_port, kill_group, spawn, wait_for_port

__all__ = ["FlakyConfig", "FlakyServer", "flaky_app", "run_flaky", "main"]

_WEB_MISSING = 'highload.lab.flaky_upstream needs the web extra: pip install "highload[web]"'


def _check_rate(failure_rate: float) -> float:
    if isinstance(failure_rate, bool) or not isinstance(failure_rate, int | float) \
            or not 0.0 <= failure_rate <= 1.0:
        raise ValueError(f"failure_rate must be between 0 and 1, got {failure_rate!r}")
    return float(failure_rate)


def _check_latency(latency: float) -> float:
    if isinstance(latency, bool) or not isinstance(latency, int | float) \
            or not math.isfinite(latency) or latency < 0:
        raise ValueError(f"latency must be a finite number of seconds >= 0, got {latency!r}")
    return float(latency)


def _check_status(failure_status: int) -> int:
    if isinstance(failure_status, bool) or not isinstance(failure_status, int) \
            or not 400 <= failure_status <= 599:
        raise ValueError(f"failure_status must be an HTTP error status (400-599), got {failure_status!r}")
    return failure_status


@dataclass
class FlakyConfig:
    """What a flaky app does now, and what it has done: ``app.state.flaky`` holds one."""

    name: str
    failure_rate: float = 0.0
    latency: float = 0.0
    failure_status: int = 500
    requests: int = 0
    failures: int = 0
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def update(self, *, failure_rate: float | None = None, latency: float | None = None,
               failure_status: int | None = None) -> None:
        """Change behaviour at run time; every value is validated before any is applied."""
        rate = self.failure_rate if failure_rate is None else _check_rate(failure_rate)
        delay = self.latency if latency is None else _check_latency(latency)
        status = self.failure_status if failure_status is None else _check_status(failure_status)
        self.failure_rate, self.latency, self.failure_status = rate, delay, status

    def snapshot(self) -> dict[str, Any]:
        return {"name": self.name, "failure_rate": self.failure_rate, "latency": self.latency,
                "failure_status": self.failure_status, "requests": self.requests,
                "failures": self.failures}


def flaky_app(*, failure_rate: float = 0.0, latency: float = 0.0, seed: int = 0,
              name: str = "downstream", failure_status: int = 500) -> FastAPI:
    """A FastAPI app that fails ``failure_rate`` of its ``GET /`` requests, after ``latency`` s.

    Routes:

    - ``GET /`` (or ``POST /``, counted the same way): ``200 {"served_by": name, "ok": true,
      "request": n}``, or ``failure_status``
      with ``{"served_by": name, "ok": false, "request": n, "error": "injected failure"}``.
      Request ``n`` fails when the ``n``-th draw of ``random.Random(seed)`` is below
      ``failure_rate``: 0 never fails, 1 always fails, and a seed fixes the pattern.
    - ``GET /health``: always ``200 {"status": "ok", "served_by": name}``.
    - ``GET /control``: the current settings and the request/failure counters.
    - ``POST /control`` with any of ``{"failure_rate", "latency", "failure_status"}``:
      change them at run time (422 with the reason for a bad value).

    Raises ``ValueError`` naming the parameter for a bad argument, and ``ImportError``
    naming the ``web`` extra when FastAPI is not installed.
    """
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"seed must be an int, got {seed!r}")
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string, got {name!r}")
    state = FlakyConfig(name=name, rng=random.Random(seed))
    state.update(failure_rate=failure_rate, latency=latency, failure_status=failure_status)
    try:
        from fastapi import Body, FastAPI
        from fastapi.responses import JSONResponse
    except ImportError as exc:  # pragma: no cover - exercised by the clean-venv wheel test
        raise ImportError(_WEB_MISSING) from exc

    app = FastAPI(title=f"flaky downstream {name!r}")
    app.state.flaky = state

    # POST answers like GET, so a test can see how nginx treats a non-idempotent request.
    @app.api_route("/", methods=["GET", "POST"])
    async def serve() -> JSONResponse:
        state.requests += 1
        n = state.requests
        # Draw before sleeping so the pattern depends only on seed= and the request's index.
        fails = state.rng.random() < state.failure_rate
        if state.latency > 0:
            await asyncio.sleep(state.latency)
        if fails:
            state.failures += 1
            return JSONResponse({"served_by": name, "ok": False, "request": n,
                                 "error": "injected failure"}, status_code=state.failure_status)
        return JSONResponse({"served_by": name, "ok": True, "request": n})

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok", "served_by": name}

    @app.get("/control")
    async def show() -> dict[str, Any]:
        return state.snapshot()

    @app.post("/control")
    async def control(changes: dict[str, Any] = Body(...)) -> JSONResponse:  # noqa: B008
        unknown = sorted(set(changes) - {"failure_rate", "latency", "failure_status"})
        if unknown:
            return JSONResponse({"detail": f"unknown settings {unknown}: use failure_rate, "
                                           "latency or failure_status"}, status_code=422)
        try:
            state.update(**changes)
        except ValueError as exc:
            return JSONResponse({"detail": str(exc)}, status_code=422)
        return JSONResponse(state.snapshot())

    return app


# --- running it as a separate process ---------------------------------------------------------


@dataclass
class FlakyServer:
    """A flaky app running under uvicorn in its own process session (see :func:`run_flaky`)."""

    name: str
    host: str
    port: int
    process: subprocess.Popen = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def address(self) -> str:
        """``host:port``, as an nginx ``server`` line wants it."""
        return f"{self.host}:{self.port}"

    def kill(self, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
        """Stop the whole process group and wait for it; safe to call twice."""
        kill_group(self.process, sig, timeout)


@contextlib.contextmanager
def run_flaky(*, name: str = "downstream", failure_rate: float = 0.0, latency: float = 0.0,
              seed: int = 0, failure_status: int = 500, host: str = "127.0.0.1",
              port: int | None = None, startup_timeout: float = 20) -> Iterator[FlakyServer]:
    """Run :func:`flaky_app` under uvicorn as a separate process, in its own session.

    Yields a :class:`FlakyServer` once the port accepts connections. Call ``.kill()`` to take
    the service down mid-lesson; on exit the process group is killed anyway.
    """
    # Validate here, so a bad argument fails in the caller and not in a child's log.
    _check_rate(failure_rate)
    _check_latency(latency)
    _check_status(failure_status)
    port = free_port(host) if port is None else port
    args = [sys.executable, "-m", "highload.lab.flaky_upstream", "--host", host, "--port", str(port),
            "--name", name, "--failure-rate", repr(failure_rate), "--latency", repr(latency),
            "--seed", str(seed), "--failure-status", str(failure_status)]
    with tempfile.TemporaryFile() as output:
        process = spawn(args, stdout=output, stderr=subprocess.STDOUT)
        server = FlakyServer(name=name, host=host, port=port, process=process)
        try:
            if not wait_for_port(host, port, startup_timeout, process=process):
                output.seek(0)
                log = output.read().decode(errors="replace").strip()
                raise RuntimeError(f"flaky downstream {name!r} did not start on {host}:{port} "
                                   f"(exit code {process.poll()}): {log or 'no output'}")
            yield server
        finally:
            server.kill()


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m highload.lab.flaky_upstream``: serve a flaky app with uvicorn."""
    parser = argparse.ArgumentParser(prog="python -m highload.lab.flaky_upstream",
                                     description="Serve a downstream that fails and stalls on purpose.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--name", default="downstream")
    parser.add_argument("--failure-rate", type=float, default=0.0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds to sleep per request")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--failure-status", type=int, default=500)
    parser.add_argument("--log-level", default="warning")
    opts = parser.parse_args(argv)
    try:
        app = flaky_app(failure_rate=opts.failure_rate, latency=opts.latency, seed=opts.seed,
                        name=opts.name, failure_status=opts.failure_status)
    except ValueError as exc:
        parser.error(str(exc))
    try:
        import uvicorn
    except ImportError as exc:  # pragma: no cover - exercised by the clean-venv wheel test
        raise ImportError(_WEB_MISSING) from exc
    uvicorn.run(app, host=opts.host, port=opts.port, log_level=opts.log_level)


if __name__ == "__main__":
    main()
