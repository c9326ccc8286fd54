"""The learner's working copy (`scripts/workspace.py`): made on first run, refreshed after a
pull, and never a loss of what the learner saved."""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("workspace", ROOT / "scripts" / "workspace.py")
workspace = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(workspace)


@pytest.fixture
def repo(tmp_path):
    root = tmp_path / "repo"
    (root / "course").mkdir(parents=True)
    (root / "exercises" / "08").mkdir(parents=True)
    (root / "course" / "08.ipynb").write_text('{"cells": []}')
    (root / "exercises" / "08" / "08.ipynb").write_text('{"cells": ["stub"]}')
    (root / "course" / ".ipynb_checkpoints").mkdir()
    (root / "course" / ".ipynb_checkpoints" / "08-checkpoint.ipynb").write_text("{}")
    return root


def test_first_run_copies_the_course_and_exercises_but_not_checkpoints(repo, tmp_path):
    ws = tmp_path / "ws"
    report = workspace.sync(ws, root=repo)
    assert sorted(report["new"]) == ["course/08.ipynb", "exercises/08/08.ipynb"]
    assert (ws / "course" / "08.ipynb").read_text() == '{"cells": []}'
    assert not (ws / "course" / ".ipynb_checkpoints").exists()


def test_a_learners_saved_work_is_kept_while_the_course_is_unchanged(repo, tmp_path):
    ws = tmp_path / "ws"
    workspace.sync(ws, root=repo)
    (ws / "exercises" / "08" / "08.ipynb").write_text('{"cells": ["my answer"]}')
    report = workspace.sync(ws, root=repo)
    assert report["updated"] == [] and "exercises/08/08.ipynb" in report["kept"]
    assert (ws / "exercises" / "08" / "08.ipynb").read_text() == '{"cells": ["my answer"]}'


def test_a_pulled_change_replaces_an_untouched_copy_without_a_backup(repo, tmp_path):
    ws = tmp_path / "ws"
    workspace.sync(ws, root=repo)
    (repo / "course" / "08.ipynb").write_text('{"cells": ["fixed"]}')
    report = workspace.sync(ws, root=repo)
    assert report["updated"] == ["course/08.ipynb"] and report["backed_up"] == []
    assert (ws / "course" / "08.ipynb").read_text() == '{"cells": ["fixed"]}'
    assert not (ws / ".backup").exists()


def test_a_pulled_change_backs_up_the_learners_saved_copy_before_replacing_it(repo, tmp_path):
    ws = tmp_path / "ws"
    workspace.sync(ws, root=repo)
    (ws / "exercises" / "08" / "08.ipynb").write_text('{"cells": ["my answer"]}')
    (repo / "exercises" / "08" / "08.ipynb").write_text('{"cells": ["new stub"]}')
    report = workspace.sync(ws, root=repo, now=0)
    backup = ws / ".backup" / "19700101-000000" / "exercises" / "08" / "08.ipynb"
    assert report["backed_up"] == [f"exercises/08/08.ipynb -> {backup}"]
    assert backup.read_text() == '{"cells": ["my answer"]}'
    assert (ws / "exercises" / "08" / "08.ipynb").read_text() == '{"cells": ["new stub"]}'
    # and the next run keeps the new copy: the manifest now records the new source
    assert workspace.sync(ws, root=repo)["updated"] == []


def test_files_the_learner_added_or_the_course_dropped_are_never_deleted(repo, tmp_path):
    ws = tmp_path / "ws"
    workspace.sync(ws, root=repo)
    (ws / "course" / "notes.ipynb").write_text("{}")
    (repo / "course" / "08.ipynb").unlink()
    workspace.sync(ws, root=repo)
    assert (ws / "course" / "notes.ipynb").exists() and (ws / "course" / "08.ipynb").exists()


def test_the_manifest_records_the_source_each_copy_came_from(repo, tmp_path):
    ws = tmp_path / "ws"
    workspace.sync(ws, root=repo)
    manifest = json.loads((ws / ".manifest.json").read_text())
    assert set(manifest) == {"course/08.ipynb", "exercises/08/08.ipynb"}


def test_the_repository_ignores_the_default_workspace():
    ignored = subprocess.run(["git", "check-ignore", "-q", "workspace/course/index.ipynb"], cwd=ROOT)
    assert ignored.returncode == 0


def test_the_command_line_says_where_a_backup_went(repo, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(workspace, "ROOT", repo)
    ws = tmp_path / "ws"
    workspace.main(["--workspace", str(ws)])
    assert "2 new, 0 updated" in capsys.readouterr().out
    (ws / "course" / "08.ipynb").write_text('{"cells": ["mine"]}')
    (repo / "course" / "08.ipynb").write_text('{"cells": ["new"]}')
    workspace.main(["--workspace", str(ws)])
    out = capsys.readouterr().out
    assert "0 new, 1 updated" in out
    assert "course/08.ipynb changed in the course; your saved version is now" in out
