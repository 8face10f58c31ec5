"""`helio train energy` end to end: snapshot → features → backtest → MLflow → challenger."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from heliograph.apps.energy import make_model, model_name, train_market
from heliograph.cli import main
from heliograph.core import DataError, FixedClock, Project, UsageError
from heliograph.jobs import ingest, snapshot
from heliograph.lake import open_lake
from heliograph.metrics import mae
from heliograph.registry import Registry
from heliograph.tracking import mlflow_client
from tests.conftest import energy_project

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:mlflow.*")


def small(name: str):  # type: ignore[no-untyped-def]
    return make_model(name, n_estimators=40) if name == "gbm_quantile" else make_model(name)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    return energy_project(tmp_path_factory.mktemp("train"), ("GB", "DE"))


def test_train_logs_lineage_and_registers_a_challenger(project: Project) -> None:
    outcome = train_market(project, "GB", backtest_days=14, train_days=60, make=small)
    assert outcome.window == "2025-03-18..2025-03-31"
    assert set(outcome.metrics) == {"seasonal_naive", "lear", "gbm_quantile", "blend"}
    naive, lear = outcome.metrics["seasonal_naive"], outcome.metrics["lear"]
    assert lear["mae"] < naive["mae"] and lear["rmae"] < 1
    # rMAE's denominator is the weekly naive over the window, read here from the lake itself:
    # the price of the same period a week earlier (not the features' lag, not the model's).
    prices = open_lake(project).read("energy_prices", snapshot=outcome.snapshots[0])
    prices = prices.loc[prices["market"] == "GB"].set_index("timestamp")["price"]
    first, last = (pd.Timestamp(d, tz="UTC") for d in outcome.window.split(".."))
    window = prices.loc[(prices.index >= first) & (prices.index < last + pd.Timedelta(days=1))]
    week_before = prices.reindex(window.index - pd.Timedelta(days=7)).to_numpy()
    assert lear["rmae"] == pytest.approx(lear["mae"] / mae(window.to_numpy(), week_before))
    for metric in ("smape", "rmse", "pinball_q10", "coverage_80", "battery_capture"):
        assert metric in lear
    assert outcome.best == min(outcome.metrics, key=lambda m: outcome.metrics[m]["mae"])

    client = mlflow_client(project)
    run = client.get_run(outcome.runs[outcome.best])
    tags, params = run.data.tags, run.data.params
    assert tags["helio.snapshots"] == ",".join(outcome.snapshots)
    assert tags["helio.checks.passed"] == "true"
    assert json.loads(tags["helio.checks"])["energy_prices"]["failed"] == {}
    assert tags["helio.feature_view"] == "energy_price_features@2"
    assert tags["helio.git.commit"] and tags["helio.git.dirty"] in {"true", "false"}
    assert "mlflow" in json.loads(tags["helio.versions"])
    assert tags["helio.backtest.window"] == outcome.window
    assert params["market"] == "GB" and params["recalibrate"] == "weekly"
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
    assert artifacts == {"plots/forecast_vs_actual.png", "plots/error_by_hour.png"}

    registry = Registry(project)
    assert registry.aliases(model_name("GB")) == {"challenger": outcome.version}
    import mlflow.pyfunc

    model = mlflow.pyfunc.load_model(f"models:/{model_name('GB')}@challenger")
    assert model.metadata.signature is not None
    assert model.metadata.saved_input_example_info is not None
    example = model.input_example
    predicted = model.predict(example)
    assert list(predicted.columns) == ["p10", "p50", "p90"]
    assert (predicted["p10"] <= predicted["p50"]).all()
    assert (predicted["p50"] <= predicted["p90"]).all()


def test_training_errors_are_clear(project: Project) -> None:
    with pytest.raises(UsageError, match="unknown market 'XX'") as info:
        train_market(project, "XX", make=small)
    assert "DE, GB" in (info.value.rule or "")
    with pytest.raises(UsageError, match="unknown model"):
        train_market(project, "GB", models=["prophet"])
    with pytest.raises(DataError, match="too few"):
        train_market(project, "GB", backtest_days=200, make=small)
    from heliograph.core import SnapshotError

    with pytest.raises(SnapshotError, match="unknown snapshot"):
        train_market(project, "GB", snapshots=["energy_prices@000000000000"], make=small)


def test_a_snapshot_failing_its_checks_is_refused(project: Project) -> None:
    data = project.settings.model_dump()
    data["datasets"]["energy_prices"]["checks"] = [
        {"type": "between", "column": "price", "min": 60}
    ]  # most real prices fail this now
    stricter = Project(
        project.root, type(project.settings).model_validate(data), project.config_path
    ).with_clock(project.clock())
    with pytest.raises(DataError, match="failed their checks") as info:
        train_market(stricter, "GB", make=small, backtest_days=7)
    assert "--allow-failed-checks" in (info.value.hint or "")


def test_cli_train_promote_and_ci_report(
    project: Project,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    train_de = (
        "train",
        "energy",
        "--market",
        "DE",
        "--backtest-days",
        "7",  # a weekly block: the report and the verdicts do not need two
        "--models",
        "seasonal_naive,lear",
    )

    def run(*args: str) -> tuple[int, str]:
        with pytest.raises(SystemExit) as info:
            main(["-p", str(project.root), *args])
        out, err = capsys.readouterr()
        return int(info.value.code or 0), out + err

    monkeypatch.setattr("heliograph.apps.energy._train.make_model", small)
    name = model_name("DE")
    code, out = run(*train_de)
    assert code == 0, out
    assert "registered energy-price-DE version 1 as challenger" in out
    code, out = run("ci", "report", "--model", name, "--out", str(tmp_path / "ci"))
    assert code == 0 and "policy would promote" in out
    report = (tmp_path / "ci" / "report.md").read_text()
    assert "| mae |" in report and "![backtest metrics](metrics.png)" in report
    assert (tmp_path / "ci" / "metrics.png").stat().st_size > 1000
    code, out = run("model", "promote", name, "--reason", "first champion")
    assert code == 0 and "version 1 is champion" in out
    # The same models on the same snapshot cannot beat themselves: refused, exit 1.
    code, out = run(*train_de)
    code, out = run("ci", "report", "--model", name, "--out", str(tmp_path / "ci2"))
    assert code == 1 and "policy would refuse" in out
    code, out = run("model", "promote", name)
    assert code == 1 and "refused" in out
    code, out = run("model", "history", name)
    assert "promotion_refused" in out and "first champion" in out


def test_a_retrain_on_newer_data_is_compared_on_its_own_window(tmp_path: Path) -> None:
    """The champion's model is scored on the new window, so weekly retrains can be promoted."""
    project = energy_project(tmp_path, now=datetime(2025, 3, 10, 12, tzinfo=UTC))
    clock = project.clock()
    assert isinstance(clock, FixedClock)
    first = train_market(project, "GB", models=["seasonal_naive"], backtest_days=14)
    registry = Registry(project)
    assert registry.promote(model_name("GB")).accepted
    clock.advance(pd.Timedelta(days=14))  # two weeks later, new data
    ingest(project)
    snapshot(project)
    second = train_market(project, "GB", models=["lear"], backtest_days=14)
    assert second.window != first.window
    decision = registry.evaluate(model_name("GB"))
    assert "windows differ" not in " ".join(decision.reasons)
    assert decision.accepted, decision.reasons  # LEAR beats the naive champion
    rescored = decision.metrics[f"v{first.version}"]["backtest_mae"]
    assert rescored != pytest.approx(first.metrics["seasonal_naive"]["mae"])


