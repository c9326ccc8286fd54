"""Notebooks are code: every lesson and solution notebook runs top to bottom, headless."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "course").glob("*.ipynb"))
SOLUTIONS = sorted((ROOT / "solutions").rglob("*.ipynb"))
ALL = sorted(p for d in ("course", "solutions", "exercises") for p in (ROOT / d).rglob("*.ipynb")
             if ".ipynb_checkpoints" not in p.parts)


def execute(path: Path, monkeypatch, redis_url: str | None = None) -> nbformat.NotebookNode:
    nb = nbformat.read(path, 4)
    # The kernel inherits this environment: solutions import the hidden suites from the repo root.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    if redis_url:
        monkeypatch.setenv("REDIS_URL", redis_url)
    else:
        monkeypatch.delenv("REDIS_URL", raising=False)
    NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


def _stderr(nb) -> list[str]:
    return [o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
            if o.get("output_type") == "stream" and o.get("name") == "stderr"]


pytestmark = pytest.mark.notebooks


@pytest.mark.parametrize("path", ALL, ids=lambda p: str(p.relative_to(ROOT)))
def test_committed_without_outputs(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    dirty = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))]
    assert not dirty, f"{path.name}: cells {dirty} have outputs; strip them before committing"


@pytest.mark.parametrize("path", LESSONS + SOLUTIONS, ids=lambda p: str(p.relative_to(ROOT)))
def test_runs_top_to_bottom_on_embedded_fakeredis(path, monkeypatch):
    nb = execute(path, monkeypatch)
    assert not _stderr(nb), f"{path.name} wrote to stderr: {_stderr(nb)[:1]}"


@pytest.mark.redis
@pytest.mark.parametrize("path", [p for p in LESSONS if p.name != "index.ipynb"], ids=lambda p: p.name)
def test_lessons_run_on_real_redis(path, monkeypatch, redis_url):
    nb = execute(path, monkeypatch, redis_url)
    text = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []) if "text" in o)
    assert "real Redis" in text, "the lesson must say it is using the real Redis it was given"
