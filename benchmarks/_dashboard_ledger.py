"""A generated ledger at scale for ``benchmarks/dashboard.py``: predictions, actuals, monitor
results and events, written by SQLite itself (a recursive CTE), in the ledger's own schema
(its triggers count the predictions per version as they go in).

Predictions: ``rows`` answers of the price-forecast service over a year ending at ``END``,
spread over 3 markets (models ``energy-price-GB/DE/FR``), champion and challenger in turn,
each with P10/P50/P90 for the next 4 half-hours. Actuals every half-hour of the year and
market; hourly monitor passes over the last 30 days (metrics per version and role in two
windows, 30 features' drift in drift's own window, health); a few thousand events
(registrations, alias moves, alerts, job failures).
"""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from heliograph.core import MonitoringSettings
from heliograph.ledger import Ledger

__all__ = ["END", "MARKETS", "SERVICE", "generate_ledger"]

END = datetime(2025, 6, 1, tzinfo=UTC)
SERVICE = "price-forecast"
MARKETS = ("GB", "DE", "FR")
_YEAR = 365 * 86_400
_DRIFT_WINDOW = MonitoringSettings().drift_window_hours
_FEATURES = [f"f{i:02d}" for i in range(30)]
_STAMP = "%Y-%m-%d %H:%M:%S.000000"


def _ts(value: datetime) -> str:
    return value.strftime(_STAMP)  # how SQLAlchemy stores a UTC datetime in SQLite


def _predictions(con: sqlite3.Connection, rows: int) -> None:
    step = _YEAR / rows
    start = (END - timedelta(seconds=_YEAR)).timestamp()
    # price shape: 50 + 20 sin(hour) + a per-market offset; quantiles ±12; 4 half-hours ahead
    con.execute(
        f"""
        WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {rows - 1}),
        r AS (
          SELECT i, {start} + i * {step} AS t, i % 3 AS m, (i / 3) % 2 AS c FROM n
        ),
        v AS (
          SELECT i, t, m, c,
            50 + 10 * m + 20 * sin(2 * pi() * ((t / 3600.0) % 24) / 24) + (i % 7) - 3 AS p
          FROM r
        )
        INSERT INTO predictions (record_id, at, service, model_name, model_version, role,
            request_id, as_of, target_start, target_end, inputs_hash, inputs, outputs, latency_ms)
        SELECT printf('%032x', i),
          strftime('%Y-%m-%d %H:%M:%f000', t, 'unixepoch'),
          '{SERVICE}',
          'energy-price-' || CASE m WHEN 0 THEN 'GB' WHEN 1 THEN 'DE' ELSE 'FR' END,
          CASE c WHEN 0 THEN '3' ELSE '4' END,
          CASE c WHEN 0 THEN 'champion' ELSE 'challenger' END,
          printf('req-%010d', i / 2),
          strftime('%Y-%m-%d %H:%M:%f000', t, 'unixepoch'),
          strftime('%Y-%m-%d %H:%M:%f000', (CAST(t / 1800 AS INTEGER) + 1) * 1800, 'unixepoch'),
          strftime('%Y-%m-%d %H:%M:%f000', (CAST(t / 1800 AS INTEGER) + 4) * 1800, 'unixepoch'),
          printf('%016x', i),
          NULL,
          printf('{{"p10":[%.1f,%.1f,%.1f,%.1f],"p50":[%.1f,%.1f,%.1f,%.1f],' ||
                 '"p90":[%.1f,%.1f,%.1f,%.1f]}}',
                 p - 12, p - 11, p - 12, p - 13, p + c, p + 1 + c, p + c, p - 1 + c,
                 p + 12, p + 13, p + 12, p + 11),
          3.0 + (i % 5)
        FROM v
        """
    )


def _actuals(con: sqlite3.Connection) -> None:
    start = (END - timedelta(seconds=_YEAR)).timestamp()
    con.execute(
        f"""
        WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {_YEAR // 1800}),
        markets(m, name) AS (VALUES (0, 'GB'), (1, 'DE'), (2, 'FR'))
        INSERT INTO actuals (service, model_name, target_time, value, source, recorded_at)
        SELECT '{SERVICE}', 'energy-price-' || name,
          strftime('%Y-%m-%d %H:%M:%f000', {start} + i * 1800, 'unixepoch'),
          50 + 10 * m + 20 * sin(2 * pi() * (((i * 1800) / 3600.0) % 24) / 24) + (i % 5) - 2,
          'generated', strftime('%Y-%m-%d %H:%M:%f000', {start} + i * 1800 + 3600, 'unixepoch')
        FROM n, markets
        """
    )


