"""Which input columns a service's drift watches: shell patterns, ``!`` excludes."""

from __future__ import annotations

import pytest

from heliograph.monitoring import watched_columns

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
