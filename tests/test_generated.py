"""Generated code is never edited by hand: ``highload/cache/_sync/`` is exactly what
``scripts/unasync.py`` makes of ``highload/cache/_async/``, and says so on its first line."""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def unasync():
    spec = importlib.util.spec_from_file_location("unasync", ROOT / "scripts" / "unasync.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("unasync", module)
    spec.loader.exec_module(module)
    return module


def test_every_generated_file_is_what_its_source_generates(unasync):
    problems = unasync.differences(ROOT)
    assert not problems, "\n".join(problems) + "\nedit highload/cache/_async/, then run `python scripts/unasync.py`"


def test_every_generated_file_names_its_source_and_the_command(unasync):
    generated = unasync.expected(ROOT)
    assert len(generated) >= 7
    for path, text in generated.items():
        first = text.splitlines()[0]
        assert first.startswith("# Generated from highload/cache/_async/" + path.name), first
        assert "`python scripts/unasync.py`" in first


def test_a_hand_edit_is_caught(unasync, tmp_path):
    for folder in (unasync.SOURCE, unasync.TARGET):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / unasync.SOURCE / "thing.py").write_text("async def f(x: AsyncThing):\n    await x.aclose()\n")
    assert unasync.differences(tmp_path) == [f"{unasync.TARGET / 'thing.py'}: missing"]
    text = unasync.expected(tmp_path)[unasync.TARGET / "thing.py"]
    assert text.splitlines()[1:] == ["def f(x: Thing):", "    x.close()"]
    (tmp_path / unasync.TARGET / "thing.py").write_text(text + "# a hand edit\n")
    assert "differs" in unasync.differences(tmp_path)[0]
    (tmp_path / unasync.TARGET / "orphan.py").write_text("")
    assert any("generated from no source" in p for p in unasync.differences(tmp_path))


def test_no_asyncio_leaks_into_the_generated_code(unasync):
    for path, text in unasync.expected(ROOT).items():
        tree = ast.parse(text)
        for node in ast.walk(tree):
            assert not isinstance(node, ast.AsyncFunctionDef | ast.Await | ast.AsyncWith | ast.AsyncFor), \
                f"{path}:{node.lineno} is still asyncio code"
            name = getattr(node, "id", None) or getattr(node, "attr", None) or getattr(node, "module", None) or ""
            assert not name.startswith(("Async", "asyncio")) and name not in ("aclose", "acall"), \
                f"{path}:{node.lineno} still names {name!r}"
