"""Predictions found by record or request id, and counted per version, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from heliograph.ledger import (
    PredictionRecord,
    PredictionWriter,
    find_predictions,
    predictions_per_version,
)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    return str(request.getfixturevalue("postgres_url"))


def test_found_by_either_id_and_counted_per_version(url: str, tmp_path: Path) -> None:
    records = [
        PredictionRecord("price", "gb", v, "champion", f"req-{i}", "h", {"p": i}, 1.0)
        for i, v in enumerate(["1", "1", "2", "2", "2"])
    ]
    shadow = PredictionRecord("price", "gb", "3", "challenger", "req-4", "h", {"p": 9}, 1.0)
    with PredictionWriter(url, tmp_path / "spool") as writer:
        for record in [*records, shadow]:
            writer.submit(record)

    (by_record,) = find_predictions(url, records[2].record_id)
    assert by_record.model_version == "2" and by_record.outputs == {"p": 2}
    both = find_predictions(url, "req-4")  # a request answered by champion and challenger
    assert sorted(r.role for r in both) == ["challenger", "champion"]
    assert find_predictions(url, "no-such-id") == []

    counts = predictions_per_version(url, [("gb", "1"), ("gb", "2"), ("gb", "3"), ("de", "1")])
    assert counts == {("de", "1"): 0, ("gb", "1"): 2, ("gb", "2"): 3, ("gb", "3"): 1}
    assert predictions_per_version(url, []) == {}
