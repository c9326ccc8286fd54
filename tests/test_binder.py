"""Binder config: repo2docker reads binder/ as intended, and binder/start really starts Redis.

``jupyter-repo2docker --no-build --debug .`` prints the Dockerfile Binder would build, without
a Docker engine, so the test checks what repo2docker makes of ``binder/``, not just the files.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from highload.processes import free_port

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"
SCRIPTS = ("start", "postBuild")
BASH = shutil.which("bash") or "/bin/bash"


def _repo2docker() -> str:
    exe = Path(sys.executable).parent / "jupyter-repo2docker"
    found = str(exe) if exe.exists() else shutil.which("jupyter-repo2docker")
    if found is None:
        pytest.skip('jupyter-repo2docker not installed: pip install -e ".[dev]"')
    return found


@pytest.fixture(scope="module")
def repo2docker_output() -> tuple[str, str]:
    """(Dockerfile, log) for this repo, as Binder's jovyan user (uid 1000) would get it."""
    result = subprocess.run(
        [_repo2docker(), "--no-build", "--debug", "--user-id", "1000", "--user-name", "jovyan", "."],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, f"repo2docker failed:\n{result.stdout}\n{result.stderr}"
    assert "FROM " in result.stdout, f"repo2docker printed no Dockerfile:\n{result.stdout}"
    return result.stdout, result.stderr


@pytest.fixture(scope="module")
def dockerfile(repo2docker_output) -> str:
    return repo2docker_output[0]


def test_binder_files_say_what_design_md_says():
    assert (BINDER / "runtime.txt").read_text().strip() == "python-3.11"
    apt = [line.split("#")[0].strip() for line in (BINDER / "apt.txt").read_text().splitlines()]
    assert "redis-server" in apt
    requirements = [
        line.split("#")[0].strip() for line in (BINDER / "requirements.txt").read_text().splitlines()
    ]
    assert "-e .[course]" in requirements


def test_repo2docker_uses_python_311(repo2docker_output):
    dockerfile, log = repo2docker_output
    assert "python=3.11" in log + dockerfile


def test_dockerfile_installs_redis_server_from_apt_txt(dockerfile):
    assert re.search(r"apt-get install --yes --no-install-recommends [^\n]*\bredis-server\b", dockerfile)


def test_dockerfile_installs_the_repo_with_the_course_extra_after_copying_it(dockerfile):
    """`-e .` needs the whole repo: repo2docker must install requirements.txt after COPY src/."""
    copy = dockerfile.index("COPY --chown=1000:1000 src/ ${REPO_DIR}/")
    install = dockerfile.index('pip install --no-cache-dir -r "binder/requirements.txt"')
    assert copy < install


def test_dockerfile_runs_postbuild(dockerfile):
    assert "RUN ./binder/postBuild" in dockerfile


def test_dockerfile_uses_binder_start_as_the_start_script(dockerfile):
    assert 'ENV R2D_ENTRYPOINT="${REPO_DIR}/binder/start"' in dockerfile
    assert 'ENTRYPOINT ["/usr/local/bin/repo2docker-entrypoint"]' in dockerfile


@pytest.mark.parametrize("name", SCRIPTS)
def test_scripts_are_executable_strict_bash_that_parses(name):
    script = BINDER / name
    text = script.read_text()
    assert os.access(script, os.X_OK), f"binder/{name} is not executable: chmod +x binder/{name}"
    assert text.startswith("#!/bin/bash\n")
    assert "set -euo pipefail" in text
    result = subprocess.run([BASH, "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_start_ends_by_exec_ing_its_arguments():
    lines = [
        line.strip() for line in (BINDER / "start").read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    assert lines[-1] == 'exec "$@"'


def test_postbuild_passes_against_the_dev_venv(tmp_path):
    """postBuild's checks (the course stack imports, the widgets extension is there) pass here,
    and it installs the learner's lab settings."""
    env = _env(PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
               LAB_APP_SETTINGS_DIR=str(tmp_path / "settings"))
    result = subprocess.run(
        [str(BINDER / "postBuild")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "postBuild: highload" in result.stdout
    overrides = json.loads((tmp_path / "settings" / "overrides.json").read_text())
    assert overrides["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"


def test_jupyterlab_is_pinned_to_one_version_for_binder_and_pip():
    """Binder's image brings its own JupyterLab; both installs must get the version the tests ran."""
    pins = re.findall(r"^jupyterlab==(\S+)", (BINDER / "requirements.txt").read_text(), re.MULTILINE)
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    course = [d for d in extras["course"] if d.startswith("jupyterlab")]
    assert len(pins) == 1 and course == [f"jupyterlab=={pins[0]}"], (pins, course)


def test_start_puts_the_learner_config_on_the_jupyter_config_path(tmp_path):
    env = _env(PATH=os.environ["PATH"], REDIS_URL="redis://127.0.0.1:1/0")
    out = subprocess.run([str(BINDER / "start"), "bash", "-c", 'echo "$JUPYTER_CONFIG_PATH"'],
                         env=env, capture_output=True, text=True, timeout=30).stdout
    assert out.strip().splitlines()[-1].split(":")[0] == str(BINDER / "learner")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REDIS_")}
    env.update(extra)
    return env


def _redis_pid(pidfile: Path, port: int) -> int | None:
    """The pid of the redis-server binder/start daemonized: its pidfile, else INFO server."""
    if pidfile.exists() and pidfile.read_text().strip().isdigit():
        return int(pidfile.read_text())
    info = subprocess.run(
        ["redis-cli", "-p", str(port), "info", "server"], capture_output=True, text=True, timeout=10
    ).stdout
    match = re.search(r"^process_id:(\d+)", info, re.MULTILINE)
    return int(match.group(1)) if match else None


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for a reaper that is not ours counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _stop_redis(pid: int, port: int) -> None:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return
    if b"redis-server" not in cmdline or str(port).encode() not in cmdline:
        return  # not our redis-server: it is gone and the pid was reused
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)


@pytest.mark.timeout(60)
def test_start_runs_redis_exports_redis_url_and_execs_the_command(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server not installed: apt-get install redis-server")
    port, pidfile = free_port(), tmp_path / "redis.pid"
    env = _env(REDIS_PORT=str(port), REDIS_PIDFILE=str(pidfile))
    try:
        result = subprocess.run(
            [str(BINDER / "start"), "bash", "-c", 'echo "url=$REDIS_URL"; redis-cli -u "$REDIS_URL" ping'],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=30, start_new_session=True,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"url=redis://127.0.0.1:{port}/0" in result.stdout
        assert result.stdout.rstrip().endswith("PONG"), result.stdout
        pid = _redis_pid(pidfile, port)
        assert pid is not None, "binder/start left no pidfile and redis-server is not answering"
    finally:
        pid = _redis_pid(pidfile, port)
        if pid is not None:
            _stop_redis(pid, port)
    assert not _alive(pid), "redis-server outlived the test"


def test_start_without_redis_server_still_execs_the_command(tmp_path):
    """No redis-server on PATH: no REDIS_URL (lessons use fakeredis), and the command still runs."""
    empty_path = tmp_path / "bin"
    empty_path.mkdir()
    result = subprocess.run(
        [BASH, str(BINDER / "start"), BASH, "-c", 'echo "url=${REDIS_URL-unset}"'],
        cwd=ROOT, env=_env(PATH=str(empty_path)), capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("url=unset")
    assert "fakeredis" in result.stderr


def test_start_keeps_a_redis_url_it_is_given(tmp_path):
    url = "redis://127.0.0.1:1/0"
    result = subprocess.run(
        [BASH, str(BINDER / "start"), BASH, "-c", 'echo "url=$REDIS_URL"'],
        cwd=ROOT, env=_env(PATH=str(tmp_path), REDIS_URL=url), capture_output=True, text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith(f"url={url}")


def test_the_binder_link_is_one_setting():
    """README and the course index carry the link built from pyproject.toml's one setting."""
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "binder_link.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    repository = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["highload"]["binder-repository"]
    for name in ("README.md", "course/index.ipynb"):
        assert f"/v2/gh/{repository}/HEAD" in (ROOT / name).read_text()
