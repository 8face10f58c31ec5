"""Live HR@k: a recommendation is a hit when the user later interacted with one of its first
k items within the horizon; not judged (pending, never a miss) before the horizon passes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from heliograph.monitoring import hit_rate

T0 = datetime(2024, 3, 1, tzinfo=UTC)
WEEK = timedelta(days=7)


def _recommendations() -> pd.DataFrame:
    rows = [  # version 1: a hit, a miss (reviewed too late), one judged on its 3rd item
        ("1", "a", T0, ["i1", "i2", "i3"]),
        ("1", "b", T0, ["i1", "i2", "i3"]),
        ("1", "c", T0, ["i1", "i2", "i3"]),
        ("2", "a", T0 + timedelta(days=5), ["i9"]),  # pending at T0 + 8 days
    ]
    frame = pd.DataFrame(rows, columns=["model_version", "user", "at", "items"])
    return frame.assign(model_name="rec", role="champion")


def _interactions() -> pd.DataFrame:
    rows = [
        ("a", "i2", T0 + timedelta(days=1)),  # in the week after: a hit
        ("a", "i9", T0 - timedelta(days=1)),  # before the recommendation: not an actual
        ("b", "i1", T0 + timedelta(days=9)),  # after the horizon: a miss
        ("c", "i3", T0 + timedelta(days=2)),  # the third item: a hit at k=3, not at k=2
    ]
    return pd.DataFrame(rows, columns=["user", "item", "timestamp"])


def test_hits_misses_and_pending_per_version() -> None:
    now = T0 + timedelta(days=8)
    out = hit_rate(_recommendations(), _interactions(), k=3, horizon=WEEK, now=now)
    one, two = (out[out["model_version"] == v].iloc[0] for v in ("1", "2"))
    assert (one["count"], one["judged"], one["hits"]) == (3, 3, 2)
    assert one["hr_at_3"] == pytest.approx(2 / 3)
    assert (two["judged"], two["pending"]) == (0, 1) and pd.isna(two["hr_at_3"])
    at_two = hit_rate(_recommendations(), _interactions(), k=2, horizon=WEEK, now=now)
    assert at_two.loc[at_two["model_version"] == "1", "hr_at_2"].iloc[0] == pytest.approx(1 / 3)


def test_missing_columns_are_named() -> None:
    with pytest.raises(ValueError, match="items"):
        hit_rate(
            _recommendations().drop(columns="items"), _interactions(), k=3, horizon=WEEK, now=T0
        )
