"""`make lab` in a real browser: the server starts, the course opens, the widgets respond.

Starts ``scripts/lab`` (what ``make lab`` runs) headless on a free port, in its own session,
reads the URL with the token Jupyter generated from its output, then drives Debian's chromium through Playwright: open the index, open
the rate-limiting lesson, Run All, check that the token-bucket sliders and plotly chart render,
move a slider and check the chart redraws; then the same for lesson 09's BreakerTimeline.
Screenshots go to ``artifacts/browser/``.

JupyterLab's user state (workspaces, settings, runtime files) and the learner's working copy
of the course (``HIGHLOAD_WORKSPACE``) go to a temporary directory. JupyterLab keeps its
default settings, autosave included, and every lesson run ends with an explicit save: the
saved copy in the workspace must hold the outputs, and ``git status`` of ``course/`` and
``exercises/`` must stay clean.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from highload.processes import free_port, spawn
from highload.redis_client import answers

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = ROOT / ".venv" / "bin"
LESSON = "course/08_rate_limiting.ipynb"
LESSON_09 = "course/09_circuit_breaker.ipynb"
INDEX = "course/index.ipynb"
ARTIFACTS = ROOT / "artifacts" / "browser"
CHROMIUM = shutil.which("chromium")
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
#: JupyterLab settings for the test's private settings dir: the defaults (autosave on), only
#: without toasts, which could cover a widget the test clicks.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": True,
    },
}
IDLE = "(ipykernel) | Idle"  # JupyterLab's status bar text once the kernel is ready
SLIDER = ".jupyter-widgets.widget-slider"
PLOT = ".widget-vbox .js-plotly-plot"

if CHROMIUM is None:
    pytest.skip("chromium not installed: apt-get install chromium", allow_module_level=True)
sync_api = pytest.importorskip(
    "playwright.sync_api", reason='playwright not installed: pip install -e ".[dev]"'
)


class Lab:
    """A running ``scripts/lab``: its process, URL, token, log, and private state dir."""

    def __init__(self, tmp: Path, name: str = "lab") -> None:
        self.port = free_port()
        self.token = ""  # Jupyter generates it; wait_ready() reads it from the printed URL
        self.printed_url = ""
        self.base = f"http://127.0.0.1:{self.port}"
        self.state = tmp
        self.workspace = tmp / "workspace"
        self.name = name
        self.log_path = tmp / f"{name}.log"  # copied to artifacts/browser/ when the lab stops
        settings = tmp / "settings"
        for file, value in LAB_SETTINGS.items():
            (settings / file).parent.mkdir(parents=True, exist_ok=True)
            (settings / file).write_text(json.dumps(value))
        env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}  # let the lab start its own
        env.update(
            PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",  # as `make lab` does
            JUPYTERLAB_SETTINGS_DIR=str(settings),
            JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
            JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
            IPYTHONDIR=str(tmp / "ipython"),
            HIGHLOAD_WORKSPACE=str(tmp / "workspace"),
            LAB_ARGS=f"--no-browser --port={self.port} --ServerApp.ip=127.0.0.1",
        )
        self.log = self.log_path.open("w")
        self.proc = spawn(
            [
                str(ROOT / "scripts" / "lab"),
                "--ServerApp.port_retries=0",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                "--LabApp.news_url=",
            ],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        self.pgid = self.proc.pid  # session leader: its pid is the process group id

    def url(self, path: str) -> str:
        return f"{self.base}/{path.lstrip('/')}?token={self.token}"

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 120) -> None:
        """Read the URL the lab prints (with its generated token), then poll until it answers 200.

        Polling: there is no event to wait on over HTTP.
        """
        printed = re.compile(rf"http://127\.0\.0\.1:{self.port}/\S*\?token=([0-9a-f]{{16,}})")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"scripts/lab exited with {self.proc.returncode}:\n{self.output()[-3000:]}")
            if not self.token:
                match = printed.search(self.output())
                if match:
                    self.printed_url, self.token = match.group(0), match.group(1)
                else:
                    time.sleep(0.25)
                continue
            try:
                with urllib.request.urlopen(self.url("/lab"), timeout=5) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.25)
        pytest.fail(f"JupyterLab did not answer on {self.base} in {timeout}s:\n{self.output()[-3000:]}")

    def kernel_pids(self) -> list[int]:
        """Kernels run in their own sessions; find them by their connection file in our runtime dir."""
        marker = str(self.state / "runtime").encode()
        pids = []
        for proc in Path("/proc").iterdir():
            if proc.name.isdigit():
                try:
                    if marker in (proc / "cmdline").read_bytes():
                        pids.append(int(proc.name))
                except OSError:
                    pass
        return pids

    def group_alive(self) -> bool:
        try:
            os.killpg(self.pgid, 0)
        except ProcessLookupError:
            return False
        return True

    def stop(self, timeout: float = 60) -> None:
        """SIGTERM the script (its trap stops the lab and Redis), then kill whatever is left."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        for pid in self.kernel_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pgid, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.wait(10)
        self.log.close()
        shutil.copyfile(self.log_path, ARTIFACTS / f"{self.name}.log")


