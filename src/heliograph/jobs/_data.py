"""The data jobs: ``ingest``, ``check``, ``snapshot`` and ``report``, and the pipeline of them.

Each job is idempotent and runs on the project's clock: run it by hand (``helio job run
ingest``), from cron, or from the scheduler. Every state change it makes is an event in the
ledger, with its reason.

>>> outcome = ingest(project)
>>> print(outcome.summary())
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from heliograph.checks import CheckResult, run_checks, unique
from heliograph.core import Project, UsageError, get_logger
from heliograph.lake import (
    IngestResult,
    Lake,
    Snapshot,
    ingest_frames,
    list_snapshots,
    make_source,
    open_lake,
    take_snapshot,
)
from heliograph.ledger import Ledger

__all__ = [
    "JOBS",
    "CheckOutcome",
    "IngestOutcome",
    "check",
    "ingest",
    "ingest_file",
    "report",
    "run_job",
    "run_pipeline",
    "snapshot",
]

log = get_logger(__name__)


@dataclass
class IngestOutcome:
    results: list[IngestResult] = field(default_factory=list)
    dataset_checks: dict[str, list[CheckResult]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Nothing was quarantined (dataset-wide checks such as freshness are reported apart)."""
        return all(r.ok for r in self.results)

    def summary(self) -> str:
        by_dataset: dict[str, list[int]] = {}
        for r in self.results:
            totals = by_dataset.setdefault(r.dataset, [0, 0, 0, 0])
            totals[0] += r.rows_in
            totals[1] += r.rows_written
            totals[2] += r.rows_duplicate
            totals[3] += r.rows_quarantined
        lines = [
            f"{name}: {n_in} rows in, {n_out} written, {dup} already in the lake, "
            f"{quar} quarantined"
            for name, (n_in, n_out, dup, quar) in by_dataset.items()
        ]
        for entry in (e for r in self.results for e in r.quarantined):
            lines.append(f"  quarantined {entry.id}: {entry.reason}")
        for name, results in self.dataset_checks.items():
            lines += [f"  {name}: {c.summary()}" for c in results if not c.success]
        return "\n".join(lines) or "no sources configured, nothing to ingest"


def _record_checks(
    ledger: Ledger, dataset: str, found: Sequence[tuple[str, CheckResult]], origin: str
) -> None:
    """One event per failing check and run: ``check_failed`` (blocking) or ``check_warning``."""
    grouped: dict[tuple[str, bool], list[tuple[str, CheckResult]]] = {}
    for where, result in found:
        if not result.success:
            grouped.setdefault((result.check, result.blocking), []).append((where, result))
    for (label, blocking), hits in grouped.items():
        places = [where for where, _ in hits]
        shown = ", ".join(places[:5]) + (f" and {len(places) - 5} more" if len(places) > 5 else "")
        kind = "check_failed" if blocking else "check_warning"
        ledger.record(
            kind,
            dataset,
            f"{label} failed in {shown}: {hits[0][1].summary()}",
            details={
                "check": label,
                "where": places,
                "origin": origin,
                "first": hits[0][1].to_dict(),
            },
        )


def _record_ingest(ledger: Ledger, result: IngestResult) -> None:
    for entry in result.quarantined:
        if entry.again:  # recorded when these rows were first quarantined
            continue
        ledger.record(
            "data_quarantined",
            entry.id,
            entry.reason,
            details={"rows": entry.rows, "origin": entry.origin, "report": str(entry.report_path)},
        )
    _record_checks(ledger, result.dataset, result.warnings, result.origin)


def _dataset_checks(
    lake: Lake, ledger: Ledger, names: Sequence[str], outcome_checks: dict[str, list[CheckResult]]
) -> None:
    for name in names:
        results = lake.check_dataset(name)
        if results:
            outcome_checks[name] = results
        _record_checks(ledger, name, [("the dataset", r) for r in results], "dataset checks")


