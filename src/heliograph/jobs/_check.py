"""The ``check`` job: every declared check over the visible data again, after a check changed.

Published data is reported on, never moved (snapshots stay immutable); the results go to the
dataset's check log, so that ``helio check report`` and the data report show the newest
verdict of each partition, and failures are events.

Example::

    [o.ok for o in check(project)]
    # [True, True, True]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from heliograph.checks import CheckResult, run_checks, unique
from heliograph.core import Project
from heliograph.lake import append_check_log, open_lake
from heliograph.ledger import Ledger

from ._check_events import record_checks
from ._job import job

__all__ = ["CheckOutcome", "check"]


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

    def summary(self) -> str:
        return (
            f"{self.dataset}: {self.partitions} partitions, {len(self.failed)} failing, "
            f"{len(self.warnings)} with warnings"
        )


@job("check", "run every declared check over the visible data again and record failures")
def check(
    project: Project, datasets: Sequence[str] | None = None, *, ledger: Ledger | None = None
) -> list[CheckOutcome]:
    """Run every declared check over the visible data again (after a check changed, say).

    Data already published is reported on, never moved: snapshots stay immutable.
    """
    lake = open_lake(project)
    ledger = ledger or Ledger(project.ledger_url)
    outcomes = []
    now = lake.clock.now()
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
        append_check_log(
            lake.check_log_path(name),
            [
                {
                    "at": now.isoformat(),
                    "origin": "helio check run",
                    "partition": f"date={p}",
                    "status": "rechecked",
                    "results": [r.to_dict() for r in rs],
                }
                for p, rs in verdicts.items()
            ],
        )
        dataset_results = lake.check_dataset(name)
        record_checks(
            ledger,
            name,
            [*found, *(("the dataset", r) for r in dataset_results)],
            "helio check run (published data, not moved)",
        )
        outcomes.append(CheckOutcome(name, len(verdicts), failed, warnings, dataset_results))
    return outcomes
