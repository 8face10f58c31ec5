"""Rejected lines: what a format could not parse, quarantined with its line number.

A format reader (entry point group ``heliograph.formats``) that reads a file line by line may
find lines it cannot turn into rows. It never skips them: it returns them beside its rows,
under the key ``rejected_key(dataset)``, as a frame of ``line`` (1-based, in the file),
``field``, ``rule`` and ``text`` (the line as it was). ``ingest_frames`` ingests the rows and
quarantines the rejected lines (``_quarantine/<dataset>/unparsed/``, with the usual reports),
so they show in ``lake.quarantined(dataset)`` and nothing is lost.

Example::

    frames = read_file("u.data", "movielens")
    sorted(frames)
    # ['recsys_reviews', 'recsys_reviews:rejected']
    results = ingest_frames(lake, frames, origin="u.data")
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import pandas as pd
import pyarrow as pa

from heliograph.checks import CheckResult

from ._ingest import IngestResult
from ._lake import Lake
from ._quarantine import QuarantineEntry, write_reports
from ._storage import publish_table

__all__ = [
    "REJECTED_COLUMNS",
    "ingest_frames",
    "quarantine_rejected",
    "rejected_frame",
    "rejected_key",
]

REJECTED_COLUMNS = ("line", "field", "rule", "text")
_SUFFIX = ":rejected"  # ':' is not allowed in a dataset name, so the key cannot collide
_PARTITION = "unparsed"
_EXAMPLES = 10


def rejected_key(dataset: str) -> str:
    """The key under which a reader returns the lines of ``dataset`` it could not parse."""
    return dataset + _SUFFIX


def rejected_frame(lines: list[tuple[int, str, str, str]]) -> pd.DataFrame:
    """A frame of rejected lines from ``(line, field, rule, text)`` tuples."""
    frame = pd.DataFrame(lines, columns=list(REJECTED_COLUMNS))
    return frame.astype({"line": "int64", "field": str, "rule": str, "text": str})


def quarantine_rejected(
    lake: Lake, dataset: str, rejected: pd.DataFrame, *, origin: str, check: str = "parse"
) -> QuarantineEntry | None:
    """Keep ``rejected`` lines of ``dataset`` in its quarantine, with a report; idempotent."""
    lake.dataset(dataset)  # an unknown dataset is an error here too
    if rejected.empty:
        return None
    missing = [c for c in REJECTED_COLUMNS if c not in rejected.columns]
    if missing:
        raise ValueError(f"rejected lines need columns {', '.join(missing)}")
    table = pa.Table.from_pandas(
        rejected[list(REJECTED_COLUMNS)].assign(origin=origin).reset_index(drop=True),
        preserve_index=False,
    )
    digest = hashlib.sha256(origin.encode())
    digest.update(pd.util.hash_pandas_object(rejected, index=False).to_numpy().tobytes())
    name = f"part-{digest.hexdigest()[:16]}"
    folder = lake.root / "_quarantine" / dataset / _PARTITION
    data_file = folder / f"{name}.parquet"
    report_json = data_file.with_suffix(".report.json")
    if report_json.is_file():
        return QuarantineEntry.load(report_json)
    folder.mkdir(parents=True, exist_ok=True)
    publish_table(lake.root, table, data_file)
    first = rejected.sort_values("line").head(_EXAMPLES)
    result = CheckResult(
        f"{check}({dataset})",
        False,
        element_count=len(rejected),
        unexpected_count=len(rejected),
        mostly=1.0,
        examples=[
            {"line": int(r.line), "field": r.field, "rule": r.rule, "text": str(r.text)[:200]}
            for r in first.itertuples()
        ],
        note=f"{len(rejected)} line{'s' if len(rejected) > 1 else ''} of {origin} could not "
        "be read as rows",
    )
    return write_reports(
        data_file,
        entry_id=f"{dataset}/{_PARTITION}/{name}",
        dataset=dataset,
        partition=_PARTITION,
        origin=origin,
        rows=len(rejected),
        results=[result],
        when=lake.clock.now(),
    )


def ingest_frames(
    lake: Lake, frames: Mapping[str, pd.DataFrame], *, origin: str
) -> list[IngestResult]:
    """Ingest what a reader returned: rows into their datasets, rejected lines to quarantine."""
    results = []
    for key, frame in frames.items():
        if key.endswith(_SUFFIX):
            dataset = key.removesuffix(_SUFFIX)
            result = IngestResult(dataset, origin, rows_in=len(frame))
            entry = quarantine_rejected(lake, dataset, frame, origin=origin)
            if entry is not None:
                result.quarantined.append(entry)
        else:
            result = lake.ingest(key, frame, origin=origin)
        results.append(result)
    return results
