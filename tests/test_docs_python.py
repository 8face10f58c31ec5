"""Every Python example in docs/ is a file that a test runs (the sqlmodel ``docs_src`` pattern).

Each ```python block of ``docs/<page>.md`` is the file ``docs/examples/<page>_<n>.py``, linked
on the line above the block; the page shows the code and this test checks that the block and
the file are the same text. Each file then runs as a script, in a fresh temporary folder, and
must exit 0 (and print what the page says it prints, where that matters). Examples that read a
project run beside ``demo``: the energy app's project, shortened to GB from 2025-04-20 on a
replay clock at real speed (so its data stays fresh), ingested, materialised and snapshotted
as ``helio up`` does, with ``energy-price-GB`` trained (``seasonal_naive``, seconds): version
1 champion, version 2 challenger, and one request served with its shadow in the ledger.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from heliograph.core import load_app
from heliograph.gateway import create_app
from tests.energy_project import small_energy_project

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:mlflow.*")  # the demo's training

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
EXAMPLES = DOCS / "examples"
_BLOCK = re.compile(
    r"^\[examples/(?P<file>[\w.]+)\]\(examples/(?P=file)\):\n\n```python\n(?P<code>.*?)^```",
    re.S | re.M,
)

# run in an empty folder
STANDALONE = [
    "checks_1.py",
    "checks_2.py",
    "dashboard_1.py",
    "energy_1.py",
    "energy_2.py",
    "features_1.py",
    "gateway_3.py",
    "lake_3.py",
    "lineage_1.py",
    "monitoring_1.py",
    "scheduler_1.py",
    "training_3.py",
]
# run in a folder holding BE.csv (the EPF format) and data/sales.csv
WITH_FILES = ["lake_2.py"]
# run in a folder holding the trained demo project (the module doc), in this order
IN_DEMO = [
    "features_2.py",
    "gateway_1.py",
    "gateway_2.py",
    "lake_1.py",
    "training_1.py",
    "training_2.py",
    "configuration_1.py",  # last: it ingests two more days, so the store is then behind
]
PRINTS = {
    "lineage_1.py": ["True [] 0", "['date=2025-06-01', 'date=2025-06-03']"],
    "scheduler_1.py": [
        "['hello 2025-06-01 10:00 UTC succeeded: hello for 10:00']",
        "['hello for 13:30', 'hello for 14:00', 'hello for 14:30', 'hello for 15:00']",
        "succeeded",
    ],
    "gateway_3.py": ["online 48 -", "lake as_of is before the store's retention"],
    "energy_1.py": ["['energy_actuals', 'energy_forecasts', 'energy_prices']"],
    "dashboard_1.py": ["No service has been monitored yet."],
    "lake_3.py": [
        "prices from notebook: 48 rows in, 48 written to 2 partitions",
        "96 48",
        "between(price, -500, 4000, mostly=0.99): FAILED",
    ],
    "features_2.py": ["48 rows from the online \n", "ready: True"],
    "gateway_1.py": ["version 1: 48 periods, columns ['p10', 'p50', 'p90']"],
    "gateway_2.py": ["energy-price-GB 2 challenger"],
    "lake_2.py": ["{'energy_prices': 72, 'energy_forecasts': 144}", "sales 2 "],
    "training_1.py": ["96 training rows; 48 rows as of 2025-06-01 10:00:00+00:00"],
    "training_2.py": ["{'challenger': '3', 'champion': '1'}", "promotion_refused"],
    "training_3.py": ["registered two_days", "two_days 1 "],
}


def _blocks() -> list[tuple[str, str, str]]:
    """(page, file, code) for every python block of docs/*.md."""
    found = []
    for page in sorted(DOCS.glob("*.md")):
        text = page.read_text(encoding="utf-8")
        linked = [(m["file"], m["code"]) for m in _BLOCK.finditer(text)]
        total = len(re.findall(r"^```python\n", text, flags=re.M))
        assert len(linked) == total, (
            f"{page.name}: every ```python block is an examples/ file, linked on the line above"
        )
        found += [(page.name, file, code) for file, code in linked]
    return found


BLOCKS = _blocks()


def test_every_example_file_is_shown_on_a_page_and_has_its_place_here() -> None:
    files = sorted(p.name for p in EXAMPLES.glob("*.py"))
    assert files == sorted(file for _, file, _ in BLOCKS)
    assert sorted(STANDALONE + WITH_FILES + IN_DEMO) == files


@pytest.mark.parametrize(("page", "file", "code"), BLOCKS, ids=[b[1] for b in BLOCKS])
def test_the_page_shows_the_file(page: str, file: str, code: str) -> None:
    assert file.startswith(page.removesuffix(".md") + "_")
    assert (EXAMPLES / file).read_text(encoding="utf-8") == code, (
        f"docs/{page} shows a different {file}: copy the file into the page"
    )


def _run(file: str, cwd: Path) -> str:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / file)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**_env(), "HELIO_PROGRESS": "0"},
    )
    assert done.returncode == 0, f"{file} failed:\n{done.stdout}\n{done.stderr}"
    for line in PRINTS.get(file, []):
        assert line in done.stdout, f"{file} should print {line!r}; it printed:\n{done.stdout}"
    return done.stdout


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("HELIO_")}


@pytest.mark.parametrize("file", STANDALONE)
def test_a_standalone_example_runs(file: str, tmp_path: Path) -> None:
    _run(file, tmp_path)


def test_an_example_over_files_runs(tmp_path: Path) -> None:
    days = 3
    stamps = [f"2016-01-0{1 + h // 24} {h % 24:02d}:00:00" for h in range(24 * days)]
    lines = [f"{t},{40 + h % 24},{60000 + h},{58000 + h}" for h, t in enumerate(stamps)]
    header = "Date, Prices, Generation forecast, System load forecast"  # BE.csv's own
    (tmp_path / "BE.csv").write_text("\n".join([header, *lines]) + "\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "sales.csv").write_text("day,units\n2025-06-01,3\n2025-06-02,5\n")
    _run("lake_2.py", tmp_path)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("docs-demo")
    project = small_energy_project(folder / "demo", challenger=True)
    services = load_app("energy").services()
    with TestClient(create_app(project, services, poll_interval=3600, shadow=True)) as client:
        answer = client.post("/v1/services/price-forecast/predict", json={"market": "GB"})
        assert answer.status_code == 200, answer.text  # the shadow reaches the ledger on exit
    return folder


@pytest.mark.parametrize("file", IN_DEMO)
def test_an_example_over_the_demo_project_runs(file: str, demo: Path) -> None:
    _run(file, demo)
