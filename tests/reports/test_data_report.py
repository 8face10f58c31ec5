"""The data report: flags in words, self-contained HTML, atomic writes."""

from __future__ import annotations

import base64
import os
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from heliograph.core import DataError
from heliograph.reports import build_data_report, write_data_report

NUMERIC = ["price", "load", "wind", "solar"]
SHOWN = ["price", "load"]  # the numeric columns most tests use, to keep them fast
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
AT = datetime(2025, 6, 2, 6, 0, tzinfo=UTC)


def make_data(days: int = 10, periods: int = 24, groups: int = 2, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ts = pd.date_range(
        "2025-05-01", periods=days * periods, freq=pd.Timedelta(days=1) / periods, tz="UTC"
    )
    hours = (ts.hour + ts.minute / 60).to_numpy()
    frames = []
    for g in range(groups):
        n = len(ts)
        frames.append(
            pd.DataFrame(
                {
                    "ts": ts,
                    "market": f"M{g}",
                    "price": 50
                    + 10 * g
                    + 20 * np.sin((hours - 6) / 24 * 2 * np.pi)
                    + rng.normal(0, 5, n),
                    "load": 30_000
                    + 8_000 * np.sin((hours - 8) / 24 * 2 * np.pi)
                    + rng.normal(0, 800, n),
                    "wind": rng.gamma(2.0, 3.0, n),
                    "solar": np.clip(np.sin((hours - 6) / 12 * np.pi), 0, None) * 1000,
                    "source": rng.choice(["entsoe", "elexon", "nordpool"], n),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def split(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The last day as ``latest``, the days before as ``history``."""
    days = frame["ts"].dt.normalize()
    last = days.max()
    return frame[days == last].reset_index(drop=True), frame[days < last].reset_index(drop=True)


def report(latest: pd.DataFrame, history: pd.DataFrame, **kwargs: object) -> str:
    kwargs = {
        "time_column": "ts",
        "latest_label": "date=2025-05-10",
        "group_column": "market",
        "generated_at": AT,
        **kwargs,
    }
    return build_data_report("prices", latest, history, **kwargs)  # type: ignore[arg-type]


def headline(text: str) -> str:
    match = re.search(r'<div class="headline (?:good|bad)">(.*?)</div>', text)
    assert match, "no headline"
    return match.group(1)


def images(text: str) -> list[bytes]:
    return [
        base64.b64decode(b) for b in re.findall(r'<img src="data:image/png;base64,([^"]+)"', text)
    ]


@pytest.fixture(scope="module")
def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two numeric columns (six plots) over ten days, two markets."""
    return split(make_data()[["ts", "market", *SHOWN, "source"]])


@pytest.fixture(scope="module")
def small() -> tuple[pd.DataFrame, pd.DataFrame]:
    """One numeric column over four days: three plots, for tests about everything but plots."""
    return split(make_data(days=4, groups=1)[["ts", "market", "price", "source"]])


def normal_day(history: pd.DataFrame, day: str = "2025-05-05") -> pd.DataFrame:
    """A copy of one history day, each value pulled 10% towards that day's mean, dated a new day.

    Its means equal a history day's and its values lie inside history's range, so nothing is
    unusual by construction.
    """
    latest = history[history["ts"].dt.normalize() == pd.Timestamp(day, tz="UTC")].copy()
    for col in [c for c in NUMERIC if c in latest.columns]:
        mean = latest.groupby("market")[col].transform("mean")
        latest[col] = mean + 0.9 * (latest[col] - mean)
    latest["ts"] = latest["ts"] + (
        history["ts"].max().normalize() + pd.Timedelta(days=1) - pd.Timestamp(day, tz="UTC")
    )
    return latest.reset_index(drop=True)


def long_format(days: int = 8) -> pd.DataFrame:
    """energy_forecasts' shape: three markets x three variables of very different scales."""
    rng = np.random.default_rng(1)
    ts = pd.date_range("2025-05-01", periods=days * 24, freq="1h", tz="UTC")
    hours = ts.hour.to_numpy()
    level = np.repeat(1 + 0.05 * rng.standard_normal(days), 24)  # days differ, as real ones do
    scales = {"demand": 30_000.0, "solar": 3_000.0, "wind": 8_000.0}
    frames = [
        pd.DataFrame(
            {
                "ts": ts,
                "market/variable": f"{market}/{variable}",
                "value": scale * level * (1 + 0.1 * m) * (1.2 + np.sin(hours / 24 * 2 * np.pi))
                + rng.normal(0, scale * 0.02, len(ts)),
            }
        )
        for m, market in enumerate(["GB", "DE", "FR"])
        for variable, scale in scales.items()
    ]
    return pd.concat(frames, ignore_index=True)


def test_report_is_one_self_contained_html_document(frames):
    latest, history = frames
    text = report(latest, history)
    assert text.startswith("<!DOCTYPE html>")
    assert text.rstrip().endswith("</html>")
    pngs = images(text)
    assert len(pngs) == 3 * len(SHOWN)
    assert all(png.startswith(PNG_MAGIC) for png in pngs)
    assert "<script" not in text.lower()
    assert not re.search(r'(src|href)="(?!data:)', text), "no external assets"
    assert "prices" in text and "date=2025-05-10" in text and "2025-06-02 06:00:00" in text


def test_normal_day_says_nothing_unusual(frames):
    _, history = frames
    text = report(normal_day(history), history)
    assert headline(text) == "nothing unusual"
    assert "class='flag'" not in text


def test_shifted_day_is_flagged_in_words_naming_the_column(frames):
    _, history = frames
    latest = normal_day(history)
    latest["price"] += 300
    text = report(latest, history)
    assert headline(text) == "1 column flagged (price)"
    assert re.search(r"mean \d+(\.\d+)? above history&#x27;s daily means [\d.]+–[\d.]+", text)
    assert "max" in text and "above history&#x27;s max" in text


def test_single_outlier_is_flagged_by_max(frames):
    _, history = frames
    latest = normal_day(history)
    latest.loc[7, "load"] = 1e6
    text = report(latest, history)
    assert headline(text) == "1 column flagged (load)"
    assert "max 1,000,000 above history&#x27;s max" in text


def test_null_rate_flag(frames):
    _, history = frames
    latest = normal_day(history)
    latest.loc[latest.index[: len(latest) // 4], "load"] = np.nan
    text = report(latest, history)
    assert "1 column flagged (load)" in headline(text)
    assert "M0: null 50.0% vs history&#x27;s 0.0% (+50.0 points)" in text  # all in M0


def test_new_category_flag(frames):
    _, history = frames
    latest = normal_day(history)
    latest.loc[:2, "source"] = "scraper"
    text = report(latest, history)
    assert headline(text) == "1 column flagged (source)"
    assert "1 new category never seen in history: &#x27;scraper&#x27; (3 rows)" in text


def test_missing_rows_are_flagged(frames):
    _, history = frames
    text = report(normal_day(history).iloc[::2], history)
    assert "rows vs history&#x27;s median of 48 rows per day" in headline(text)


def test_empty_latest_says_there_is_no_data(small):
    _, history = small
    text = report(history.iloc[:0], history)
    assert text.startswith("<!DOCTYPE html>")
    assert headline(text) == "no data: the latest partition date=2025-05-10 has no rows"
    assert "Numeric columns" not in text
    assert images(text) == []
    assert report(pd.DataFrame(), pd.DataFrame()).startswith("<!DOCTYPE html>")


def test_empty_history_is_said_not_failed(frames, small):
    latest, history = frames
    text = report(latest, history.iloc[:0])
    assert headline(text) == "no history to compare against"
    assert len(images(text)) == 3 * len(SHOWN)
    text = report(small[0], pd.DataFrame(), group_column=None)
    assert headline(text) == "no history to compare against"


def test_every_value_is_escaped(frames):
    _, history = frames
    evil = '<script>alert("x")</script>$x$'
    history = history.rename(columns={"price": evil})
    latest = normal_day(history.rename(columns={evil: "price"})).rename(columns={"price": evil})
    latest.loc[0, "source"] = "<img src=x onerror=alert(1)>"
    latest["market"] = latest["market"] + "$<em>$"
    text = build_data_report(
        "<i>prices</i>",
        latest,
        history,
        time_column="ts",
        latest_label="date=<u>",
        group_column="market",
        generated_at=AT,
    )
    assert "<script" not in text and "<img src=x" not in text
    assert "<i>" not in text and "<u>" not in text and "<em>" not in text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;$x$" in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text
    assert len(images(text)) == 3 * len(SHOWN)  # "$" in a legend does not break matplotlib


def test_check_results_are_rendered(frames):
    _, history = frames
    results = [
        {
            "check": "between(price, -500, 4000, mostly=0.99)",
            "success": True,
            "element_count": 48,
            "unexpected_count": 0,
            "unexpected_percent": 0.0,
            "mostly": 0.99,
            "examples": [],
        },
        {
            "check": "not_null(load)",
            "success": False,
            "element_count": 48,
            "unexpected_count": 3,
            "unexpected_percent": 6.25,
            "mostly": None,
            "examples": [None, "<x>"],
        },
    ]
    text = report(normal_day(history), history, check_results=results)
    assert "<h2>Checks</h2>" in text
    assert '<td class="pass">pass</td>' in text and '<td class="fail">FAIL</td>' in text
    assert "6.25%" in text and "(null), &lt;x&gt;" in text
    assert headline(text) == "1 of 2 checks failed"


def test_a_failed_warn_check_is_called_a_warning(frames):
    """Issue 8 item 10: the headline said "1 of 5 checks failed" for a check of severity warn."""
    _, history = frames
    results = [
        {"check": "not_null(price)", "success": True, "severity": "error"},
        {"check": "distribution(price)", "success": False, "severity": "warn", "mostly": None},
    ]
    text = report(normal_day(history), history, check_results=results)
    assert headline(text) == "1 of 2 checks warned (severity warn, data kept: distribution(price))"
    assert '<td class="fail">WARN</td>' in text


def test_groups_beyond_twelve_are_capped_and_said():
    latest, history = split(make_data(days=3, groups=14)[["ts", "market", "price"]])
    text = report(latest, history)
    assert "Showing the 12 largest of 14 groups" in text
    assert "14 groups (the 12 largest are shown)" in text


def test_a_shift_in_one_variable_of_a_long_dataset_is_flagged_per_group():
    """Issue 8 item 14: demand, solar and wind were pooled into one "value" summary, the
    overview said "grouped by group" and the ninth group was dropped from the plots."""
    latest, history = split(long_format())
    latest = latest.copy()
    solar = latest["market/variable"] == "DE/solar"
    latest.loc[solar, "value"] *= 1.5  # a shift in one of nine series, hidden when pooled
    text = report(latest, history, group_column="market/variable")
    assert headline(text) == "1 column flagged (value)"
    flags = re.findall(
        r"<li>([^<]*)</li>", "".join(re.findall(r'<ul class="flags">.*?</ul>', text))
    )
    assert flags and all(f.startswith("DE/solar: ") for f in flags), flags
    assert "grouped by market/variable: 9 groups" in text
    for group in ("GB", "DE", "FR"):
        for variable in ("demand", "solar", "wind"):
            assert f'<td class="l" rowspan="2">{group}/{variable}</td>' in text
    assert "Showing the" not in text  # no group is left out
    assert len(images(text)) == 3


def test_time_column_must_exist(small):
    latest, history = small
    with pytest.raises(DataError, match="time_column 'when'"):
        report(latest, history, time_column="when")


def test_write_creates_parents_and_matches_build(small, tmp_path: Path):
    latest, history = small
    target = tmp_path / "a" / "b" / "report.html"
    out = write_data_report(
        target,
        "prices",
        latest,
        history,
        time_column="ts",
        latest_label="date=2025-05-10",
        generated_at=AT,
    )
    assert out == target
    expected = build_data_report(
        "prices", latest, history, time_column="ts", latest_label="date=2025-05-10", generated_at=AT
    )
    assert target.read_text(encoding="utf-8") == expected
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]


def test_write_is_atomic(small, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    latest, history = small
    target = tmp_path / "reports" / "report.html"

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)  # the text is half on disk by now
    with pytest.raises(OSError, match="No space"):
        write_data_report(
            target, "prices", latest, history, time_column="ts", latest_label="date=2025-05-10"
        )
    assert not target.exists()
    assert list(target.parent.iterdir()) == []  # no temporary file left behind

    monkeypatch.undo()
    target.write_text("yesterday's report", encoding="utf-8")
    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError):
        write_data_report(
            target, "prices", latest, history, time_column="ts", latest_label="date=2025-05-10"
        )
    assert target.read_text(encoding="utf-8") == "yesterday's report"


def test_thirty_days_render_fast_and_small():
    latest, history = split(make_data(days=31, periods=48, groups=3, seed=3))
    start = time.perf_counter()
    text = report(latest, history)
    elapsed = time.perf_counter() - start
    assert len(images(text)) == 3 * len(NUMERIC)
    assert len(text.encode()) < 2_000_000
    assert elapsed < 10, f"took {elapsed:.1f}s"
