"""Child processes the package starts (nginx, uvicorn): each in its own session, stopped as a group."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess


def kill_group(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
    """Signal the whole process group, wait, and SIGKILL it if it lingers; safe to call twice."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)