def ingest(
    project: Project, sources: Sequence[str] | None = None, *, ledger: Ledger | None = None
) -> IngestOutcome:
    """Pull every configured source (or the ones named) up to the clock's now into the lake."""
    lake = open_lake(project)
    ledger = ledger or Ledger(project.ledger_url)
    configured = {s.name: s for s in project.settings.sources}
    for name in sources or ():
        if name not in configured:
            raise UsageError(
                f"unknown source {name!r}",
                field="source",
                rule="one of " + (", ".join(configured) or "(none)"),
            )
    outcome = IngestOutcome()
    now = lake.clock.now()
    touched: list[str] = []
    for spec in project.settings.sources:
        if sources and spec.name not in sources:
            continue
        source = make_source(
            spec.name,
            spec.type,
            spec.options,
            base=project.root,
            state_dir=project.state_dir / "sources",
        )
        for batch in source.batches(now):
            # rows, or a format's rejected lines (quarantined with their line numbers)
            (result,) = ingest_frames(lake, {batch.dataset: batch.frame}, origin=batch.origin)
            _record_ingest(ledger, result)
            batch.done()  # the rows are in the lake or in quarantine: safe either way
            outcome.results.append(result)
            touched.append(batch.dataset)
            log.info(result.summary())
    _dataset_checks(lake, ledger, list(dict.fromkeys(touched)), outcome.dataset_checks)
    return outcome


def ingest_file(
    project: Project,
    paths: Sequence[Path],
    *,
    format: str,
    dataset: str | None,
    ledger: Ledger | None = None,
) -> IngestOutcome:
    """Ingest files given by hand (``helio lake ingest``), with the same checks as sources."""
    from heliograph.core import track
    from heliograph.lake import read_file

    lake = open_lake(project)
    ledger = ledger or Ledger(project.ledger_url)
    outcome = IngestOutcome()
    frames = [(path, read_file(path, format, dataset)) for path in paths]  # all read, then write
    for path, by_dataset in track(frames, "ingesting files"):
        for result in ingest_frames(lake, by_dataset, origin=str(path)):
            _record_ingest(ledger, result)
            outcome.results.append(result)
    _dataset_checks(
        lake,
        ledger,
        list(dict.fromkeys(r.dataset for r in outcome.results)),
        outcome.dataset_checks,
    )
    return outcome


def snapshot(
    project: Project, datasets: Sequence[str] | None = None, *, ledger: Ledger | None = None
) -> list[Snapshot]:
    """Snapshot each dataset (or the ones named); a new snapshot is recorded as an event."""
    lake = open_lake(project)
    ledger = ledger or Ledger(project.ledger_url)
    taken = []
    for name in datasets or lake.dataset_names():
        before = {s.id for s in list_snapshots(lake, name)}
        snap = take_snapshot(lake, name)
        if snap.id not in before:
            ledger.record(
                "snapshot_taken",
                snap.id,
                f"{snap.rows} rows in {len(snap.partitions)} partitions",
                details={"files": len(snap.files)},
            )
        taken.append(snap)
    return taken


@dataclass
class CheckOutcome:
    dataset: str
    partitions: int
    failed: dict[str, list[CheckResult]]  # blocking failures, by partition
    warnings: dict[str, list[CheckResult]]  # failures of severity warn, by partition
    dataset_checks: list[CheckResult]

    @property
    def ok(self) -> bool:
        return not self.failed and not any(c.blocking for c in self.dataset_checks)


def check(
    project: Project, datasets: Sequence[str] | None = None, *, ledger: Ledger | None = None
) -> list[CheckOutcome]:
    """Run every declared check over the visible data again (after a check changed, say).

    Data already published is reported on, never moved: snapshots stay immutable.
    """
    lake = open_lake(project)
    ledger = ledger or Ledger(project.ledger_url)
    outcomes = []
    for name in datasets or lake.dataset_names():
        ds = lake.dataset(name)
        con = lake.connect()
        try:
            table = con.sql(
                f'SELECT *, strftime("{ds.time_column}", \'%Y-%m-%d\') AS __partition FROM "{name}"'
            ).to_arrow_table()
        finally:
            con.close()
        checks = [unique(*ds.key), *[c for c in ds.checks if c.scope == "partition"]]
        verdicts = (
            run_checks(table, "__partition", checks, reference=lake.reference_loader(name))
            if table.num_rows
            else {}
        )
        found = [(f"date={p}", r) for p, rs in verdicts.items() for r in rs]
        failed: dict[str, list[CheckResult]] = {}
        warnings: dict[str, list[CheckResult]] = {}
        for where, r in found:
            if not r.success:
                (failed if r.blocking else warnings).setdefault(where, []).append(r)
        dataset_results = lake.check_dataset(name)
        _record_checks(
            ledger,
            name,
            [*found, *(("the dataset", r) for r in dataset_results)],
            "helio check run (published data, not moved)",
        )
        outcomes.append(CheckOutcome(name, len(verdicts), failed, warnings, dataset_results))
    return outcomes