def _redis_port(output: str) -> int | None:
    match = re.search(r"REDIS_URL=redis://127\.0\.0\.1:(\d+)/0", output)
    return int(match.group(1)) if match else None


def _redis_answers(port: int) -> bool:
    return answers(f"redis://127.0.0.1:{port}/0", timeout=2)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    server = Lab(tmp_path_factory.mktemp("lab"))
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        yield page
    finally:
        context.close()


def _status_bar(page):
    return page.locator(".jp-StatusBar-Widget").get_by_text(IDLE).first


def _notebook(path: str) -> dict:
    file = ROOT / path
    assert file.exists(), f"{path} does not exist yet"
    return json.loads(file.read_text())


def _open_notebook(page, lab: Lab, path: str, shot: str) -> dict:
    """Open ``path`` in JupyterLab and wait for its kernel to be idle and every cell to render."""
    nb = _notebook(path)
    kernelspec = nb.get("metadata", {}).get("kernelspec", {})
    assert kernelspec.get("name") == "python3", (
        f"{path} has kernelspec {kernelspec!r}: without python3 JupyterLab asks learners to pick a kernel"
    )
    page.goto(lab.url(f"/lab/tree/{path}"))
    name = Path(path).name
    page.locator(f".lm-TabBar-tab[data-type='document-title']:has-text('{name}')").first.wait_for()
    _status_bar(page).wait_for()  # the status bar; the toolbar indicator fires too early
    n_cells = len(nb["cells"])
    page.wait_for_function(
        "n => document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell')"
        ".length === n",
        arg=n_cells,
    )
    page.screenshot(path=str(ARTIFACTS / shot), full_page=True)
    return nb


def _run_all(page, nb: dict) -> None:
    """Run > Run All Cells, then wait until every non-empty code cell has an execution count."""
    expected = sum(
        1 for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()
    )
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    # textContent, not innerText: JupyterLab skips rendering off-screen cells
    # (content-visibility), and innerText is empty for unrendered elements.
    try:
        state = page.wait_for_function(
            """n => {
                const nb = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook');
                const error = nb.querySelector('[data-mime-type="application/vnd.jupyter.error"]');
                if (error) return {error: error.textContent};
                const done = [...nb.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
                    .filter(p => /\\[\\d+\\]/.test(p.textContent)).length;
                return done >= n ? {done} : false;
            }""",
            arg=expected,
            timeout=180_000,
        ).json_value()
    except sync_api.TimeoutError:
        page.screenshot(path=str(ARTIFACTS / "run-all-timeout.png"), full_page=True)
        prompts = page.evaluate(
            """() => [...document.querySelectorAll(
                '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt')]
                .map(p => p.textContent.trim())"""
        )
        pytest.fail(f"Run All did not finish: {expected} code cells, prompts {prompts}")
    assert "error" not in state, f"a cell raised during Run All:\n{state['error']}"
    _status_bar(page).wait_for()


def _tracked_changes() -> str:
    """``git status`` of the course and exercises the repository tracks ("" when clean)."""
    return subprocess.run(["git", "status", "--porcelain", "--", "course", "exercises"], cwd=ROOT,
                          capture_output=True, text=True, check=True).stdout


def _has_outputs(notebook: Path) -> bool:
    """True once the saved notebook holds outputs; False while JupyterLab is still writing it."""
    try:
        return any(c.get("outputs") for c in json.loads(notebook.read_text())["cells"])
    except (json.JSONDecodeError, KeyError):
        return False


