"""``helio simulate`` end to end on a small energy project: two policies replayed through the
real jobs in two processes, each in a throwaway project of its own; compared on forecast error
and on the battery's realised value, with a plot and one JSON line.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from heliograph.cli import main
from heliograph.core import init_project, load_app

DOCS = Path(__file__).parents[2] / "docs" / "policies"
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:mlflow.*")


def helio(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


@pytest.fixture
def project(tmp_path: Path) -> Path:
    config = load_app("energy").config
    config = config.replace('start = "2024-01-01"', 'start = "2025-01-01"')
    config = config.replace('markets = ["GB", "DE", "FR"]', 'markets = ["GB"]')
    init_project(tmp_path / "demo", extra=config)
    return tmp_path / "demo"


def test_two_policies_replayed_in_parallel_compared_on_error_and_battery_value(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = project / "sim"
    code, printed, err = helio(
        capsys, "--project", str(project), "simulate", "--from", "2025-04-01",
        "--to", "2025-04-03", "--policy", str(DOCS / "never.toml"),
        "--policy", str(DOCS / "drift.toml"), "--workers", "2", "--out", str(out),
    )  # fmt: skip
    assert code == 0, printed + err
    assert "retrain:" not in printed, printed  # a retrain that could not run is a note
    line = json.loads(printed.strip().splitlines()[-1])["simulate"]
    assert (line["from"], line["to"], line["workers"], line["steps_per_policy"]) == (
        "2025-04-01", "2025-04-03", 2, 2,
    )  # fmt: skip
    results = {p["policy"]: p for p in line["policies"]}
    assert set(results) == {"never", "drift"}
    for result in results.values():
        forecast = result["error"]["price-forecast"]
        assert math.isfinite(forecast["mae"]) and forecast["periods"] >= 48
        assert result["business"]["battery-schedule.battery_value"] is not None
    assert results["never"]["retrains"] == 0
    # each policy had a project of its own, with its own ledger
    assert (out / "projects" / "never" / "ledger.db").exists()
    assert (out / "projects" / "drift" / "ledger.db").exists()
    assert Path(line["plot"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "never" in printed and "battery_value" in printed


def test_a_bad_policy_or_span_is_refused_naming_it(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[retrain]\nwhen = "every"\nevery_days = 2\n')
    args = ("--project", str(project), "simulate", "--from", "2025-04-01", "--to", "2025-04-03")
    code, _, err = helio(capsys, *args, "--policy", str(bad))
    assert code == 2 and "retrain.every_days" in err and "Traceback" not in err
    code, _, err = helio(capsys, *args[:-1], "2025-03-01", "--policy", str(DOCS / "never.toml"))
    assert code == 2 and "--to" in err
    code, _, err = helio(
        capsys, *args, "--policy", str(DOCS / "never.toml"), "--policy", str(DOCS / "never.toml")
    )
    assert code == 2 and "two policies are named 'never'" in err
