"""The ``ingest`` job: every configured source (or files given by hand) into the lake.

Each new partition is judged by the dataset's checks on the way in; what fails is quarantined,
and every failed check (blocking or a warning) is an event in the ledger and a line of the
outcome's summary. Then the online views that read what was published are materialised (the
``materialize`` job), so serving reads the new feature states at once.

Example::

    outcome = ingest(project)
    print(outcome.summary())
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from heliograph.checks import CheckResult
from heliograph.core import Project, UsageError, get_logger
from heliograph.features import MaterializeOutcome
from heliograph.lake import IngestResult, Lake, ingest_frames, make_source, open_lake
from heliograph.ledger import Ledger

from ._check_events import record_checks
from ._job import job
from ._materialize import materialize_published

__all__ = ["IngestOutcome", "ingest", "ingest_file"]

log = get_logger(__name__)


@dataclass
class IngestOutcome:
    results: list[IngestResult] = field(default_factory=list)
    dataset_checks: dict[str, list[CheckResult]] = field(default_factory=dict)
    materialized: list[MaterializeOutcome] = field(default_factory=list)
    materialize_errors: list[str] = field(default_factory=list)

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
        lines += _warning_lines(self.results)
        for name, results in self.dataset_checks.items():
            lines += [f"  {name}: {c.summary()}" for c in results if not c.success]
        lines += [f"online store: {m.summary()}" for m in self.materialized]
        lines += [f"online store: materialising failed: {e}" for e in self.materialize_errors]
        return "\n".join(lines) or "no sources configured, nothing to ingest"


def _warning_lines(results: Sequence[IngestResult]) -> list[str]:
    """One line per dataset and failed check of severity warn: where, and the first finding."""
    found: dict[tuple[str, str], list[tuple[str, CheckResult]]] = {}
    for r in results:
        for where, result in r.warnings:
            found.setdefault((r.dataset, result.check), []).append((where, result))
    lines = []
    for (dataset, _label), hits in found.items():
        places = sorted({where for where, _ in hits})
        shown = ", ".join(places[:3]) + (f" and {len(places) - 3} more" if len(places) > 3 else "")
        lines.append(
            f"  {dataset}: warning in {_n(len(places), 'partition')} ({shown}): "
            f"{hits[0][1].summary()}"
        )
    return lines


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


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
    record_checks(ledger, result.dataset, result.warnings, result.origin)


def _dataset_checks(
    lake: Lake, ledger: Ledger, names: Sequence[str], outcome_checks: dict[str, list[CheckResult]]
) -> None:
    for name in names:
        results = lake.check_dataset(name)
        if results:
            outcome_checks[name] = results
        record_checks(ledger, name, [("the dataset", r) for r in results], "dataset checks")


@job(
    "ingest",
    "pull every configured source into the lake, checking each new partition",
    schedule="0 * * * *",
    retries=3,
)
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
    _materialize(project, outcome, ledger)
    return outcome


def _materialize(project: Project, outcome: IngestOutcome, ledger: Ledger) -> None:
    """The online views over the datasets that got new rows, brought up to the lake."""
    published = {r.dataset for r in outcome.results if r.rows_written}
    if published:
        done, errors = materialize_published(project, published, ledger=ledger)
        outcome.materialized, outcome.materialize_errors = done, errors


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
    _materialize(project, outcome, ledger)
    return outcome