def _save_in_workspace(page, lab: Lab, path: str, before: bytes) -> None:
    """Save the open notebook explicitly (Ctrl+S), as a learner would, and check where it went:
    the workspace copy now holds outputs, the tracked notebook is byte-for-byte unchanged."""
    copy = lab.workspace / path
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook").first.click()
    page.keyboard.press("Control+s")
    deadline = time.monotonic() + 30
    while not _has_outputs(copy):
        assert time.monotonic() < deadline, f"Ctrl+S did not save outputs into {copy}"
        time.sleep(0.2)  # polling the file the save writes; not a timing assertion
    assert (ROOT / path).read_bytes() == before, f"the browser run modified {path}"
    assert _tracked_changes() == "", f"the browser run dirtied tracked files:\n{_tracked_changes()}"


def _plot_data(plot) -> str:
    """The plotted traces (x and y of every trace), as JSON, read from the plotly graph div."""
    return plot.evaluate("gd => JSON.stringify((gd.data || []).map(t => [t.x, t.y]))")


def _slider_widget(page, label: str):
    """The first widget box with sliders and a chart whose text includes ``label``: (box, plot),
    in the notebook on screen (notebooks opened by earlier tests stay open in hidden tabs)."""
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    box = panel.locator(".widget-vbox", has=page.locator(".js-plotly-plot")).filter(
        has=page.locator(SLIDER)
    ).filter(has_text=label).first
    return box, box.locator(".js-plotly-plot").first


def _wait_chart(page, holder, predicate: str, *args) -> None:
    """Wait until ``predicate`` (JavaScript, ``(gd, ...args) => bool``) holds for the chart in
    ``holder``: a widget box, or a static chart itself. A widget redraws its chart as a new plotly
    graph div, so the wait looks the div up in the box each time it checks."""
    page.wait_for_function(
        "([holder, args]) => { const gd = holder.matches('.js-plotly-plot') ? holder"
        f" : holder.querySelector('.js-plotly-plot'); return !!gd && !!gd.data && ({predicate})(gd, ...args); }}",
        arg=[holder.element_handle(), list(args)],
    )


def _drawn(page, holder, axis: str = "x") -> None:
    """Scroll to the chart in ``holder`` and wait until a trace holds data on ``axis``; it must have
    drawn an SVG."""
    holder.scroll_into_view_if_needed()
    _wait_chart(page, holder, f"gd => gd.data.some(t => t.{axis} && t.{axis}.length)")
    assert holder.locator(".main-svg").count() > 0, "the plotly chart has no SVG"


def _move_slider(page, slider, box, plot) -> str:
    """Press ArrowRight five times on ``slider``; wait until the chart in ``box`` redraws.
    Returns the old data."""
    readout = slider.locator(".widget-readout")
    value_before, data_before = readout.inner_text(), _plot_data(plot)
    handle = slider.locator(".noUi-handle").first
    handle.focus()
    for _ in range(5):
        handle.press("ArrowRight")
    _wait_chart(page, box, "(gd, old) => JSON.stringify(gd.data.map(t => [t.x, t.y])) !== old", data_before)
    assert readout.inner_text() != value_before, "the slider's value did not change"
    _status_bar(page).wait_for()
    return data_before


