"""highload.processes: the one place children are started in their own session and stopped as a group."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from highload import processes
from highload.processes import accepts, free_port, kill_group, spawn, wait_for_port, wait_until


def test_spawn_starts_a_session_leader_whose_group_kill_group_stops():
    proc = spawn([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert os.getsid(proc.pid) == proc.pid and os.getpgid(proc.pid) == proc.pid
    finally:
        kill_group(proc)
    assert proc.returncode is not None


def test_kill_group_never_signals_after_the_leader_was_reaped(monkeypatch):
    proc = spawn([sys.executable, "-c", "pass"])
    proc.wait(timeout=60)
    sent = []
    monkeypatch.setattr(processes.os, "killpg", lambda *args: sent.append(args))
    kill_group(proc)
    assert sent == [], "a reaped leader's pid may already name somebody else's group"


def test_wait_until_gives_up_when_the_process_exits():
    proc = spawn([sys.executable, "-c", "pass"])
    assert wait_until(lambda: False, 600, process=proc) is False
    assert proc.returncode is not None


def test_wait_for_port_sees_a_listener_and_accepts_says_when_nobody_listens():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert wait_for_port("127.0.0.1", port, 10)
    assert not accepts("127.0.0.1", free_port())


def test_spawn_reads_stdin_from_devnull_unless_told():
    proc = spawn([sys.executable, "-c", "import sys; print(repr(sys.stdin.read()))"], stdout=subprocess.PIPE, text=True)
    out, _ = proc.communicate(timeout=60)
    assert out.strip() == "''"
