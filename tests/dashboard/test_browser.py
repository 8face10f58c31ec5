"""The dashboard in a real browser: Debian's headless Chromium driven by Playwright (pointed at
/usr/bin/chromium; nothing downloads a browser), over a small trained energy project whose
jobs really ran (predict over two past days, actuals, three monitor passes).

Every page renders, its charts draw marks, and no exception or traceback shows. Screenshots
are written under pytest's temporary folder (the path is printed; ``-s`` shows it, and
``HELIO_DASHBOARD_SHOTS=DIR`` keeps them in DIR).
"""

from __future__ import annotations

import copy
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from heliograph.core import FixedClock, Project
from heliograph.dashboard import dashboard_command
from heliograph.jobs import run_job

from ..energy_project import small_energy_project

CHROMIUM = Path("/usr/bin/chromium")
# (url path, title, charts it must draw, a sentence it must show): "/" is the default page
PAGES = [
    ("", "Overview", 0, "health checks alerting"),
    ("forecast", "Forecast against actual", 1, "champion MAE over the shown actuals"),
    ("metrics", "Live metrics", 1, "challenger mae"),
    ("drift", "Drift", 2, "features over the psi threshold"),
    ("data", "Data", 0, "Latest data reports"),
    ("events", "Event timeline", 1, "kinds shown"),
    ("lineage", "Lineage", 0, "model energy-price-GB v"),
]
DRAWN = "page drawn at"
TITLES = {
    "": "Overview",
    "forecast": "Forecast vs actual",
    "metrics": "Live metrics",
    "drift": "Drift",
    "data": "Data",
    "events": "Event timeline",
    "lineage": "Lineage",
}
# The marks a chart draws for its data (an empty chart has its axes, and none of these)
MARKS_JS = """el => Array.from(el.querySelectorAll('g.role-mark > path, g.role-mark > line'))
    .filter(m => m.tagName === 'line' || (m.getAttribute('d') || '').length > 4).length"""

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:mlflow.*")


def _chromium() -> None:
    if CHROMIUM.is_file():
        return
    message = "Debian's chromium is not installed (apt-get install -y chromium chromium-driver)"
    if os.environ.get("CI"):
        pytest.fail(message + "; .ci/run installs it")
    pytest.skip(message)


@pytest.fixture(scope="module")
def monitored(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The small energy project, its jobs run as ``helio up`` would have over two days."""
    folder = tmp_path_factory.mktemp("board") / "energy"
    trained = small_energy_project(folder, challenger=True)
    config = trained.config_path
    assert config is not None
    text = config.read_text()
    # One window; no threshold alerts: this small reference drifts on every feature, and
    # thousands of alerts are recorded one event at a time (most of a monitor pass). Four
    # questions are the drift's whole sample: a verdict on them, for the page to show.
    for default, changed in (
        ("windows_hours = [24.0, 168.0]", "windows_hours = [24.0]"),
        ("min_judged = 48", "min_judged = 1000000"),
        ("drift_min_values = 48", "drift_min_values = 1"),
    ):
        assert default in text
        text = text.replace(default, changed)
    config.write_text(text)
    project = Project.load(trained.root)
    yesterday = project.clock().now().replace(hour=0, minute=0, second=0) - timedelta(days=1)
    for hour in (10, 14, 18, 22):  # answers whose features the day-ahead data completes
        at = yesterday + timedelta(hours=hour)
        run_job(copy.copy(project).with_clock(FixedClock(at)), "predict")
    now = project.clock().now()
    run_job(copy.copy(project).with_clock(FixedClock(now)), "actuals")
    for hours in (3, 0):
        run_job(copy.copy(project).with_clock(FixedClock(now - timedelta(hours=hours))), "monitor")
    return project


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def dashboard(monitored: Project, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    _chromium()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELIO_")}
    log = tmp_path_factory.mktemp("board-log") / "dashboard.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            dashboard_command(monitored, host="127.0.0.1", port=port),
            env=env | {"HELIO_PROGRESS": "0"},
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the dashboard did not start in 60 s"
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert "Traceback" not in log.read_text(), log.read_text()


def test_every_page_renders_its_charts_without_an_exception(dashboard: str, tmp_path: Path) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    shots = Path(os.environ.get("HELIO_DASHBOARD_SHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            for path, title, charts, sentence in PAGES:
                page.goto(f"{dashboard}/{path}")
                # the last line of this page (the previous page's stays until it is replaced)
                page.get_by_text(f"{TITLES[path]} · {DRAWN}").wait_for(timeout=60_000)
                page.get_by_role("heading", name=title).first.wait_for(timeout=10_000)
                # Streamlit's frontend draws some elements (sliders, metrics) from code it
                # loads lazily: on a busy machine the last line can be drawn before them
                try:
                    page.get_by_text(sentence).first.wait_for(timeout=30_000)
                except PlaywrightTimeout:
                    pass  # the assertion below shows the page as it is
                body = page.locator("body").inner_text()
                assert "Traceback" not in body and "Page not found" not in body, path
                assert sentence in body, f"/{path} does not say {sentence!r}: {body}"
                assert page.locator("[data-testid='stException']").count() == 0, path
                assert page.locator("[data-testid='stAlertContentError']").count() == 0, body
                found = page.locator("[data-testid='stVegaLiteChart']")
                if charts:
                    found.nth(charts - 1).locator("svg").wait_for(timeout=30_000)
                    page.wait_for_function(
                        "n => document.querySelectorAll("
                        "'[data-testid=stVegaLiteChart] g.role-mark > path').length >= n",
                        arg=charts,
                        timeout=30_000,
                    )
                assert found.count() >= charts, path
                for i in range(charts):
                    assert found.nth(i).evaluate(MARKS_JS) > 0, f"chart {i} of /{path} is empty"
                page.screenshot(path=str(shots / f"{path or 'overview'}.png"), full_page=True)
        finally:
            browser.close()
    print(f"dashboard screenshots: {shots}")
    assert sorted(p.name for p in shots.glob("*.png")) == sorted(
        f"{p or 'overview'}.png" for p, *_ in PAGES
    )