def _group_column(
    frame: pd.DataFrame, key: Sequence[str], time_column: str, columns: dict[str, str]
) -> str | None:
    groups = [k for k in key if k != time_column and columns.get(k) == "string"]
    if not groups:
        return None
    if len(groups) > 1:
        first, *rest = (frame[g].astype(str) for g in groups)
        frame["group"] = first.str.cat(rest, sep="/")
        return "group"
    return groups[0]


def report(
    project: Project,
    datasets: Sequence[str] | None = None,
    *,
    history_days: int = 28,
    out_dir: Path | None = None,
) -> list[Path]:
    """Write an HTML data report per dataset: its newest partition against recent history."""
    from heliograph.reports import write_data_report

    lake = open_lake(project)
    out_dir = out_dir or project.state_dir / "reports" / "data"
    written = []
    for name in datasets or lake.dataset_names():
        ds = lake.dataset(name)
        parts = lake.partitions(name)
        latest_date = parts[-1].date if parts else None
        where = None
        if latest_date:
            start = pd.Timestamp(latest_date) - timedelta(days=history_days)
            where = f"\"{ds.time_column}\" >= '{start.date()}'"
        frame = lake.read(name, where=where)  # typed, even when the dataset is empty
        group = _group_column(frame, ds.key, ds.time_column, dict(ds.columns))
        # What a person compares: the values, by group; not the other key parts, nor
        # bookkeeping times such as available_at (every new day is "new" there).
        keep = [
            c
            for c in frame.columns
            if c in (ds.time_column, group)
            or (c not in ds.key and ds.columns.get(c) != "timestamp")
        ]
        frame = frame[keep]
        day = frame[ds.time_column].dt.strftime("%Y-%m-%d")
        latest, history = frame[day == latest_date], frame[day != latest_date]
        checks = _latest_checks(lake, name, latest_date)
        path = out_dir / name / f"{latest_date or 'empty'}.html"
        write_data_report(
            path,
            dataset=name,
            latest=latest,
            history=history,
            time_column=ds.time_column,
            latest_label=f"date={latest_date}" if latest_date else "no partitions yet",
            group_column=group,
            check_results=checks,
        )
        written.append(path)
    return written


def _latest_checks(lake: Lake, name: str, date: str | None) -> list[dict[str, Any]] | None:
    if date is None:
        return None
    entries = [e for e in lake.check_log(name) if e["partition"] == f"date={date}"]
    return entries[-1]["results"] if entries else None


def run_pipeline(project: Project) -> dict[str, Any]:
    """The main data job: ingest every source, snapshot every dataset, write data reports."""
    ledger = Ledger(project.ledger_url)
    outcome = ingest(project, ledger=ledger)
    snaps = snapshot(project, ledger=ledger)
    reports = report(project)
    return {"ingest": outcome, "snapshots": snaps, "reports": reports}


JOBS = {
    "ingest": "pull every configured source into the lake, checking each new partition",
    "check": "run every declared check over the visible data again and record failures",
    "snapshot": "record an immutable snapshot of every dataset",
    "report": "write an HTML data report per dataset (newest partition vs recent history)",
}


def run_job(project: Project, name: str) -> Any:
    """Run a job by name (`helio job run NAME`)."""
    jobs = {"ingest": ingest, "check": check, "snapshot": snapshot, "report": report}
    if name not in jobs:
        raise UsageError(f"unknown job {name!r}", field="job", rule="one of " + ", ".join(JOBS))
    return jobs[name](project)