def test_lesson_02_runs_in_the_lab(lab, page):
    """Lesson 02 runs top to bottom in the lab, its three shop clusters included; its quiz renders
    and answers a click, the crash drill redraws when its servers slider moves, and its plotly charts
    (the crash drill's chart, the static charts) hold data."""
    lesson = "course/02_stateless_vs_stateful.ipynb"
    before = (ROOT / lesson).read_bytes()
    nb = _open_notebook(page, lab, lesson, "lesson02-opened.png")
    _run_all(page, nb)

    # The Quiz (highload/widgets/quiz.py): a VBox with an <h3> title and one RadioButtons per question.
    quiz = page.locator(".widget-vbox", has=page.locator("h3", has_text="Stateless vs stateful: check yourself")).first
    quiz.scroll_into_view_if_needed()
    radios = quiz.locator(".widget-radio-box")
    radios.first.wait_for(state="visible")
    bank = json.loads((ROOT / "course" / "quizzes" / "02_stateless_vs_stateful.json").read_text(encoding="utf-8"))
    n_questions = len(bank["questions"])  # the question bank the quiz cell loads
    assert radios.count() == n_questions, f"{radios.count()} radio groups for {n_questions} questions"
    radios.first.locator("input[type='radio']").nth(1).check()  # question 1's right answer
    quiz.get_by_text("Correct.").first.wait_for()
    assert "Score: 1 of" in quiz.inner_text()
    quiz.screenshot(path=str(ARTIFACTS / "lesson02-quiz.png"))

    # The crash drill (highload/widgets/carts.py): two sliders over a chart and a readout.
    box, drill = _slider_widget(page, "items per cart")
    _drawn(page, box, "y")
    assert box.locator(SLIDER).count() == 2, "servers, items per cart"
    readout = box.locator(".hl-crash-drill-readout")
    sync_api.expect(readout).to_contain_text("memory + sticky cookie 100% → 69%")
    _move_slider(page, box.locator(SLIDER).filter(has_text="servers").first, box, drill)  # 3 -> 8 servers
    _wait_chart(page, box, "gd => (gd.layout.title.text || '').startsWith('8 servers')")
    sync_api.expect(readout).to_contain_text("memory + sticky cookie 100% → 86%")
    box.screenshot(path=str(ARTIFACTS / "lesson02-crash-drill.png"))

    # The crash drill's chart, and the static charts (latency, token size), all have data.
    # A static figure's renderer is itself the plotly graph div: `.jp-RenderedPlotly.js-plotly-plot`.
    statics = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-RenderedPlotly.js-plotly-plot:not(.hl-chart *)").all()
    plots = [box, *statics]
    assert len(plots) >= 3, f"expected the crash drill and 2 static charts, found {len(plots)} plotly charts"
    for plot in plots:
        _drawn(page, plot, "y")
    plots[-1].screenshot(path=str(ARTIFACTS / "lesson02-token-size.png"))
    page.screenshot(path=str(ARTIFACTS / "lesson02-run-all.png"))

    _save_in_workspace(page, lab, lesson, before)


def test_printed_server_url_with_token_answers(lab):
    """The URL a learner copies from `make lab`'s output opens the lab; a wrong token does not."""
    with urllib.request.urlopen(lab.printed_url, timeout=10) as response:
        assert response.status == 200
        assert response.url.startswith(lab.base)
    with urllib.request.urlopen(lab.url("/api/status"), timeout=10) as response:
        assert response.status == 200
    wrong = f"{lab.base}/api/status?token={secrets.token_hex(24)}"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(wrong, timeout=10)
    assert refused.value.code == 403


def test_lab_runs_with_a_private_redis_when_installed(lab):
    if shutil.which("redis-server") is None:
        assert "redis-server is not installed" in lab.output()
        return
    port = _redis_port(lab.output())
    assert port is not None, f"scripts/lab did not start redis-server:\n{lab.output()[-3000:]}"
    assert _redis_answers(port)


def test_printed_url_lands_on_the_course_index(lab, page):
    """The URL `make lab` prints opens course/index.ipynb, not an empty launcher; the Redis line is
    the last line before it."""
    page.goto(lab.printed_url)
    page.locator(".lm-TabBar-tab[data-type='document-title']:has-text('index.ipynb')").first.wait_for()
    assert "/lab/tree/course/index.ipynb" in page.url
    before_url = lab.output().split("To access the server")[0].strip().splitlines()
    assert before_url[-2].startswith("Redis: "), before_url[-3:]
    assert (lab.workspace / INDEX).exists()


def test_learner_lab_hides_the_instructor_tools(lab, page):
    """nbgrader's formgrader and Create Assignment are an instructor's, not a learner's."""
    _open_notebook(page, lab, INDEX, "index-menus.png")
    menus = page.locator(".lm-MenuBar-itemLabel").all_inner_texts()
    assert "Nbgrader" not in menus, menus
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^View$")).click()
    assert page.get_by_text("Create Assignment").count() == 0
    page.keyboard.press("Escape")


def test_course_index_opens(lab, page):
    _open_notebook(page, lab, INDEX, "index.png")
    assert page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-MarkdownCell").count() > 0


