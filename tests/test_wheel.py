"""The core stands alone: the built wheel imports and runs in a clean venv without any extra."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SMOKE = """
import importlib.util, sys
from highload.clock import ManualClock
from highload.ratelimit import RateLimiter, RedisStorage, TokenBucketPolicy, SlidingWindowLog
from highload.redis_client import connect
for extra in ("fastapi", "plotly", "ipywidgets", "jupyterlab"):
    assert importlib.util.find_spec(extra) is None, extra + " leaked into the core install"
clock = ManualClock()
limiter = RateLimiter(TokenBucketPolicy(2, 0), RedisStorage(connect()), clock=clock)
assert [limiter.allow("k") for _ in range(3)] == [True, True, False]
try:
    import highload.ratelimit.fastapi
except ImportError as exc:
    assert "highload[web]" in str(exc), exc
else:
    raise AssertionError("the web glue imported without its extra")
try:
    from highload.widgets import TokenBucketVisualizer
except ImportError as exc:
    assert "highload[viz]" in str(exc), exc
else:
    raise AssertionError("the widgets imported without their extra")
from highload.resilience import CircuitBreaker, Retry, backoff_delays
breaker = CircuitBreaker(failure_threshold=1, clock=clock)
assert breaker.call(lambda: 42) == 42 and backoff_delays(3, 1) == [1.0, 2.0, 4.0]
for glue in ("highload.resilience.fastapi", "highload.replication.fastapi", "highload.lab.flaky_upstream"):
    try:
        module = __import__(glue, fromlist=["x"])
        if glue.endswith("flaky_upstream"):
            module.flaky_app()
    except ImportError as exc:
        assert "highload[web]" in str(exc), exc
    else:
        raise AssertionError(glue + " ran without the web extra")
from highload.carts import RedisCartStore
carts = RedisCartStore(connect(), ttl=60)
assert carts.add_item("c1", "sku-1", 3) == 3
carts.remove_item("c1", "sku-1", 1)  # runs the packaged Lua script
assert carts.get_cart("c1") == {"sku-1": 2}
print("core ok")
"""


@pytest.mark.timeout(600)
def test_wheel_installs_and_runs_without_extras(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(ROOT)],
                   check=True, capture_output=True)
    wheel = next(dist.glob("highload-*.whl"))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], check=True)
    names = subprocess.run([sys.executable, "-m", "zipfile", "-l", str(wheel)], capture_output=True, text=True).stdout
    assert "highload/ratelimit/lua/token_bucket.lua" in names, "the Lua scripts ship as package resources"
    assert "highload/carts/lua/remove_item.lua" in names, "the cart script ships too"
    assert "autograder" not in names and "solutions" not in names, "hidden suites never ship in the wheel"
    done = subprocess.run([str(python), "-c", SMOKE], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0 and "core ok" in done.stdout, done.stderr
