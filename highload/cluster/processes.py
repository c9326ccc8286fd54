"""The processes a cluster starts: spawned in their own sessions, remembered by pid *and* start time.

A pid alone is not an identity: after a crash and a reboot of the kernel's pid counter, the pid
in a stale state file may belong to someone else's process. Linux records each process's start
time (``/proc/PID/stat`` field 22, in clock ticks since boot), so ``(pid, start time)`` names one
process for good, and :func:`stop` never signals a process it did not start.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from highload import processes
from highload.processes import wait_until

__all__ = ["Managed", "spawn", "start_time", "is_running", "stop", "wait_until"]


@dataclass(frozen=True)
class Managed:
    """One started process, as the state file records it."""

    name: str
    role: str  # "instance", "balancer" or "redis"
    pid: int
    port: int
    started: str | None  # /proc start time; None where /proc is missing
    log: str

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def as_dict(self) -> dict:
        return asdict(self)


def start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (Linux), or None if there is no such process or no /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may contain spaces: split after it.
    fields = stat[stat.rindex(")") + 2:].split()
    if fields[0] == "Z":  # a zombie has exited; it only waits to be reaped
        return None
    return fields[19]


def is_running(process: Managed) -> bool:
    """True if ``process`` is still the very process that was started (same pid, same start time)."""
    if process.started is not None:
        return start_time(process.pid) == process.started
    try:
        os.kill(process.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def spawn(name: str, role: str, argv: Sequence[str], port: int, log_dir: Path,
          env: dict[str, str] | None = None) -> tuple[Managed, subprocess.Popen]:
    """Start ``argv`` in a new session with output in ``log_dir/NAME.log``."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    with open(log_path, "ab") as log:
        popen = processes.spawn(argv, stdout=log, stderr=log, env=env)
    return Managed(name, role, popen.pid, port, start_time(popen.pid), str(log_path)), popen


def stop(process: Managed, popen: subprocess.Popen | None = None, *, sig: int = signal.SIGTERM,
         timeout: float = 10) -> bool:
    """Signal ``process``'s group if it is still ours, wait, SIGKILL if it lingers.

    Returns whether it was running. ``popen`` (when this process started it) is reaped.
    """
    running = is_running(process)
    if running:
        for current in (sig, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, current)
            if wait_until(lambda: not is_running(process) or (popen is not None and popen.poll() is not None),
                          timeout):
                break
    if popen is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            popen.wait(timeout=timeout)
    return running