def test_lesson_00_capacity_calculator_renders_and_responds(lab, page):
    """Lesson 00 runs top to bottom in the lab; the CapacityCalculator redraws when the peak factor moves."""
    lesson = "course/00_high_load_systems.ipynb"
    before = (ROOT / lesson).read_bytes()
    nb = _open_notebook(page, lab, lesson, "lesson00-opened.png")
    _run_all(page, nb)

    # The calculator: a widget box with its four sliders, a chart and the readout line.
    box, plot = _slider_widget(page, "peak factor")
    slider = box.locator(SLIDER).filter(has_text="peak factor").first
    readout = box.locator(".hl-capacity-readout")
    _drawn(page, box)
    slider.wait_for(state="visible")
    assert box.locator(SLIDER).count() == 4, "requests/day, peak factor, req/s per server, headroom"
    text_before = readout.inner_text()
    assert "115,741" in text_before and "17 servers" in text_before, text_before
    box.screenshot(path=str(ARTIFACTS / "lesson00-calculator.png"))
    first = plot.evaluate("gd => gd.data.map(t => t.marker && t.marker.color)")[2]
    assert first == "#ff7f0e", f"the first draw shows the 'your traffic' marker in {first!r}, not orange"

    data_before = _move_slider(page, slider, box, plot)  # peak factor 5.0 -> 7.5 in five steps of 0.5
    sync_api.expect(readout).to_contain_text("25 servers", timeout=30_000)
    box.screenshot(path=str(ARTIFACTS / "lesson00-calculator-slider-moved.png"))
    assert _plot_data(plot) != data_before
    text_after = readout.inner_text()
    assert text_after != text_before and "173,611" in text_after, text_after
    marker = plot.evaluate("gd => gd.data.map(t => t.marker && t.marker.color)")[2]
    assert marker == "#ff7f0e", f"the redraw reset the 'your traffic' marker colour to {marker!r}"
    page.screenshot(path=str(ARTIFACTS / "lesson00-run-all.png"))

    _save_in_workspace(page, lab, lesson, before)
    assert "without encryption" not in lab.output(), "the learner's kernels run with transport encryption"


def test_lesson_03_cache_widgets_render_and_respond(lab, page):
    """Lesson 03 runs top to bottom in the lab; the StampedeVisualizer draws all three protections,
    and the HitRatioLab replays its workload when the key popularity (Zipf s) slider moves."""
    lesson = "course/03_cache_strategies.ipynb"
    before = (ROOT / lesson).read_bytes()
    nb = _open_notebook(page, lab, lesson, "lesson03-opened.png")
    _run_all(page, nb)

    # HitRatioLab: a widget box with its sliders, the invalidation checkbox, a chart and a readout.
    hit_box, plot = _slider_widget(page, "key popularity (Zipf s)")
    slider = hit_box.locator(SLIDER).filter(has_text="key popularity").first
    readout = hit_box.locator(".hl-hit-ratio-readout")
    _drawn(page, hit_box, "y")
    slider.wait_for(state="visible")
    controls = hit_box.inner_text()
    for label in ("cache size (entries)", "TTL", "DB updates per second", "invalidate the cache on each update"):
        assert label in controls, f"the HitRatioLab has no {label!r} control"
    text_before = readout.inner_text()
    assert "57.4%" in text_before, text_before  # the lesson leaves it at 100 entries, Zipf s = 1
    hit_box.screenshot(path=str(ARTIFACTS / "lesson03-hit-ratio.png"))

    data_before = _move_slider(page, slider, hit_box, plot)  # Zipf s 1.0 -> 1.5 in five steps of 0.1
    sync_api.expect(readout).to_contain_text("91.3%", timeout=30_000)
    hit_box.screenshot(path=str(ARTIFACTS / "lesson03-hit-ratio-slider-moved.png"))
    assert _plot_data(plot) != data_before

    # StampedeVisualizer: none, lock and xfetch each draw a query line and their waiting reads.
    storm, storm_plot = _slider_widget(page, "concurrent readers")
    storm.scroll_into_view_if_needed()
    _wait_chart(page, storm, "gd => gd.data.filter(t => t.x && t.x.length).length === 6")
    assert storm_plot.locator(".main-svg").count() > 0, "the plotly chart has no SVG"
    queries = storm_plot.evaluate(
        "gd => Object.fromEntries(gd.data.filter(t => t.meta === 'queries' && t.y.length)"
        ".map(t => [t.name, t.y[t.y.length - 1]]))")
    assert queries == {"none": 50, "lock": 1, "xfetch": 1}, queries
    storm.screenshot(path=str(ARTIFACTS / "lesson03-stampede.png"))
    page.screenshot(path=str(ARTIFACTS / "lesson03-run-all.png"))

    _save_in_workspace(page, lab, lesson, before)