def test_cli_reports_progress_and_keeps_names_and_output_clean(
    project: Project, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 8, item 13: a line per model in a pipe, whole names at 80 columns, no MLflow noise."""
    monkeypatch.setattr("heliograph.apps.energy._train.make_model", small)
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)  # a terminal ...
    monkeypatch.setenv("COLUMNS", "80")  # ... 80 columns wide
    with pytest.raises(SystemExit) as info:
        main(["-p", str(project.root), "train", "energy", "--market", "GB",
              "--backtest-days", "7", "--models", "seasonal_naive,lear"])  # fmt: skip
    out, err = capsys.readouterr()
    assert info.value.code in (0, None), out + err
    assert "seasonal_naive" in out and "lear (best)" in out and "…" not in out
    lines = [line for line in err.splitlines() if "energy-price-GB [" in line]
    assert [line.split(": ")[1].split(" ")[0] for line in lines] == [
        "backtesting", "done", "backtesting", "done",
    ]  # fmt: skip
    assert "energy-price-GB [1/2] seasonal_naive: backtesting" in lines[0]
    assert "Successfully registered" not in out + err
    assert "Created version" not in out + err


def test_cli_trains_every_market_without_market(
    project: Project, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 8, item 16: no --market trains each market in the lake, saying which."""
    monkeypatch.setattr("heliograph.apps.energy._train.make_model", small)
    with pytest.raises(SystemExit) as info:
        main(["-p", str(project.root), "train", "energy", "--backtest-days", "7",
              "--models", "seasonal_naive", "--no-register"])  # fmt: skip
    out, err = capsys.readouterr()
    assert info.value.code in (0, None), out + err
    assert "training market DE (1 of 2)" in err and "training market GB (2 of 2)" in err
    assert "DE: backtest" in out and "GB: backtest" in out
