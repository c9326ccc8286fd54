"""Paired, interleaved timing and the private servers a benchmark needs.

Shared machines drift: the same Redis round trip can be 2-5x slower a few minutes later.
So a case is never timed on its own. It is paired with a reference (a physical floor or a
peer library), and inside every repeat the two run in alternating chunks
(case, ref, ref, case, case, ref, ...). Each repeat yields one ratio of the two rates; the
report is the median of those per-repeat ratios, with the absolute medians for context.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from highload import processes
from highload.processes import free_port, kill_group, spawn
from highload.redis_client import answers

__all__ = [
    "Settings",
    "Paired",
    "timed_chunk",
    "calibrate",
    "cpu_seconds",
    "interleave",
    "interleave_many",
    "interleave_group",
    "Server",
    "free_port",
    "kill_group",
    "redis_server",
    "server",
    "sigterm_as_interrupt",
    "wrk",
]

#: One chunk of a side: run it once, get back (operations done, seconds taken).
Chunk = Callable[[], tuple[float, float]]


@dataclass(frozen=True)
class Settings:
    """How long and how often to measure."""

    repeats: int = 5
    chunks: int = 10  # chunks per side per repeat; the order alternates every chunk
    chunk_seconds: float = 0.02  # target wall time of one in-process chunk
    http_chunks: int = 4  # wrk runs per side per repeat
    http_seconds: int = 1  # length of one wrk run, whole seconds
    http_warmup: int = 1
    quick: bool = False

    @classmethod
    def full(cls, repeats: int = 5) -> Settings:
        return cls(repeats=repeats)

    @classmethod
    def smoke(cls, repeats: int = 1) -> Settings:
        return cls(repeats=repeats, chunks=2, chunk_seconds=0.01,
                   http_chunks=1, http_seconds=1, http_warmup=0, quick=True)


@dataclass
class Paired:
    """Per-repeat rates of a case and its reference, and their ratios (case / reference)."""

    case_rates: list[float] = field(default_factory=list)
    ref_rates: list[float] = field(default_factory=list)

    @property
    def ratios(self) -> list[float]:
        return [c / r for c, r in zip(self.case_rates, self.ref_rates, strict=True)]

    @property
    def case(self) -> float:
        return statistics.median(self.case_rates)

    @property
    def ref(self) -> float:
        return statistics.median(self.ref_rates)

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)


def timed_chunk(run: Callable[[int], object], n: int) -> Chunk:
    """A chunk that calls ``run(n)`` (which does ``n`` operations) under a monotonic timer."""

    def chunk() -> tuple[float, float]:
        t0 = time.perf_counter()
        run(n)
        return n, time.perf_counter() - t0

    return chunk


def calibrate(run: Callable[[int], object], seconds: float) -> int:
    """How many operations of ``run`` take about ``seconds`` (this also warms it up)."""
    n = 1
    while True:
        t0 = time.perf_counter()
        run(n)
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds / 4 or n >= 1 << 24:
            return max(1, int(n * seconds / max(elapsed, 1e-9)))
        n *= 4 if elapsed < seconds / 40 else 2


def interleave(case: Chunk, ref: Chunk, *, repeats: int, chunks: int) -> Paired:
    """Run ``case`` and ``ref`` in alternating chunks inside every repeat.

    The order flips every chunk (case, ref, ref, case, ...), so a drift within a repeat
    hits both sides alike. Each repeat gives one rate per side: operations / seconds,
    summed over that repeat's chunks.
    """
    return interleave_many(case, ref, repeats=repeats, chunks=chunks)[0]


def interleave_many(case: Callable[[], tuple[float, ...]], ref: Callable[[], tuple[float, ...]], *,
                    repeats: int, chunks: int) -> list[Paired]:
    """:func:`interleave` for chunks returning ``(ops, seconds, other_seconds, ...)``.

    One :class:`Paired` per denominator, e.g. wall seconds and server CPU seconds of the
    same runs.
    """
    out: list[Paired] = []
    for _ in range(repeats):
        totals: dict[str, list[float]] = {}
        for i in range(chunks):
            order = (("case", case), ("ref", ref)) if i % 2 == 0 else (("ref", ref), ("case", case))
            for name, chunk in order:
                values = chunk()
                acc = totals.setdefault(name, [0.0] * len(values))
                for j, v in enumerate(values):
                    acc[j] += v
        if not out:
            out = [Paired() for _ in totals["case"][1:]]
        for j, paired in enumerate(out, start=1):
            paired.case_rates.append(totals["case"][0] / totals["case"][j])
            paired.ref_rates.append(totals["ref"][0] / totals["ref"][j])
    return out


def interleave_group(floor: Callable[[int], object], cases: dict[str, Callable[[int], object]], s: Settings) -> dict[str, Paired]:
    """Time ``floor`` and every case in alternating chunks inside every repeat.

    The harness's :func:`~bench._harness.interleave` for more than one case against the same
    floor: the order runs forward, then backward, every other chunk (floor, a, b, b, a, floor,
    ...), so a drift within a repeat hits every side alike, and every case's ratios share the
    floor's runs, which makes overheads of one repeat comparable with each other.
    One :class:`Paired` per case, ``case`` = the case, ``ref`` = the floor.
    """
    sides = [floor, *cases.values()]
    chunks = [timed_chunk(run, calibrate(run, s.chunk_seconds)) for run in sides]
    out = {name: Paired() for name in cases}
    for _ in range(s.repeats):
        totals = [[0.0, 0.0] for _ in sides]
        for i in range(s.chunks):
            order = range(len(sides)) if i % 2 == 0 else range(len(sides) - 1, -1, -1)
            for j in order:
                ops, seconds = chunks[j]()
                totals[j][0] += ops
                totals[j][1] += seconds
        floor_rate = totals[0][0] / totals[0][1]
        for (ops, seconds), paired in zip(totals[1:], out.values(), strict=True):
            paired.case_rates.append(ops / seconds)
            paired.ref_rates.append(floor_rate)
    return out


def wait_until(ready: Callable[[], bool], proc: subprocess.Popen, timeout: float, what: str) -> None:
    """:func:`highload.processes.wait_until`, raising a message that says which way it failed."""
    if processes.wait_until(ready, timeout, 0.05, process=proc):
        return
    if proc.poll() is not None:
        raise RuntimeError(f"{what} exited with code {proc.returncode} before it was ready")
    raise RuntimeError(f"{what} was not ready within {timeout:g} s")


class Server(NamedTuple):
    port: int
    pid: int


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux ``/proc``)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def server(
    argv: Callable[[int], list[str]],
    ready: Callable[[int], bool],
    what: str,
    *,
    timeout: float = 20.0,
    cwd: str | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[Server]:
    """Start ``argv(port)`` on a free loopback port in its own session; yield its port and pid.

    Waits until ``ready(port)``; at exit (also on Ctrl-C) kills the whole process group.
    A port taken between probe and bind is retried on another port.
    """
    with tempfile.TemporaryDirectory(prefix="hl-bench-") as workdir:
        log_path = os.path.join(workdir, "server.log")
        error = f"{what} did not start"
        for _attempt in range(3):
            port = free_port()
            with open(log_path, "wb") as log:
                proc = spawn(argv(port), stdout=log, stderr=subprocess.STDOUT, cwd=cwd or workdir, env=env)
            try:
                try:
                    wait_until(lambda port=port: ready(port), proc, timeout, f"{what} on port {port}")
                except RuntimeError as exc:
                    kill_group(proc)
                    with open(log_path, errors="replace") as f:
                        error = f"{exc}; its output:\n{f.read()[-2000:]}"
                    continue
                yield Server(port, proc.pid)
                return
            finally:
                kill_group(proc)
        raise RuntimeError(error)


def _redis_ping(port: int) -> bool:
    return answers(f"redis://127.0.0.1:{port}/0", timeout=0.5)


@contextlib.contextmanager
def redis_server(timeout: float = 10.0) -> Iterator[str]:
    """A private ``redis-server`` on a free loopback port, killed (by process group) at exit.

    Yields its URL. Nothing is persisted (``--save "" --appendonly no``), and the user's
    ``REDIS_URL`` is neither read nor touched.
    """
    exe = shutil.which("redis-server")
    if exe is None:
        raise RuntimeError("redis-server is not installed (Debian: apt-get install redis-server)")

    def argv(port: int) -> list[str]:
        return [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", ".", "--daemonize", "no"]

    with server(argv, _redis_ping, "redis-server", timeout=timeout) as srv:
        yield f"redis://127.0.0.1:{srv.port}/0"


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt, so ``finally`` blocks (server cleanup) still run."""

    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


_WRK_DONE = re.compile(r"(\d+) requests in ([\d.]+)(us|ms|s|m)\b")
_UNIT = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def wrk(port: int, seconds: int, connections: int = 4, path: str = "/") -> tuple[float, float]:
    """One bounded wrk run: (requests, seconds). Any non-2xx answer or socket error fails."""
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "2s",
           f"http://127.0.0.1:{port}{path}"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30, check=True).stdout
    done = _WRK_DONE.search(out)
    if done is None or "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk run was not clean:\n{out}")
    return float(done.group(1)), float(done.group(2)) * _UNIT[done.group(3)]
