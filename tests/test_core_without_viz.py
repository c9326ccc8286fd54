"""The simulations are core: ``pip install highload`` (no ``viz`` extra) imports and runs every
engine the widgets draw, and no module outside ``highload/widgets/`` imports a viz library."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "highload"
VIZ = ("plotly", "ipywidgets", "anywidget")

# Run in a fresh interpreter where the viz libraries cannot be imported, as after a bare
# `pip install highload`: a meta-path finder refuses them (and their submodules) by name.
BLOCKER = """
import importlib.abc, sys
BLOCKED = set(sys.argv[1].split(","))

class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is blocked: not installed in this test")
        return None

sys.meta_path.insert(0, Blocker())
for name in list(sys.modules):
    if name.split(".")[0] in BLOCKED:
        del sys.modules[name]
"""

ENGINES = """
import asyncio, json, sys

from highload.clock import ManualClock, run_in_virtual_time
from highload.cache.simulation import simulate_hit_ratio, simulate_stampede, stampede, zipf_weights
from highload.ratelimit import TokenBucket
from highload.ratelimit.simulation import decisions, replay, traffic
from highload.capacity_plan import plan_capacity, traffic_grid
from highload.carts.drill import SETUPS, crash_drill
from highload.resilience.simulation import parse_schedule, retry_storm, simulate_breaker
from highload.balancing import RoundRobin
from highload.balancing.race import race, race_impl, weights_for

out = {}
clock = ManualClock()

async def nap():
    await asyncio.sleep(3)
    return clock()

out["virtual_time"] = run_in_virtual_time(nap, clock)
out["zipf"] = [round(w, 3) for w in zipf_weights(3, 1.0)]
hit = simulate_hit_ratio(reads=500, keys=50, cache_size=10, update_rate=0)
out["hit"] = [hit.reads, hit.hits + hit.loads, hit.stale]
out["stampede"] = {name: r.loads for name, r in stampede(("none", "lock"), readers=5).items()}
out["stampede_xfetch_early"] = simulate_stampede("xfetch", readers=5).first_query < 0
out["traffic"] = traffic("steady", duration=2, rate=2)
trace = replay(TokenBucket, [1.0] * 5, capacity=3, refill_rate=0)
out["replay"] = list(trace.allowed)
out["decisions"] = decisions(lambda c: TokenBucket(2, 1, clock=c), [0, 0, 0, 1])
plan = plan_capacity(2_000_000_000, 5, 10_000, 0.3, traffic=traffic_grid(1e6, 1e7))
out["capacity"] = [plan.servers, plan.servers_for_average]
out["carts"] = {s: crash_drill(s, shoppers=20).before for s in SETUPS}
run = simulate_breaker(schedule=parse_schedule("0:0, 2:1, 4:0"), duration=8, rate=2,
                       failure_threshold=2, open_timeout=1)
out["breaker"] = [len(run.times), run.opened > 0]
storm = retry_storm(clients=10, duration=8, strategies=["no jitter", "full jitter"])
out["storm"] = {name: r.clients for name, r in storm.items()}
out["weights"] = weights_for([1, 1, 4])
if "simpy" in sys.argv[1]:
    try:
        race(["round robin"], requests=50)
    except ImportError as exc:
        out["race"] = str(exc)
else:
    r = race(["round robin"], (1, 1), requests=50)["round robin"]
    mine = race_impl(RoundRobin, (1, 1), requests=50)
    out["race"] = [r.requests > 0, mine.counts == r.counts]

import highload.widgets
try:
    highload.widgets.HitRatioLab
except ImportError as exc:
    out["widgets"] = str(exc)

out["loaded"] = sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[1].split(",")))
print(json.dumps(out))
"""


def _run(blocked: tuple[str, ...]) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    code = textwrap.dedent(BLOCKER) + textwrap.dedent(ENGINES)
    done = subprocess.run([sys.executable, "-c", code, ",".join(blocked)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_every_engine_runs_without_the_viz_extra():
    pytest.importorskip("simpy")  # the balancer race runs on SimPy (the `sim` extra)
    out = _run(VIZ)
    assert out["virtual_time"] == 3
    assert out["zipf"] == [0.545, 0.273, 0.182]
    assert out["hit"] == [500, 500, 0]
    assert out["stampede"] == {"none": 5, "lock": 1}
    assert out["stampede_xfetch_early"] is True
    assert out["traffic"] == [0.0, 0.5, 1.0, 1.5]
    assert out["replay"] == [True, True, True, False, False]
    assert out["decisions"] == [True, True, False, True]
    assert out["capacity"] == [17, 3]
    assert out["carts"]["Redis + round robin"] == 1.0
    assert out["breaker"] == [16, True]
    assert out["storm"] == {"no jitter": 10, "full jitter": 10}
    assert out["weights"] == {"s0": 1, "s1": 1, "s2": 4}
    assert out["race"] == [True, True]
    assert 'pip install "highload[viz]"' in out["widgets"]
    assert out["loaded"] == []


def test_without_simpy_the_race_imports_and_names_the_extra_it_needs():
    out = _run((*VIZ, "simpy"))
    assert 'pip install "highload[sim]"' in out["race"]
    assert out["stampede"] == {"none": 5, "lock": 1}  # everything else still runs
    assert out["loaded"] == []


def _viz_imports(path: Path, root: Path = ROOT) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None))
              in ("import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)):
            names = [node.args[0].value]
        else:
            continue
        found += [f"{path.relative_to(root)}:{node.lineno} imports {name}"
                  for name in names if name.split(".")[0] in VIZ]
    return found


def test_no_module_outside_widgets_imports_a_viz_library():
    modules = [p for p in sorted(PACKAGE.rglob("*.py")) if PACKAGE / "widgets" not in p.parents]
    assert len(modules) > 50 and PACKAGE / "cache" / "simulation.py" in modules
    offenders = [hit for path in modules for hit in _viz_imports(path)]
    assert offenders == [], "the core must run without the viz extra:\n" + "\n".join(offenders)


def test_the_check_sees_a_viz_import(tmp_path):
    """The AST check itself catches every spelling of the import it forbids."""
    sample = tmp_path / "sample.py"
    for line in ("import plotly.graph_objects as go", "from ipywidgets import VBox",
                 "import os, anywidget", "importlib.import_module('plotly.subplots')"):
        sample.write_text(f"def f():\n    {line}\n")
        assert len(_viz_imports(sample, tmp_path)) == 1, line
    sample.write_text("import plotlyish\nfrom highload.widgets import HitRatioLab\n")
    assert _viz_imports(sample, tmp_path) == []

