"""The data page and lineage, read without a browser: checks, quarantine, data reports, and
the lineage of a prediction or of some data (``heliograph.registry.lineage``, from the
ledger alone, so it works with the MLflow server gone).

Example::

    checks(project)[["dataset", "check", "passed", "failed", "warned"]]
    quarantine(project)[["dataset", "partition", "rows", "reason"]]
    lineage_of(project, "scheduled-20250601T120000Z")["kind"]
    # 'prediction'
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from heliograph.core import Project, redacted, secret_values
from heliograph.lake import check_tally, open_lake, render_markdown
from heliograph.ledger import read_predictions

__all__ = ["checks", "data_reports", "lineage_of", "quarantine", "recent_predictions"]


def checks(project: Project) -> pd.DataFrame:
    """Per dataset and check, on how many partitions it passes, fails (blocking), warns now."""
    lake = open_lake(project)
    rows = [
        {
            "dataset": name,
            "check": label,
            "passed": tally.passed,
            "failed": tally.failed,
            "warned": tally.warned,
        }
        for name in lake.dataset_names()
        for label, tally in sorted(check_tally(lake.check_log(name)).items())
    ]
    return pd.DataFrame(rows, columns=["dataset", "check", "passed", "failed", "warned"])


def quarantine(project: Project) -> pd.DataFrame:
    """Every quarantined batch, newest first, with its reason and its report (Markdown)."""
    entries = open_lake(project).quarantined()
    rows = [
        {
            "quarantined_at": e.quarantined_at,
            "dataset": e.dataset,
            "partition": e.partition,
            "rows": e.rows,
            "origin": e.origin,
            "reason": e.reason,
            "id": e.id,
            "report": render_markdown(e),
        }
        for e in reversed(entries)
    ]
    columns = ["quarantined_at", "dataset", "partition", "rows", "origin", "reason", "id"]
    return pd.DataFrame(rows, columns=[*columns, "report"])


def data_reports(project: Project, *, newest: int = 20) -> pd.DataFrame:
    """The newest data reports (``helio job run report``): file, dataset, when written."""
    folder = project.state_dir / "reports" / "data"
    paths: list[Path] = sorted(folder.glob("*.html"), key=lambda p: p.stat().st_mtime)
    rows = [
        {
            "written_at": datetime.fromtimestamp(p.stat().st_mtime, UTC),
            "report": p.stem,
            "path": str(p),
        }
        for p in reversed(paths[-newest:])
    ]
    return pd.DataFrame(rows, columns=["written_at", "report", "path"])


def recent_predictions(project: Project, service: str, *, limit: int = 10) -> pd.DataFrame:
    """The newest predictions of ``service`` (an indexed range on (service, at)): ids to
    look up on the lineage page."""
    records = read_predictions(project.ledger_url, service=service, limit=limit)
    rows = [
        {
            "at": r.at,
            "record_id": r.record_id,
            "request_id": r.request_id,
            "model": r.model_name,
            "version": r.model_version,
            "role": r.role,
        }
        for r in records
    ]
    columns = ["at", "record_id", "request_id", "model", "version", "role"]
    return pd.DataFrame(rows, columns=columns)


def lineage_of(project: Project, ident: str) -> dict[str, Any]:
    """``helio lineage ID --json`` for the dashboard: a prediction back to its version, run,
    snapshots, checks, commit and environment, or some data forward to its users. Raises
    ``UsageError`` for an unknown id (the page shows its sentence). Any configured secret
    is shown as ``***``."""
    from heliograph.registry import lineage  # imports MLflow: only when a page asks

    found = lineage(project, ident, mlflow=False).to_dict()
    return dict(redacted(found, secret_values(project.settings)))
