"""The learner's working copy of the course: ``make lab`` opens it, so a run never dirties git.

JupyterLab autosaves outputs into whatever notebook is open. Opening the tracked
``course/`` and ``exercises/`` would make every run a change to the repository, and the
next ``git pull`` a conflict. So the lab opens a gitignored copy (``workspace/`` by default,
or ``$HIGHLOAD_WORKSPACE``), made on first run and refreshed on every later one:

- a file the copy lacks is copied;
- a file whose source is unchanged since it was copied is left alone (the learner's work);
- a file whose source changed (a ``git pull``) is replaced with the new version; if the
  learner had saved it, their version is first moved to ``.backup/<time>/`` in the
  workspace, and a line says where. Nothing the learner wrote is ever deleted.

``.manifest.json`` records, per file, the hash of the source it was copied from.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("course", "exercises")
MANIFEST = ".manifest.json"
SKIP_PARTS = {".ipynb_checkpoints", "__pycache__"}


def default_workspace() -> Path:
    return Path(os.environ.get("HIGHLOAD_WORKSPACE") or ROOT / "workspace").resolve()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _sources(root: Path) -> list[Path]:
    found = []
    for folder in FOLDERS:
        for path in sorted((root / folder).rglob("*")):
            if path.is_file() and not SKIP_PARTS & set(path.parts):
                found.append(path.relative_to(root))
    return found


def sync(workspace: Path, root: Path = ROOT, now: float | None = None) -> dict[str, list[str]]:
    """Bring ``workspace`` up to date with ``root``'s course; returns what happened per file."""
    workspace.mkdir(parents=True, exist_ok=True)
    manifest_path = workspace / MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(time.time() if now is None else now))
    report: dict[str, list[str]] = {"new": [], "updated": [], "backed_up": [], "kept": []}
    for rel in _sources(root):
        source, copy, key = root / rel, workspace / rel, rel.as_posix()
        wanted = _digest(source)
        if copy.exists() and manifest.get(key) == wanted:
            report["kept"].append(key)
            continue
        if copy.exists():
            if _digest(copy) != manifest.get(key):  # the learner saved it: keep their version
                backup = workspace / ".backup" / stamp / rel
                backup.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(copy, backup)
                report["backed_up"].append(f"{key} -> {backup}")
            report["updated"].append(key)
        else:
            report["new"].append(key)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, copy)
        manifest[key] = wanted
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, default=None)
    args = parser.parse_args(argv)
    workspace = (args.workspace or default_workspace()).resolve()
    report = sync(workspace, ROOT)
    print(f"Workspace: {workspace} ({len(report['new'])} new, {len(report['updated'])} updated "
          f"from the course, {len(report['kept'])} kept as you left them)")
    for line in report["backed_up"]:
        key, backup = line.split(" -> ")
        print(f"  {key} changed in the course; your saved version is now {backup}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