def test_lesson_04_lag_timeline_renders_and_responds(lab, page):
    """Lesson 04 runs top to bottom in the lab (on real Postgres where installed); its LagTimeline
    draws the operations per node, and redraws with no stale read when replica2's lag slider moves."""
    lesson = "course/04_replication_and_consistency.ipynb"
    before = (ROOT / lesson).read_bytes()
    nb = _open_notebook(page, lab, lesson, "lesson04-opened.png")
    _run_all(page, nb)

    box, plot = _slider_widget(page, "replica2 lag")
    _drawn(page, box)
    for label in ("replica1 lag", "replica2 lag", "write share"):
        assert label in box.inner_text(), f"the LagTimeline has no {label!r} control"
    nodes = plot.evaluate("gd => [...new Set(gd.data[1].y)].sort()")
    assert nodes == ["primary", "replica1", "replica2"], nodes
    assert "0 stale" in box.inner_text(), "the package's token router is never stale"
    slider = box.locator(SLIDER).filter(has_text="replica2 lag").first
    data_before = _move_slider(page, slider, box, plot)  # 2.0 s -> 2.5 s
    assert _plot_data(plot) != data_before
    assert "0 stale" in box.inner_text()
    box.screenshot(path=str(ARTIFACTS / "lesson04-lag-timeline.png"))

    _save_in_workspace(page, lab, lesson, before)


def test_lesson_widgets_render_and_respond(lab, page):
    before = (ROOT / LESSON).read_bytes()
    nb = _open_notebook(page, lab, LESSON, "lesson-opened.png")
    _run_all(page, nb)

    # Notebooks opened by earlier tests stay open in hidden tabs: look inside this one only.
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    panel.locator(SLIDER).first.wait_for(state="visible")
    panel.locator(PLOT).first.wait_for(state="visible")

    # The visualizer: a widget box holding both sliders and a chart.
    box = panel.locator(".widget-vbox", has=page.locator(".js-plotly-plot")).filter(
        has=page.locator(SLIDER)
    ).last
    slider, plot = box.locator(SLIDER).first, box.locator(".js-plotly-plot").first
    _drawn(page, box)
    page.screenshot(path=str(ARTIFACTS / "lesson-run-all.png"))
    box.screenshot(path=str(ARTIFACTS / "lesson-widget.png"))

    data_before = _move_slider(page, slider, box, plot)
    box.screenshot(path=str(ARTIFACTS / "lesson-widget-slider-moved.png"))
    assert _plot_data(plot) != data_before

    _save_in_workspace(page, lab, LESSON, before)


def test_lesson_09_breaker_timeline_renders_and_responds(lab, page):
    """Lesson 09 runs top to bottom in the lab; the BreakerTimeline redraws when a threshold moves."""
    before = (ROOT / LESSON_09).read_bytes()
    nb = _open_notebook(page, lab, LESSON_09, "lesson09-opened.png")
    _run_all(page, nb)

    # The first BreakerTimeline: a widget box with its sliders ("failure threshold" first) and a chart.
    box, plot = _slider_widget(page, "failure threshold")
    slider = box.locator(SLIDER).first
    _drawn(page, box)
    slider.wait_for(state="visible")
    assert "failure threshold" in slider.inner_text()
    box.screenshot(path=str(ARTIFACTS / "lesson09-timeline.png"))

    data_before = _move_slider(page, slider, box, plot)
    box.screenshot(path=str(ARTIFACTS / "lesson09-timeline-slider-moved.png"))
    assert _plot_data(plot) != data_before
    assert "failure_threshold=10" in box.inner_text(), "the title names the new threshold"

    # The retry storm renders too (one line per retry strategy).
    storm = page.locator(".widget-vbox", has=page.locator(".js-plotly-plot")).filter(has_text="base delay").first
    _drawn(page, storm)
    storm.screenshot(path=str(ARTIFACTS / "lesson09-retry-storm.png"))
    page.screenshot(path=str(ARTIFACTS / "lesson09-run-all.png"))

    _save_in_workspace(page, lab, LESSON_09, before)