def _monitor_results(con: sqlite3.Connection, days: int = 30) -> int:
    rows = []
    computed = _ts(END)
    for h in range(days * 24, -1, -1):
        end = _ts(END - timedelta(hours=h))
        for market in MARKETS:
            model = f"energy-price-{market}"
            for version, role, base in (("3", "champion", 6.0), ("4", "challenger", 5.6)):
                wobble = (h % 24) / 24
                for window in (24.0, 168.0):  # the metrics' windows
                    head = (SERVICE, model, version, role, window, end)
                    for name, value in (("mae", base + wobble), ("rmse", 1.3 * base + wobble),
                                        ("coverage", 0.8), ("coverage_gap", 0.0),
                                        ("pinball", base / 3)):  # fmt: skip
                        rows.append((*head, "metric", name, "", value, 480, computed))
                head = (SERVICE, model, version, role, _DRIFT_WINDOW, end)  # drift's own
                for i, feature in enumerate([*_FEATURES, "prediction"]):
                    drift = 0.02 * i * (1 + wobble)
                    for name, value in (("psi", drift), ("ks", drift / 4),
                                        ("wasserstein", drift)):  # fmt: skip
                        rows.append((*head, "drift", name, feature, value, 480, computed))
        for subject in (f"service:{SERVICE}", "job:predict", "job:monitor", "spool"):
            alerting = 1.0 if subject == "job:predict" and h < 3 else 0.0
            rows.append((subject, "", "", "", 0.0, end, "health", "alerting", "", alerting, 1,
                         computed))  # fmt: skip
    con.executemany(
        "INSERT INTO monitor_results (service, model_name, model_version, role, window_hours, "
        "window_end, kind, name, feature, value, count, computed_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    return len(rows)


def _events(con: sqlite3.Connection) -> int:
    rows = []

    def add(at: datetime, kind: str, subject: str, reason: str, details: dict) -> None:
        rows.append((_ts(at), kind, subject, reason, "bench", json.dumps(details)))

    for m, market in enumerate(MARKETS):
        model, first = f"energy-price-{market}", END - timedelta(days=300 - m)
        for version, at in (("3", first), ("4", END - timedelta(days=5))):
            tags = {"helio.snapshots": "", "helio.git.commit": "0" * 40}
            add(at, "model_registered", f"model/{model}", f"registered v{version}",
                {"version": version, "run_id": f"run{market}{version}", "tags": tags})  # fmt: skip
        add(first, "alias_moved", f"model/{model}", "champion: - → 3: first champion",
            {"alias": "champion", "from": None, "to": "3"})  # fmt: skip
        moved = {"alias": "challenger", "from": None, "to": "4"}
        add(END - timedelta(days=5), "alias_moved", f"model/{model}",
            "challenger: - → 4: weekly retrain", moved)  # fmt: skip
    for i in range(5_000):
        at = END - timedelta(minutes=100 * (5_000 - i))
        kind = ("alert_raised", "job_failed", "snapshot_taken", "check_warning")[i % 4]
        add(at, kind, f"subject-{i % 50}", f"generated {kind} {i}", {})
    con.executemany(
        "INSERT INTO events (at, kind, subject, reason, actor, details) VALUES (?, ?, ?, ?, ?, ?)",
        sorted(rows),
    )
    return len(rows)


def generate_ledger(url: str, rows: int, log: object = None) -> dict[str, float]:
    """Fill the (new, SQLite) ledger at ``url`` and return seconds and counts per part."""
    ledger = Ledger(url)
    ledger.events(limit=1)  # the ledger creates its tables and indexes
    ledger.close()  # its own engine, disposed: no reader holds the WAL open
    path = Path(url.removeprefix("sqlite:///"))
    con = sqlite3.connect(path, isolation_level=None)
    # no WAL while loading: each page is written once (a WAL would hold the whole load and
    # be copied again at the checkpoint); the ledger is WAL again at the end
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-400000")
    figures: dict[str, float] = {}
    for name, part in (("predictions", lambda: _predictions(con, rows)),
                       ("actuals", lambda: _actuals(con)),
                       ("monitor_results", lambda: _monitor_results(con)),
                       ("events", lambda: _events(con))):  # fmt: skip
        started = time.perf_counter()
        con.execute("BEGIN")
        part()
        con.execute("COMMIT")
        figures[f"{name}_seconds"] = round(time.perf_counter() - started, 1)
        if callable(log):
            log(f"generated {name} in {figures[f'{name}_seconds']} s")
    con.execute("ANALYZE")
    con.execute("PRAGMA journal_mode=WAL")
    con.close()
    return figures
