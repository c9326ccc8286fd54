"""Teaching code lives in highload.lab, production code never imports it, and the old paths still work.

The lab holds deliberately naive or buggy code (a racy limiter, a buggy breaker port). If a
production module imported it, a bug kept on purpose for a lesson would ship as behaviour.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "highload"

#: The only modules outside highload/lab/ and highload/widgets/ allowed to import the lab: the
#: old paths, kept as plain aliases for one release (see CHANGELOG.md).
ALIASES = {
    "highload/ratelimit/naive.py": "highload.lab.naive_limiter",
    "highload/resilience/seed_breaker.py": "highload.lab.openresty_breaker",
    "highload/resilience/flaky.py": "highload.lab.flaky_upstream",
    "highload/cache/db.py": "highload.lab.database",
}

#: old module -> {old or kept name: (new module, new name)}
RENAMED = {
    "highload.ratelimit.naive": {"NaiveCounterLimiter": ("highload.lab.naive_limiter", "NaiveCounterLimiter")},
    "highload.resilience.seed_breaker": {
        "SeedCircuitBreaker": ("highload.lab.openresty_breaker", "OpenRestyBreaker"),
        "SeedLuaBreaker": ("highload.lab.openresty_breaker", "LuaCircuitBreaker"),
        "SEED_CB_CONFIG": ("highload.lab.openresty_breaker", "LUA_SERVICE_CONFIG"),
        "OpenRestyBreaker": ("highload.lab.openresty_breaker", "OpenRestyBreaker"),
        "LUA_CONFIG": ("highload.lab.openresty_breaker", "LUA_CONFIG"),
        "SharedDict": ("highload.lab.openresty_breaker", "SharedDict"),
    },
    "highload.resilience.flaky": {name: ("highload.lab.flaky_upstream", name)
                                  for name in ("flaky_app", "run_flaky", "FlakyServer", "FlakyConfig", "main")},
    "highload.cache.db": {name: ("highload.lab.database", name) for name in ("Database", "Table", "Rows", "SCHEMA")},
    "highload.cache": {name: ("highload.lab.database", name) for name in ("Database", "Table", "SCHEMA")},
    "highload.resilience": {"SEED_SERVICES": ("highload.resilience", "SERVICE_THRESHOLDS")},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _lab_imports(source: str, module: str, is_package: bool = False) -> list[str]:
    """The highload.lab modules that import statements anywhere in ``source`` name.

    ``module`` is the dotted name of the file the source is in, to resolve relative imports.
    """
    package = module.split(".") if is_package else module.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package[:len(package) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found.add(base)
            # `from highload import lab` names the lab as an attribute, not as the module
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return sorted(m for m in found if m == "highload.lab" or m.startswith("highload.lab."))


def _imports_lab(path: Path) -> list[str]:
    return _lab_imports(path.read_text(), _module_name(path), path.name == "__init__.py")


@pytest.mark.parametrize("source", [
    "import highload.lab.database", "from highload.lab import database", "from highload import lab",
    "from ..lab.database import Database", "def f():\n    from ..lab import naive_limiter\n",
])
def test_the_import_scan_sees_absolute_relative_nested_and_attribute_imports(source):
    assert _lab_imports(source, "highload.cache.aside")


def test_the_import_scan_ignores_look_alikes_and_resolves_package_relative_imports():
    assert _lab_imports("from .db import Database\nimport highload.labels", "highload.cache.aside") == []
    assert _lab_imports("from .lab import x", "highload", is_package=True) == ["highload.lab", "highload.lab.x"]
    assert _lab_imports("from .lab import x", "highload.cache", is_package=True) == []


def test_production_modules_import_nothing_from_the_lab():
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(("highload/lab/", "highload/widgets/")) or rel in ALIASES:
            continue
        if lab := _imports_lab(path):
            offenders[rel] = lab
    assert not offenders, f"production modules import teaching code from highload.lab: {offenders}"


def test_each_alias_module_imports_only_its_own_lab_module():
    for rel, target in ALIASES.items():
        lab = _imports_lab(ROOT / rel)
        assert lab and all(m == target or m.startswith(target + ".") for m in lab), (rel, lab)


def _run(*args: str) -> subprocess.CompletedProcess:
    """A fresh interpreter on this checkout. ``-W error``: an alias that warned would fail here,
    and nbgrader zeroes a graded cell with any stderr."""
    return subprocess.run([sys.executable, "-W", "error", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_importing_the_production_packages_does_not_load_the_lab():
    done = _run("-c", "import sys\n"
                "import highload.cache, highload.ratelimit, highload.resilience, highload.balancing\n"
                "import highload.carts, highload.capacity, highload.clock, highload.nginx\n"
                "print(sorted(m for m in sys.modules if m.startswith('highload.lab')))")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("old_module", sorted(RENAMED))
def test_old_names_still_import_as_the_same_objects_without_any_warning(old_module):
    names = RENAMED[old_module]
    code = "\n".join([
        "import importlib, warnings",
        "warnings.simplefilter('error')",
        f"old = importlib.import_module({old_module!r})",
        *(f"assert getattr(old, {name!r}) is getattr(importlib.import_module({new_module!r}), {new_name!r}), {name!r}"
          for name, (new_module, new_name) in names.items()),
        "print('ok')",
    ])
    done = _run("-c", code)
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, "ok", "")


def test_from_highload_cache_import_database_loads_the_lab_only_then():
    done = _run("-c", "import sys\nimport highload.cache\n"
                "assert 'highload.lab.database' not in sys.modules\n"
                "from highload.cache import Database\n"
                "import highload.lab.database as lab\n"
                "assert Database is lab.Database\n"
                "assert 'Database' not in highload.cache.__all__\n"
                "try:\n    highload.cache.NoSuchName\nexcept AttributeError as exc:\n    print(exc)")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "module 'highload.cache' has no attribute 'NoSuchName'"


def test_database_seed_is_the_same_method_as_populate():
    from highload.lab.database import Database

    assert Database.seed is Database.populate


@pytest.mark.parametrize("module", ["highload.lab.flaky_upstream", "highload.resilience.flaky"])
def test_the_flaky_upstream_still_runs_as_a_module_under_both_paths(module):
    done = _run("-m", module, "--help")
    assert (done.returncode, done.stderr) == (0, "")
    assert "--failure-rate" in done.stdout
