"""Which input columns a service's drift watches: shell patterns, ``!`` excludes."""

from __future__ import annotations

import pytest

from heliograph.monitoring import unmatched_patterns, watched_columns

COLUMNS = ["price_lag_1d", "price_lag_7d", "doy", "hour", "prediction"]


@pytest.mark.parametrize(
    ("patterns", "watched"),
    [
        (None, COLUMNS),
        ([], COLUMNS),
        (["price_lag_*", "prediction"], ["price_lag_1d", "price_lag_7d", "prediction"]),
        (["price_lag_*", "!price_lag_7d"], ["price_lag_1d"]),  # the last match decides
        (["!price_lag_7d", "price_lag_*"], COLUMNS),  # from every column; re-included
        (["!doy", "!hour"], ["price_lag_1d", "price_lag_7d", "prediction"]),  # all but these
        (["price_lags_*"], []),  # a pattern matching nothing watches nothing
    ],
)
def test_patterns_choose_the_watched_columns(
    patterns: list[str] | None, watched: list[str]
) -> None:
    assert watched_columns(COLUMNS, patterns) == watched


def test_an_including_pattern_that_matches_no_column_is_named() -> None:
    assert unmatched_patterns(COLUMNS, ["price_lags_*", "!doy", "!nothing", "hour"]) == [
        "price_lags_*"
    ]  # an exclusion that matches nothing excludes nothing: no harm, not named
    assert unmatched_patterns(COLUMNS, None) == [] and unmatched_patterns([], ["*"]) == ["*"]
