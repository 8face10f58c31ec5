"""A declared pipeline: its names, its candidates, the inputs it gives the models."""

from __future__ import annotations

import pandas as pd
import pytest

from heliograph.core import UsageError
from heliograph.training import Candidate, TrainingPipeline


class Mean:
    def fit(self, frame: pd.DataFrame) -> Mean:
        self.mean = float(frame["target"].mean())
        return self

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"value": self.mean}, index=frame.index)


def pipeline(**changes: object) -> TrainingPipeline:
    declared: dict[str, object] = {
        "name": "demand",
        "feature_view": None,
        "requests": lambda lake, snapshots, subject: pd.DataFrame(),
        "candidates": [Candidate("mean", Mean), Candidate("mean2", Mean)],
        "metrics": lambda predictions, features: {},
        "keys": ("site",),
        **changes,
    }
    return TrainingPipeline(**declared)  # type: ignore[arg-type]


def test_the_registered_name_is_the_pipeline_s_and_the_subject_s() -> None:
    assert pipeline().model_name() == "demand"
    assert pipeline().model_name("north") == "demand-north"


def test_an_unknown_candidate_names_the_known_ones() -> None:
    with pytest.raises(UsageError, match="unknown model 'ridge'") as info:
        pipeline().candidate("ridge")
    assert info.value.field == "--models" and info.value.rule == "any of mean, mean2"
    assert pipeline().candidate("mean2").name == "mean2"


def test_the_inputs_are_the_numeric_columns_but_keys_times_and_label() -> None:
    stamps = pd.date_range("2025-01-01", periods=2, freq="h", tz="UTC")
    features = pd.DataFrame(
        {
            "site": ["a", "b"],
            "timestamp": stamps,
            "as_of": stamps,
            "target": [1.0, 2.0],
            "target_available_at": stamps,
            "code": [1, 2],
            "label": ["x", "y"],
            "lag": [0.5, 0.6],
        }
    )
    assert pipeline().inputs(features) == ["code", "lag"]
    chosen = pipeline(feature_columns=lambda frame: ["lag"])
    assert chosen.inputs(features) == ["lag"]
