"""``helio simulate`` end to end on a small energy project: two policies replayed through the
real jobs in two processes, each in a throwaway project of its own; compared on forecast error
and on the battery's realised value, with a plot and one JSON line.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path

import pytest

from heliograph.apps.energy import realised_battery_value
from heliograph.cli import main
from heliograph.core import Project, init_project, load_app
from heliograph.ledger import judged_predictions
from heliograph.simulate import (
    Replay,
    load_policy,
    plot_simulation,
    simulate_policies,
    simulation_curves,
)

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


def test_the_plot_ends_at_the_reported_error_and_battery_value_of_every_market(
    tmp_path: Path,
) -> None:
    """Two markets, two days, in this process: the curves the plot draws end, per policy, at
    the MAE and the battery value the summary and the JSON line report, and that value is
    each market's realised value summed (not one market's rows per period)."""
    config = load_app("energy").config
    config = config.replace('start = "2024-01-01"', 'start = "2025-01-01"')
    config = config.replace('markets = ["GB", "DE", "FR"]', 'markets = ["GB", "DE"]')
    init_project(tmp_path / "demo", extra=config)
    project = Project.load(tmp_path / "demo")
    start, end = datetime(2025, 4, 1, tzinfo=UTC), datetime(2025, 4, 3, tzinfo=UTC)
    replay = Replay(project.root, project.settings, start, end, tmp_path / "sim")
    simulation = simulate_policies(replay, [load_policy(DOCS / "never.toml")], workers=1)
    (result,) = simulation.results
    curves = simulation_curves(simulation)
    plot_simulation(simulation, tmp_path / "simulation.png")
    assert (tmp_path / "simulation.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    def last(curve: str, service: str) -> float:
        rows = curves[(curves["curve"] == curve) & (curves["service"] == service)]
        assert list(rows["day"]) == sorted(rows["day"]) and len(rows) == 2, rows
        return float(rows["value"].iloc[-1])

    # from the ledger, independently: the champion's judged rows, each market on its own
    ledger = (tmp_path / "sim" / "never" / "ledger.db").resolve()
    judged = {
        service: frame[(frame["role"] == "champion") & frame["actual"].notna()]
        for service in ("price-forecast", "battery-schedule")
        for frame in [judged_predictions(f"sqlite:///{ledger}", service, since=start, until=end)]
    }
    assert set(judged["battery-schedule"]["model_name"]) == {"energy-price-GB", "energy-price-DE"}
    value = sum(
        realised_battery_value(rows) for _, rows in judged["battery-schedule"].groupby("model_name")
    )
    reported = result.line()["business"]["battery-schedule.battery_value"]
    assert reported == pytest.approx(value, rel=1e-9)
    assert last("battery_value", "battery-schedule") == pytest.approx(reported, rel=1e-9)
    forecast = judged["price-forecast"]
    mae = float((forecast["p50"] - forecast["actual"]).abs().mean())
    assert result.error["price-forecast"]["mae"] == pytest.approx(mae, rel=1e-9)
    assert last("mae", "price-forecast") == pytest.approx(mae, rel=1e-9)
