"""Quarantine: where data that failed its checks is kept, with a report a person can read.

Nothing that fails a check is dropped: the rows are written, exactly as they arrived, under
``_quarantine/<dataset>/date=YYYY-MM-DD/`` beside a JSON report (for programs) and a Markdown
report (for people) saying which checks failed, by how much, with example rows.

Example::

    for entry in lake.quarantined("energy_prices"):
        print(entry.id, entry.reason)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from heliograph.checks import CheckResult

from ._storage import write_text

__all__ = ["QuarantineEntry", "render_markdown", "write_reports"]


@dataclass(frozen=True)
class QuarantineEntry:
    """One quarantined batch of one partition: its rows sit in ``path``."""

    id: str
    dataset: str
    partition: str
    origin: str
    rows: int
    quarantined_at: str
    results: tuple[CheckResult, ...]
    path: Path
    again: bool = False  # these very rows were quarantined before (a repeated ingest)

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if r.blocking]

    @property
    def reason(self) -> str:
        return "; ".join(r.summary() for r in self.failed) or "no failed check recorded"

    @property
    def report_path(self) -> Path:
        return self.path.with_suffix(".report.md")

    @classmethod
    def load(cls, report_json: Path) -> QuarantineEntry:
        data = json.loads(report_json.read_text())
        return cls(
            id=data["id"],
            dataset=data["dataset"],
            partition=data["partition"],
            origin=data["origin"],
            rows=data["rows"],
            quarantined_at=data["quarantined_at"],
            results=tuple(CheckResult.from_dict(r) for r in data["results"]),
            path=report_json.parent / data["file"],
        )


def render_markdown(entry: QuarantineEntry) -> str:
    """The readable report: what failed, how many rows, examples."""
    lines = [
        f"# Quarantined: {entry.dataset}, {entry.partition}",
        "",
        f"- **rows**: {entry.rows}, kept in `{entry.path.name}`",
        f"- **from**: {entry.origin}",
        f"- **when**: {entry.quarantined_at}",
        f"- **id**: `{entry.id}`",
        "",
        "These rows are not visible to queries, snapshots or training. Fix the source and",
        "ingest again, or change the check if the data is right.",
        "",
        "## Checks",
        "",
        "| check | result | rows judged | unexpected | tolerance | note |",
        "| --- | --- | ---: | ---: | ---: | --- |",
    ]
    for r in entry.results:
        tolerance = "" if r.mostly is None else f"{100 * (1 - r.mostly):.2f}%"
        unexpected = (
            "" if r.mostly is None else f"{r.unexpected_count} ({r.unexpected_percent:.2f}%)"
        )
        lines.append(
            f"| `{r.check}` | {'pass' if r.success else '**FAIL**'} | "
            f"{r.element_count} | {unexpected} | {tolerance} | {r.note} |"
        )
    for r in entry.failed:
        if not r.examples:
            continue
        lines += ["", f"### Examples: `{r.check}`", ""]
        keys = list(dict.fromkeys(k for row in r.examples for k in row))
        lines.append("| " + " | ".join(keys) + " |")
        lines.append("|" + " --- |" * len(keys))
        for row in r.examples:
            lines.append("| " + " | ".join(str(row.get(k, "")) for k in keys) + " |")
    return "\n".join(lines) + "\n"


def write_reports(
    data_file: Path,
    *,
    entry_id: str,
    dataset: str,
    partition: str,
    origin: str,
    rows: int,
    results: Sequence[CheckResult],
    when: datetime,
) -> QuarantineEntry:
    """Write the JSON and Markdown reports beside a quarantined data file (atomically)."""
    report: dict[str, Any] = {
        "id": entry_id,
        "dataset": dataset,
        "partition": partition,
        "origin": origin,
        "rows": rows,
        "quarantined_at": when.isoformat(),
        "file": data_file.name,
        "results": [r.to_dict() for r in results],
    }
    json_path = data_file.with_suffix(".report.json")
    entry = QuarantineEntry(
        id=entry_id,
        dataset=dataset,
        partition=partition,
        origin=origin,
        rows=rows,
        quarantined_at=report["quarantined_at"],
        results=tuple(results),
        path=data_file,
    )
    for path, text in (
        (entry.report_path, render_markdown(entry)),
        (json_path, json.dumps(report, indent=2, default=str)),
    ):
        write_text(path, text)
    return entry
