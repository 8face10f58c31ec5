"""Column positions remembered per index, and what a read's rows lack."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from heliograph.features import InputFreshness, column_positions


def test_positions_follow_each_index_and_name_a_missing_column() -> None:
    one = pd.Index(["a", "b", "c"])
    other = pd.Index(["c", "a", "b"])  # the same names elsewhere: its own positions
    assert column_positions(one, ["c", "a"]).tolist() == [2, 0]
    assert column_positions(other, ["c", "a"]).tolist() == [0, 1]
    assert column_positions(one, ["c", "a"]).tolist() == [2, 0]  # remembered, still right
    with pytest.raises(ValueError, match=r"missing from the frame: \['z'\]"):
        column_positions(one, ["a", "z"])
    assert column_positions(one, ["a", "z"], missing_ok=True).tolist() == [0, -1]


def test_missing_features_are_those_absent_or_without_a_value() -> None:
    rows = pd.DataFrame(
        {"x": [1.0, 2.0], "y": [1.0, np.nan], "when": pd.to_datetime(["2025-01-01", None])}
    )
    state = InputFreshness(datetime(2025, 1, 2, tzinfo=UTC), {}, {}, {})
    assert state.with_missing(rows, ["x", "y", "gone"]).missing == ("gone", "y")
    assert state.with_missing(rows.iloc[:1], ["x", "y", "gone"]).missing == ("gone",)
    assert state.with_missing(rows.iloc[:0], ["x", "gone"]).missing == ("gone",)
