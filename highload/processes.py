"""Child processes the package, its tests and its benchmarks start (redis-server, nginx, uvicorn).

One rule for all of them: each child runs in its own session, so its pid is also its process
group id, and it is stopped by signalling the whole group (a server's workers and helpers go
with it). Waiting for a child to be ready is polling, with the child's exit as an early "no".
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence

__all__ = ["free_port", "spawn", "kill_group", "wait_until", "accepts", "wait_for_port"]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now (loopback by default)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def spawn(argv: Sequence[str], **popen_kwargs) -> subprocess.Popen:
    """``subprocess.Popen(argv)`` in a new session, stdin from /dev/null unless given.

    Stop it with :func:`kill_group`.
    """
    popen_kwargs.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.Popen(list(argv), start_new_session=True, **popen_kwargs)


def kill_group(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
    """Signal ``process``'s whole group, wait, and SIGKILL it if it lingers; safe to call twice.

    Only while the leader is not yet reaped: until then its pid (the group's id) cannot have
    been reused by an unrelated process, so this never signals somebody else's group.
    """
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.02, *,
               process: subprocess.Popen | None = None) -> bool:
    """Poll ``condition`` until it is true (True), ``timeout`` s pass or ``process`` exits (False).

    For process start and stop only: tests never assert timings.
    """
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() > deadline or (process is not None and process.poll() is not None):
            return False
        time.sleep(interval)


def accepts(host: str, port: int, timeout: float = 0.5) -> bool:
    """True if a TCP connection to ``host:port`` succeeds within ``timeout`` seconds."""
    try:
        with socket.create_connection((host.strip("[]"), port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_port(host: str, port: int, timeout: float, *, process: subprocess.Popen | None = None) -> bool:
    """True once ``host:port`` accepts a connection; False if ``process`` exits or time runs out."""
    return wait_until(lambda: accepts(host, port), timeout, process=process)
