"""`helio train recsys`: snapshots → checks → time-based split → MLflow with lineage →
registration, the ALS index stored as the version's artefact, the champion re-scored."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pandas as pd
import pytest

from heliograph.apps.recsys import MODEL_NAME, ItemIndex, train_recommender, user_key
from heliograph.lake import open_lake
from heliograph.registry import CHALLENGER, CHAMPION, Registry
from heliograph.tracking import mlflow_client
from tests.apps.recsys.conftest import POLICY, Shop

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:mlflow.*")


def test_training_logs_ranking_metrics_with_lineage_and_registers_the_best(shop: Shop) -> None:
    project, outcome = shop.project, shop.outcome
    assert set(outcome.metrics) == {"popularity", "ease", "als"}
    assert outcome.window == "2024-01-26..2024-02-01"  # the last 7 days of reviews
    for metrics in outcome.metrics.values():
        assert {"hr_at_10", "ndcg_at_10", "coverage", "diversity"} <= set(metrics)
    best = max(outcome.metrics, key=lambda m: outcome.metrics[m]["ndcg_at_10"])
    assert outcome.best == best != "popularity"
    pop, model = outcome.metrics["popularity"], outcome.metrics[best]
    assert model["ndcg_at_10"] > pop["ndcg_at_10"] and model["coverage"] > pop["coverage"]

    client = mlflow_client(project)
    run = client.get_run(outcome.runs["als"])
    tags = run.data.tags
    assert tags["helio.snapshots"] == ",".join(outcome.snapshots)
    assert {s.split("@")[0] for s in outcome.snapshots} == {"recsys_reviews", "recsys_items"}
    assert tags["helio.checks.passed"] == "true"
    assert json.loads(tags["helio.checks"])["recsys_reviews"]["failed"] == {}
    assert tags["helio.feature_view"] == "recsys_time_split@1"
    assert tags["helio.backtest.window"] == outcome.window
    assert run.data.metrics["backtest_ndcg_at_10"] == pytest.approx(
        outcome.metrics["als"]["ndcg_at_10"]
    )
    assert run.data.metrics["ann_recall_at_10"] >= 0.95
    assert run.data.params["model.factors"] == "64"
    registered = Registry(project).history(MODEL_NAME)
    assert any(e.kind == "model_registered" for e in registered)


def test_the_als_version_carries_its_index_and_answers_candidates(shop: Shop) -> None:
    project, outcome = shop.project, shop.outcome
    mlflow.set_tracking_uri(project.tracking_uri)
    folder = Path(mlflow.artifacts.download_artifacts(artifact_uri=outcome.model_uris["als"]))
    index = ItemIndex.load(folder / "artifacts" / "index")
    assert len(index.items) > 100
    model = mlflow.pyfunc.load_model(outcome.model_uris["als"])
    assert model.unwrap_python_model().index is not None  # read from the artefact
    known = str(open_lake(project).read("recsys_reviews")["user"].iloc[0])
    answer = model.predict(pd.DataFrame({"user_key": [user_key(known), 1.0], "n": [20.0, 20.0]}))
    assert answer["known"].tolist() == [1.0, 0.0]
    items = json.loads(answer["items"].iloc[0])
    assert len(items) == 20 and set(items) <= set(index.items.tolist())
    assert json.loads(answer["items"].iloc[1]) == []  # nobody the model knows: cold start


def test_a_second_training_rescores_the_champion_on_its_window(shop: Shop) -> None:
    project, first = shop.project, shop.outcome
    registry = Registry(project)
    assert registry.aliases(MODEL_NAME)[CHAMPION] == first.version
    again = train_recommender(project, test_days=5, models=["popularity", "ease"])
    assert again.window == "2024-01-28..2024-02-01" != first.window
    client = mlflow_client(project)
    experiment = client.get_experiment_by_name(f"{project.settings.project.name}/{MODEL_NAME}")
    rescored = client.search_runs(
        [experiment.experiment_id],
        filter_string=f"tags.`helio.rescores` = '{MODEL_NAME}/{first.version}'",
    )
    assert len(rescored) == 1
    assert rescored[0].data.tags["helio.backtest.window"] == again.window
    assert 0 < rescored[0].data.metrics["backtest_ndcg_at_10"] <= 1
    decision = registry.evaluate(MODEL_NAME, policy=POLICY)
    assert decision.baseline_run == rescored[0].info.run_id  # like compared with like
    assert registry.aliases(MODEL_NAME)[CHAMPION] == first.version
    assert registry.aliases(MODEL_NAME)[CHALLENGER] == again.version


def test_helio_train_recsys_prints_the_metrics_and_lineage(shop: Shop, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from heliograph.cli import main

    monkeypatch.chdir(shop.project.root)
    with pytest.raises(SystemExit) as done:
        main(["train", "recsys", "--models", "popularity", "--test-days", "7", "--no-register"])
    assert done.value.code in (0, None)
    printed = capsys.readouterr().out
    assert "test window 2024-01-26..2024-02-01" in printed
    assert "popularity (best): HR@10 " in printed and "lineage: recsys_" in printed
