"""Write-back's price, measured exactly: SIGKILL a process between flushes and count what is lost.

A child process writes balances through a write-back cache in front of a SQLite file,
flushes some, makes more writes, says "ready" and is killed with SIGKILL before any
further flush. Exactly the unflushed writes are missing from the database. With the
in-memory buffer they are gone for good; with the Redis buffer they survive in Redis
and the next process to open the cache flushes them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import redis

from highload.cache import RedisBuffer, WriteBackCache
from highload.clock import ManualClock
from highload.lab.database import Database
from highload.processes import kill_group

ROOT = Path(__file__).resolve().parents[1]
FLUSHED = 10  # acct0..acct9 written and flushed
NEW = 7  # acct10..acct16 written after the flush
UNFLUSHED = NEW + 1  # ...plus one update of acct0
EXPECTED_AFTER_CRASH = {f"acct{i}": 100 + i for i in range(FLUSHED)}


def child(db_path: str, url: str | None, prefix: str) -> None:
    db = Database(db_path)
    buffer = RedisBuffer(redis.Redis.from_url(url), prefix=prefix) if url else None
    cache = WriteBackCache(db.balances, flush_interval=3600, clock=ManualClock(), buffer=buffer, name="t")
    for i in range(FLUSHED):
        cache.write(f"acct{i}", 100 + i)
    assert cache.flush() == FLUSHED
    for i in range(FLUSHED, FLUSHED + NEW):
        cache.write(f"acct{i}", 100 + i)
    cache.write("acct0", 999)
    assert cache.dirty_count == UNFLUSHED
    print("ready", flush=True)
    sys.stdin.read()  # block until killed (the parent never writes or closes stdin first)


def crash_child(tmp_path: Path, url: str | None, prefix: str) -> Path:
    db_path = tmp_path / "bank.db"
    code = f"from tests.test_cache_writeback_crash import child; child({str(db_path)!r}, {url!r}, {prefix!r})"
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        os.killpg(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=60) == -signal.SIGKILL
    finally:
        kill_group(proc)
    return db_path


@pytest.mark.parametrize("buffer", ["memory", "redis-server"])
def test_sigkill_between_flushes_loses_exactly_the_unflushed_writes(tmp_path, buffer, request):
    url = request.getfixturevalue("redis_url") if buffer == "redis-server" else None
    prefix = f"test:wb:{uuid.uuid4().hex}:"
    db_path = crash_child(tmp_path, url, prefix)
    with Database(str(db_path)) as db:
        stored = dict(db.balances)
        assert stored == EXPECTED_AFTER_CRASH
        intended = {**EXPECTED_AFTER_CRASH, **{f"acct{i}": 100 + i for i in range(FLUSHED, FLUSHED + NEW)}, "acct0": 999}
        lost = {k: v for k, v in intended.items() if stored.get(k) != v}
        assert len(lost) == UNFLUSHED

        # The next process opens the same cache: memory kept nothing, Redis kept everything.
        buf = RedisBuffer(redis.Redis.from_url(url), prefix=prefix) if url else None
        recovered = WriteBackCache(db.balances, flush_interval=3600, clock=ManualClock(), buffer=buf, name="t").flush()
        if buffer == "memory":
            assert recovered == 0 and dict(db.balances) == EXPECTED_AFTER_CRASH
        else:
            assert recovered == UNFLUSHED and dict(db.balances) == intended
