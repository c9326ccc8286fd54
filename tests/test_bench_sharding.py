"""``python -m bench sharding --quick`` runs end to end and prints every row (numbers are not checked)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ROWS = ["highload ConsistentHashRing (md5)", "highload ConsistentHashRing (crc32 option)",
        "uhashring HashRing (ketama", "ring, md5, 100 vnodes (default)", "jump", "Maglev (M = 65537)",
        "rendezvous (HRW)", "uhashring (md5, 160 vnodes)", "bounded load", "% N"]


@pytest.mark.timeout(180)
def test_bench_sharding_quick_prints_every_row():
    pytest.importorskip("uhashring")
    pytest.importorskip("numpy")
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    proc = subprocess.run([sys.executable, "-m", "bench", "sharding", "--quick"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=170)
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    missing = [row for row in ROWS if row not in proc.stdout]
    assert not missing, f"rows missing: {missing}\n{proc.stdout}"
    assert "RedisCluster" in proc.stdout, "the Redis Cluster rows (or their SKIP) are printed"
