"""Our checks agree with Great Expectations itself on random data with nulls.

We evaluate checks in DuckDB for speed (see heliograph.checks._engine); this test holds that
engine to GE's semantics by running GE's own expectations on the same data.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from heliograph.checks import between, not_null, run_checks, unique

gx = pytest.importorskip("great_expectations", reason="installed with the test extras")


@pytest.fixture(scope="module")
def validate() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        context = gx.get_context(mode="ephemeral")
        source = context.data_sources.add_pandas("conformance")
        batch_definition = source.add_dataframe_asset("frame").add_batch_definition_whole_dataframe(
            "whole"
        )

    def run(frame: pd.DataFrame, expectation: Any) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
            return batch.validate(expectation)

    return run


def random_frames(count: int) -> list[pd.DataFrame]:
    rng = np.random.default_rng(2024)
    frames = []
    for _ in range(count):
        n = int(rng.integers(1, 60))
        x = rng.normal(5, 4, n).round(1)
        x[rng.random(n) < rng.uniform(0, 0.6)] = np.nan
        k = rng.integers(0, n + 3, n).astype(float)
        k[rng.random(n) < 0.1] = np.nan
        frames.append(pd.DataFrame({"x": x, "k": k}))
    return frames


@pytest.mark.parametrize("mostly", [1.0, 0.9, 0.75, 0.5])
def test_between_matches_great_expectations(validate: Any, mostly: float) -> None:
    for frame in random_frames(25):
        expected = validate(
            frame,
            gx.expectations.ExpectColumnValuesToBeBetween(
                column="x", min_value=0, max_value=10, mostly=mostly
            ),
        )
        ours = run_checks(
            pa.table({"p": ["d"] * len(frame), "x": frame["x"]}),
            "p",
            [between("x", 0, 10, mostly=mostly)],
        )["d"][0]
        assert ours.success == expected.success, frame.to_dict("list")
        assert ours.unexpected_count == expected.result.get("unexpected_count", 0)


@pytest.mark.parametrize("mostly", [1.0, 0.8])
def test_not_null_matches_great_expectations(validate: Any, mostly: float) -> None:
    for frame in random_frames(25):
        expected = validate(
            frame, gx.expectations.ExpectColumnValuesToNotBeNull(column="x", mostly=mostly)
        )
        ours = run_checks(
            pa.table({"p": ["d"] * len(frame), "x": frame["x"]}),
            "p",
            [not_null("x", mostly=mostly)],
        )["d"][0]
        assert ours.success == expected.success, frame.to_dict("list")
        assert ours.unexpected_count == expected.result.get("unexpected_count", 0)


def test_unique_matches_great_expectations(validate: Any) -> None:
    for frame in random_frames(25):
        expected = validate(frame, gx.expectations.ExpectColumnValuesToBeUnique(column="k"))
        ours = run_checks(pa.table({"p": ["d"] * len(frame), "k": frame["k"]}), "p", [unique("k")])[
            "d"
        ][0]
        assert ours.success == expected.success, frame.to_dict("list")
        assert ours.unexpected_count == expected.result.get("unexpected_count", 0)