def test_lesson_01_load_balancer_race_renders_and_responds(lab, page):
    """Lesson 01 runs top to bottom in the lab; the LoadBalancerRace re-runs the race when the load moves."""
    lesson = "course/01_scaling_and_load_balancing.ipynb"
    before = (ROOT / lesson).read_bytes()
    nb = _open_notebook(page, lab, lesson, "lesson01-opened.png")
    _run_all(page, nb)

    # The race: a widget box with the load slider, the speeds, the checkboxes and a chart.
    box, plot = _slider_widget(page, "load (share of capacity)")
    slider = box.locator(SLIDER).first
    _drawn(page, box)
    slider.wait_for(state="visible")
    assert "load (share of capacity)" in slider.inner_text()
    assert "90%" in slider.locator(".widget-readout").inner_text()
    assert "least connections" in box.inner_text(), "the summary table names the algorithms"
    box.screenshot(path=str(ARTIFACTS / "lesson01-race.png"))

    data_before = _move_slider(page, slider, box, plot)
    # Five steps of 5%: the last redraw is for 115% of capacity.
    _wait_chart(page, box, "gd => ((gd.layout.title || {}).text || '').includes('115% of capacity')")
    box.screenshot(path=str(ARTIFACTS / "lesson01-race-slider-moved.png"))
    assert _plot_data(plot) != data_before
    legend = plot.locator(".legend .traces")
    assert legend.count() == 4, f"one legend entry per balancer plus capacity, got {legend.all_inner_texts()}"
    page.screenshot(path=str(ARTIFACTS / "lesson01-run-all.png"))

    _save_in_workspace(page, lab, lesson, before)


def test_stopping_lab_stops_redis_and_kernels(tmp_path):
    """SIGTERM to scripts/lab alone (as from a process manager): its trap stops JupyterLab,
    the kernels JupyterLab started (they run in their own sessions), and Redis."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    lab = Lab(tmp_path, name="lab-stop")
    try:
        lab.wait_ready()
        request = urllib.request.Request(
            lab.url("/api/kernels"), data=b'{"name": "python3"}', method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 201
        deadline = time.monotonic() + 30
        while not lab.kernel_pids() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert lab.kernel_pids(), "the kernel did not start"
        redis_port = _redis_port(lab.output())
        if shutil.which("redis-server"):
            assert redis_port is not None and _redis_answers(redis_port), lab.output()[-3000:]

        os.kill(lab.proc.pid, signal.SIGTERM)
        # 143: the script's TERM trap ran (-15 would mean bash died without cleaning up).
        assert lab.proc.wait(60) == 143, lab.output()[-3000:]
        deadline = time.monotonic() + 30
        while (lab.group_alive() or lab.kernel_pids()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not lab.group_alive(), "processes in scripts/lab's process group outlived it"
        assert not lab.kernel_pids(), "kernels outlived scripts/lab"
        if redis_port is not None:
            assert not _redis_answers(redis_port), "redis-server outlived scripts/lab"
    finally:
        lab.stop()


LESSON_05 = "course/05_sharding.ipynb"


def test_lesson_05_ring_explorer_renders_and_responds(lab, page):
    before = (ROOT / LESSON_05).read_bytes()
    nb = _open_notebook(page, lab, LESSON_05, "lesson05-opened.png")
    _run_all(page, nb)

    box, plot = _slider_widget(page, "vnodes per node")
    _drawn(page, box)
    nodes = box.locator(SLIDER).filter(has_text="nodes").first
    assert "4" in nodes.locator(".widget-readout").inner_text()
    assert "peak-to-mean" in box.inner_text()
    box.screenshot(path=str(ARTIFACTS / "lesson05-ring.png"))

    data_before = _move_slider(page, nodes, box, plot)  # five steps: 4 -> 9 nodes
    _wait_chart(page, box, "gd => ((gd.layout.title || {}).text || '').includes('9 nodes')")
    assert _plot_data(plot) != data_before
    bars = plot.evaluate("gd => gd.data[0].x.length")
    assert bars == 9, f"one bar per node, got {bars}"
    assert "The last change moved" in box.inner_text(), "the readout reports the keys that moved"
    box.screenshot(path=str(ARTIFACTS / "lesson05-ring-nodes-added.png"))
    _save_in_workspace(page, lab, LESSON_05, before)
