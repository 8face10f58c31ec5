"""The recommender in a project: `helio init --app recsys`, the data pipeline, and
`helio lake ingest FILE --format movielens` quarantining malformed lines."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from heliograph.cli import main
from heliograph.core import FixedClock, Project, init_project, load_app
from heliograph.jobs import ingest_file, run_pipeline
from heliograph.lake import open_lake


def _project(tmp_path: Path) -> Project:
    config = load_app("recsys").config.replace('end = "2024-12-31"', 'end = "2024-01-20"')
    config = config.replace("seed = 7", "seed = 7\nusers = 80\nitems = 100")
    return init_project(tmp_path, extra=config).with_clock(
        FixedClock(datetime(2024, 1, 10, 12, tzinfo=UTC))
    )


def test_the_pipeline_releases_simulated_reviews_up_to_now(tmp_path: Path) -> None:
    project = _project(tmp_path)
    done = run_pipeline(project)
    assert done["ingest"].ok, done["ingest"].summary()
    reviews = open_lake(project).read("recsys_reviews")
    assert reviews["available_at"].max() <= datetime(2024, 1, 10, 12, tzinfo=UTC)
    assert reviews["timestamp"].dt.day.nunique() == 10
    assert {s.dataset for s in done["snapshots"]} == {"recsys_reviews", "recsys_items"}


def test_ingesting_a_movielens_file_quarantines_its_bad_lines(tmp_path: Path) -> None:
    project = _project(tmp_path)
    path = tmp_path / "u.data"
    path.write_text("196\t242\t3\t881250949\n186\t302\tx\t891717742\n22\t377\t1\t878887116\n")
    outcome = ingest_file(project, [path], format="movielens", dataset=None)
    assert not outcome.ok
    assert "1 quarantined" in outcome.summary() and "2 written" in outcome.summary()
    (entry,) = open_lake(project).quarantined("recsys_reviews")
    assert entry.failed[0].examples[0] == {
        "line": 2,
        "field": "rating",
        "rule": "a number from 0.5 to 5",
        "text": "186\t302\tx\t891717742",
    }


def test_the_cli_reports_the_quarantined_line(tmp_path: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _project(tmp_path)
    path = tmp_path / "ratings.csv"
    path.write_text("A1,B1,5.0,1365811200\nA2,B2,5.0\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as done:  # data failed its checks: exit code 1
        main(["lake", "ingest", str(path), "--format", "amazon-csv"])
    assert done.value.code == 1
    printed = capsys.readouterr()
    assert "quarantined recsys_reviews/unparsed/" in printed.out + printed.err


def test_it_runs_alone_or_beside_energy_by_configuration(tmp_path: Path) -> None:
    from heliograph.jobs import online_views

    energy, recsys = load_app("energy"), load_app("recsys")
    alone = init_project(tmp_path / "alone", extra=recsys.config)
    assert {v.ref for v in online_views(alone)} == {
        "recsys_user_features@1",
        "recsys_item_features@1",
    }
    both = init_project(tmp_path / "both", extra=energy.config + recsys.config)
    refs = {v.ref for v in online_views(both)}
    assert {"recsys_user_features@1", "recsys_item_features@1"} < refs  # and energy's
    assert {s.type for s in both.settings.sources} == {"energy-simulator", "recsys-simulator"}
    assert set(recsys.datasets) | set(energy.datasets) <= set(both.settings.datasets)
    assert [s.name for s in recsys.services()] == ["recommendations"]
