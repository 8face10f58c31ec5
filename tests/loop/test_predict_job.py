"""The predict job: a service's scheduled question, champion and challenger, recorded once."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pydantic import BaseModel

from heliograph.core import FixedClock, init_project
from heliograph.jobs import predict_services, promote_on_evidence
from heliograph.lake import open_lake
from heliograph.ledger import Ledger, count_predictions, read_predictions
from heliograph.serving import ServiceContext
from heliograph.training import train

from ..apps.tiny.app import AHEAD, CONFIG, PIPELINE, LoadForecast, LoadRequest, readings

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:mlflow.*")


class ScheduledLoad(LoadForecast):
    """The tiny service, asked every run for the hour that is ``AHEAD`` of now."""

    def scheduled(self, context: ServiceContext, now: datetime) -> Sequence[BaseModel]:
        return [LoadRequest(timestamp=now + AHEAD)]


def test_predict_records_champion_and_challenger_once_per_interval(tmp_path: Path) -> None:
    now = datetime(2025, 1, 30, tzinfo=UTC)
    project = init_project(tmp_path / "tiny", extra=CONFIG).with_clock(FixedClock(now))
    open_lake(project).ingest("meter_readings", readings(days=31), origin="generated")
    service = ScheduledLoad()

    nothing = predict_services(project, [service])
    assert nothing.predictions == 0 and "no champion" in nothing.summary()

    train(project, PIPELINE, candidates=["yesterday"], backtest_days=7, train_days=21)
    promote_on_evidence(project, [])  # v1: the first champion
    train(project, PIPELINE, backtest_days=7, train_days=21)  # v2: the challenger

    first = predict_services(project, [service])
    assert (first.predictions, first.questions) == (2, 1)
    records = read_predictions(project.ledger_url)
    assert sorted((r.model_version, r.role) for r in records) == [
        ("1", "champion"),
        ("2", "challenger"),
    ]
    for r in records:
        assert r.as_of == now and r.target_start == now + AHEAD  # the question as of the run
        assert r.at == now and len(r.outputs["load"]) == 1

    again = predict_services(project, [service])  # the same interval, run again
    assert again.predictions == 2  # answered again, but the ledger keeps the first answers
    assert count_predictions(project.ledger_url) == 2

    later = copy.copy(project).with_clock(FixedClock(now + timedelta(minutes=30)))
    predict_services(later, [service])
    assert count_predictions(project.ledger_url) == 4
    stamps: Any = pd.Series([r.as_of for r in read_predictions(project.ledger_url)])
    assert sorted(set(stamps)) == [now, now + timedelta(minutes=30)]

    # a run caught up for a time before the retrain that registered the challenger: it was
    # trained on what the question asks about, so only the champion answers
    Ledger(project.ledger_url).record(
        "retrained",
        "job:retrain",
        "retrained: meter-load v2",
        details={"scheduled_for": (now + timedelta(hours=2)).isoformat(),
                 "versions": {"meter-load": "2"}},
    )  # fmt: skip
    earlier = copy.copy(project).with_clock(FixedClock(now + timedelta(hours=1)))
    caught_up = predict_services(earlier, [service])
    assert (caught_up.predictions, caught_up.questions) == (1, 1)
