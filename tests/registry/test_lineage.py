"""Lineage and data incidents on the tiny app: train, predict, trace, retract, retrain."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from heliograph.cli import main
from heliograph.core import DataError, FixedClock, Project, init_project
from heliograph.lake import list_snapshots, open_lake, take_snapshot
from heliograph.ledger import Ledger, PredictionRecord, PredictionWriter
from heliograph.registry import Registry
from heliograph.training import train
from tests.apps.tiny.app import CONFIG, PIPELINE, readings

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:mlflow.*")
T0 = datetime(2025, 3, 1, tzinfo=UTC)


def helio(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def _at(project: Project, days: int) -> Project:
    return project.with_clock(FixedClock(T0 + timedelta(days=days)))


def _git(root: Path) -> str:
    run = {"cwd": root, "check": True, "capture_output": True, "text": True}
    subprocess.run(["git", "init", "-q"], **run)  # type: ignore[call-overload]
    subprocess.run(["git", "add", "-A"], **run)  # type: ignore[call-overload]
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qm", "tiny"],
        **run,  # type: ignore[call-overload]
    )
    head = subprocess.run(["git", "rev-parse", "HEAD"], **run)  # type: ignore[call-overload]
    return str(head.stdout.strip())


def _predict(project: Project, version: str, n: int) -> list[str]:
    records = [
        PredictionRecord(
            "meter-load",
            "meter-load",
            version,
            "champion",
            f"req-{version}-{i}",
            "h",
            {"load": 100.0 + i},
            1.0,
        )
        for i in range(n)
    ]
    with PredictionWriter(project.ledger_url, project.state_dir / "spool") as writer:
        for record in records:
            writer.submit(record)
    return [r.record_id for r in records]


def test_a_prediction_traces_to_its_data_and_a_retraction_reaches_its_users(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _at(init_project(tmp_path / "tiny", extra=CONFIG), 0)
    data = readings(days=42)
    open_lake(project).ingest("meter_readings", data.iloc[: 24 * 40], origin="first")
    first = take_snapshot(open_lake(project), "meter_readings").id
    train(_at(project, 0), PIPELINE, backtest_days=7, train_days=28)
    open_lake(_at(project, 1)).ingest("meter_readings", data.iloc[24 * 40 :], origin="second")
    second = take_snapshot(open_lake(_at(project, 1)), "meter_readings").id
    commit = _git(project.root)
    outcome = train(_at(project, 1), PIPELINE, backtest_days=7, train_days=28)
    assert outcome.snapshots == [second] and outcome.version == "2"
    Registry(project).promote("meter-load", reason="test", force=True)
    ids = _predict(project, "2", 3)
    _predict(project, "1", 2)
    p = str(project.root)

    # backwards: a prediction → version → run → snapshots, checks, commit, environment,
    # from the ledger and the lake alone (the tracking store moved away)
    store = project.state_dir / "mlflow.db"
    store.rename(store.with_suffix(".away"))
    code, out, err = helio(capsys, "-p", p, "lineage", ids[0], "--json", "--ledger-only")
    assert code == 0, err
    found = json.loads(out)
    assert found["version"]["model"] == "meter-load" and found["version"]["version"] == "2"
    assert found["version"]["run_id"] == outcome.runs[outcome.best]
    assert found["version"]["commit"] == commit
    assert found["version"]["aliases"] == ["champion"] and found["version"]["predictions"] == 3
    assert "pandas" in found["version"]["environment"]
    assert [s["id"] for s in found["snapshots"]] == [second]
    assert found["snapshots"][0]["checks"]["failed"] == {}
    code, out, _ = helio(capsys, "-p", p, "lineage", "req-2-1", "--ledger-only")
    assert code == 0 and commit in out and second in out
    assert max(len(line) for line in out.splitlines()) <= 80
    store.with_suffix(".away").rename(store)

    # forwards: the first snapshot was read by both versions (v2's snapshot holds its files)
    code, out, err = helio(capsys, "-p", p, "lineage", first, "--json")
    assert code == 0, err
    used = json.loads(out)
    assert [v["version"] for v in used["versions"]] == ["1"] and used["predictions"] == 2
    assert len(used["runs"]) == 2 and used["complete"]  # v1's two candidates

    # a data incident: the second snapshot is retracted
    code, out, err = helio(
        capsys, "-p", p, "lake", "retract", second, "--reason", "meter double-counted"
    )
    assert code == 0, err
    assert "meter-load v2, holds champion: 3 predictions" in out
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "meter_readings/date=2025-02-10" in out and "meter_readings/date=2025-02-11" in out
    code, out, _ = helio(capsys, "-p", p, "lake", "snapshots", "meter_readings")
    assert code == 0 and "retracted" in out
    rows = {line.split()[1]: line for line in out.splitlines() if "meter_readings@" in line}
    assert "yes" in rows[second] and "yes" not in rows[first]
    event = Ledger(project.ledger_url).events(kind="snapshot_retracted")[0]
    assert event.subject == second and event.reason == "meter double-counted"
    assert event.details["predictions"] == 3 and event.actor

    # training refuses the retracted snapshot and, left to itself, trains without it
    with pytest.raises(DataError) as refused:
        train(_at(project, 2), PIPELINE, snapshots=[second], backtest_days=7, register=False)
    assert refused.value.field == "--snapshot"
    again = train(_at(project, 2), PIPELINE, backtest_days=7, train_days=28, register=False)
    (chosen,) = again.snapshots
    assert chosen not in (second,)
    snap = {s.id: s for s in list_snapshots(open_lake(project))}[chosen]
    assert "date=2025-02-10" not in snap.partitions
    assert pd.Timestamp(snap.partitions[-1][5:]) == pd.Timestamp("2025-02-09")


def test_bad_ids_are_exit_2_naming_the_argument(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = init_project(tmp_path / "tiny", extra=CONFIG)
    open_lake(project).ingest("meter_readings", readings(days=3), origin="first")
    p = str(project.root)
    code, _, err = helio(capsys, "-p", p, "lineage", "no-such-prediction")
    assert code == 2 and "ID" in err and "record id" in err
    code, _, err = helio(capsys, "-p", p, "lineage", "meter_readings@000000000000")
    assert code == 2 and "ID" in err and "unknown snapshot" in err
    code, _, err = helio(capsys, "-p", p, "lake", "retract", "meter_readings@00", "--reason", "x")
    assert code == 2 and "SNAPSHOT" in err
    code, _, err = helio(capsys, "-p", p, "lake", "retract", "meter_readings/date=2025-01-01")
    assert code == 2 and "--reason" in err
    code, _, err = helio(
        capsys, "-p", p, "lake", "retract", "meter_readings/date=1999-01-01", "--reason", "x"
    )
    assert code == 2 and "SNAPSHOT" in err and "no partition" in err
