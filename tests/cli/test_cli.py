"""`helio` as a person uses it: exit codes and messages, never a stack trace."""

from __future__ import annotations

from pathlib import Path

import pytest

from heliograph.cli import main
from heliograph.core import load_app
from tests.conftest import SHARED_DATA

SMALL_ENERGY = load_app("energy").config.replace('start = "2024-01-01"', 'start = "2025-05-20"')


def helio(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


@pytest.fixture
def energy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    code, out, _ = helio(capsys, "init", str(tmp_path / "demo"), "--app", "energy")
    assert code == 0 and "created" in out
    config = tmp_path / "demo" / "helio.toml"
    text = config.read_text()
    start = text.index("# --- energy reference system")
    config.write_text(text[:start] + SMALL_ENERGY)
    return tmp_path / "demo"


def test_up_then_look_around(
    energy: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The demo's replay clock runs an hour a second, so on a loaded machine the freshness
    # check (2 days) would fail by `check run`: a slower clock keeps this test about looking.
    monkeypatch.setenv("HELIO_CLOCK__SPEED", "60")
    p = str(energy)
    code, out, err = helio(capsys, "-p", p, "up", "--once")
    assert code == 0, err
    assert "energy_prices:" in out and "snapshot energy_prices@" in out and "report " in out

    code, out, _ = helio(capsys, "-p", p, "lake", "ls")
    assert code == 0 and "energy_forecasts" in out

    code, out, _ = helio(capsys, "-p", p, "lake", "show", "energy_prices")
    assert "between(price, -500, 4000, mostly=0.99)" in out and "market: string" in out

    code, out, _ = helio(
        capsys,
        "-p",
        p,
        "lake",
        "query",
        "SELECT market, count(*) AS n FROM energy_prices GROUP BY 1 ORDER BY 1",
        "--csv",
    )
    lines = out.strip().splitlines()
    assert lines[0] == "market,n" and [line.split(",")[0] for line in lines[1:]] == [
        "DE",
        "FR",
        "GB",
    ]

    code, out, _ = helio(capsys, "-p", p, "lake", "snapshot", "energy_prices")
    snap_id = out.splitlines()[0]
    assert code == 0 and snap_id.startswith("energy_prices@")
    code, out, _ = helio(capsys, "-p", p, "lake", "snapshots", "energy_prices")
    assert snap_id in out

    code, out, _ = helio(capsys, "-p", p, "status")
    assert code == 0 and "snapshot_taken" in out

    code, out, _ = helio(capsys, "-p", p, "events", "--kind", "snapshot_taken")
    assert "energy_prices@" in out

    code, out, _ = helio(capsys, "-p", p, "check", "run")
    assert code == 0 and "energy_prices:" in out

    code, out, _ = helio(
        capsys, "-p", p, "report", "data", "energy_prices", "--out", str(energy / "out")
    )
    assert code == 0 and list((energy / "out" / "energy_prices").glob("*.html"))


def test_config_show_reports_overrides(
    energy: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HELIO_LEDGER__URL", "sqlite:////tmp/elsewhere.db")
    code, out, _ = helio(capsys, "-p", str(energy), "config", "show")
    assert code == 0
    line = next(row for row in out.splitlines() if row.startswith("# overridden by environment:"))
    assert "ledger.url" in line.split(":", 1)[1].replace(" ", "").split(",")
    assert 'url = "sqlite:////tmp/elsewhere.db"' in out
    assert "[datasets.energy_prices]" in out


def test_ingest_a_bad_file_is_exit_2_naming_file_and_rule(
    energy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = energy / "bad.csv"
    bad.write_text("market,timestamp,price,available_at\nGB,2025-01-01T00:00Z,abc,2024-12-31\n")
    code, out, err = helio(
        capsys, "-p", str(energy), "lake", "ingest", str(bad), "--dataset", "energy_prices"
    )
    assert code == 1  # the rows are kept in quarantine, the command says so
    assert "quarantined" in out and "values of price are not double" in out
    code, out, err = helio(capsys, "-p", str(energy), "check", "report", "energy_prices")
    assert "quarantined energy_prices/unpartitioned/part-" in out
    entry = out.split("quarantined ")[1].split(" ")[0]
    code, out, _ = helio(capsys, "-p", str(energy), "check", "report", "--id", entry)
    assert code == 0 and "value is double" in out

    code, _, err = helio(
        capsys,
        "-p",
        str(energy),
        "lake",
        "ingest",
        str(energy / "nope.csv"),
        "--dataset",
        "energy_prices",
    )
    assert code == 2 and "no such file" in err and "Traceback" not in err


def test_errors_are_sentences_with_exit_2(
    energy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = helio(capsys, "-p", str(energy), "lake", "show", "energy_price")
    assert code == 2 and "unknown dataset 'energy_price'" in err and "energy_prices" in err
    code, _, err = helio(capsys, "-p", str(tmp_path / "nowhere"), "status")
    assert code == 2 and "not a heliograph project" in err
    code, _, err = helio(capsys, "-p", str(energy), "job", "run", "ingets")
    assert code == 2 and "unknown job" in err
    code, _, err = helio(capsys, "-p", str(energy), "lake", "query", "SELEC 1")
    assert code == 2 and "query failed" in err
    (energy / "helio.toml").write_text("[lake]\npth = 'x'\n")
    code, _, err = helio(capsys, "-p", str(energy), "status")
    assert code == 2 and "lake.pth" in err and "unknown key" in err
    assert "Traceback" not in err


def test_an_unexpected_failure_is_reported_as_a_bug(
    energy: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from heliograph.scheduler import Scheduler

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(Scheduler, "tick", broken)  # a failing *job* is an event, not a bug
    code, _, err = helio(capsys, "-p", str(energy), "up", "--once")
    assert code == 3 and "internal error: ZeroDivisionError: boom" in err
    assert "HELIO_DEBUG=1" in err


@pytest.mark.skipif(
    not (SHARED_DATA / "epf" / "BE.csv").is_file(),
    reason="the shared EPF data is not beside the repository",
)
def test_ingest_the_shipped_epf_file(energy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = helio(
        capsys,
        "-p",
        str(energy),
        "lake",
        "ingest",
        str(SHARED_DATA / "epf" / "BE.csv"),
        "--format",
        "epf",
    )
    assert code == 0, out + err
    assert "energy_prices: 52416 rows in, 52416 written" in out
    code, out, _ = helio(
        capsys,
        "-p",
        str(energy),
        "lake",
        "query",
        "SELECT count(DISTINCT variable) AS n FROM energy_forecasts WHERE market = 'BE'",
        "--csv",
    )
    assert out.split() == ["n", "2"]


WARN_DATASET = """
[datasets.prices]
key = ["market", "timestamp"]
time_column = "timestamp"

[datasets.prices.columns]
market = "string"
timestamp = "timestamp"
price = "double"

[[datasets.prices.checks]]
type = "distribution"
column = "price"
max_ks = 0.5
min_rows = 5
severity = "warn"
"""


def _prices_csv(path: Path, start: str, days: int, level: float, seed: int) -> Path:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    stamps = pd.date_range(start, periods=24 * days, freq="1h", tz="UTC")
    frame = pd.DataFrame(
        {"market": "GB", "timestamp": stamps, "price": level + rng.normal(0, 5, len(stamps))}
    )
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def warned(tmp_path: Path) -> Path:
    from heliograph.core import init_project

    init_project(tmp_path / "w", extra=WARN_DATASET)
    return tmp_path / "w"


def test_warnings_are_printed_and_counted_the_same_everywhere(
    warned: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 8 item 10: failed warn checks were seen only in events, `check report` counted
    "0 failed" right after `check run` warned, and counted fewer quarantined than it listed."""
    p = ["-p", str(warned)]
    normal = _prices_csv(tmp_path / "normal.csv", "2025-06-01", 3, 50.0, 1)
    assert helio(capsys, *p, "lake", "ingest", str(normal), "--dataset", "prices")[0] == 0
    assert helio(capsys, *p, "lake", "snapshot", "prices")[0] == 0
    shifted = _prices_csv(tmp_path / "shifted.csv", "2025-06-04", 2, 150.0, 2)
    code, out, _ = helio(capsys, *p, "lake", "ingest", str(shifted), "--dataset", "prices")
    assert code == 0
    assert "prices: warning in 2 partitions (date=2025-06-04, date=2025-06-05)" in out
    assert "distribution(price, reference=latest, max_ks=0.5): WARNING" in out

    # A batch without a usable date is quarantined apart from any partition.
    torn = tmp_path / "torn.csv"
    torn.write_text("market,timestamp,price\nGB,,50\n")
    assert helio(capsys, *p, "lake", "ingest", str(torn), "--dataset", "prices")[0] == 1

    config = warned / "helio.toml"
    config.write_text(config.read_text().replace("max_ks = 0.5", "max_ks = 0.01"))
    code, out, _ = helio(capsys, *p, "check", "run", "prices")
    assert code == 0 and "5 with warnings" in out  # every partition, against the snapshot
    code, out, _ = helio(capsys, *p, "check", "report", "prices")
    assert code == 0
    assert "distribution(price, reference=latest, max_ks=0.01): 0 passed, 0 failed, 5 warned" in out
    listed = out.count("  quarantined ")
    assert listed == 1 and "5 partitions judged, 1 batches quarantined" in out


def test_query_limit_applies_to_csv(
    warned: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 8 item 11: `helio lake query --csv --limit 3` printed every row."""
    p = ["-p", str(warned)]
    normal = _prices_csv(tmp_path / "normal.csv", "2025-06-01", 2, 50.0, 1)
    assert helio(capsys, *p, "lake", "ingest", str(normal), "--dataset", "prices")[0] == 0
    sql = "SELECT * FROM prices ORDER BY timestamp"
    code, out, _ = helio(capsys, *p, "lake", "query", "--csv", "--limit", "3", sql)
    assert code == 0 and out.splitlines()[0] == "market,timestamp,price"
    assert len(out.splitlines()) == 4
    code, out, _ = helio(capsys, *p, "lake", "query", "--csv", sql)
    assert len(out.splitlines()) == 49  # without --limit, CSV is every row
    code, out, _ = helio(capsys, *p, "lake", "query", "--limit", "3", sql)
    assert "… 45 more rows" in out


def test_markets_as_a_string_is_refused(energy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 8 item 12: `markets = "GB"` was read as the markets "G" and "B"."""
    config = energy / "helio.toml"
    config.write_text(config.read_text().replace('markets = ["GB", "DE", "FR"]', 'markets = "GB"'))
    code, _, err = helio(capsys, "-p", str(energy), "job", "run", "ingest")
    assert code == 2
    assert "sources.simulator.options.markets" in err and "list of market names" in err


def test_an_error_naming_a_config_section_keeps_its_brackets(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Messages such as "set [gateway] webhook_secret" are text, not Rich markup."""
    import heliograph.cli._main as cli_main
    from heliograph.core import ConfigError

    def fail(*_: object, **__: object) -> None:
        raise ConfigError("set [gateway] webhook_secret", field="gateway.webhook_secret")

    monkeypatch.setattr(type(cli_main.app), "__call__", fail)
    with pytest.raises(SystemExit) as done:
        cli_main.main(["status"])
    assert done.value.code == 2
    assert "set [gateway] webhook_secret" in capsys.readouterr().err
