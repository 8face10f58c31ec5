"""The prediction spool: fsynced JSON-lines segments that hold predictions while the ledger
database is down, and the folder each process claims for its own.

A segment is ``<folder>/segment-<time_ns>.jsonl``, one ``PredictionRecord.to_row()`` per line;
what the ledger refuses goes to ``<folder>/rejected.jsonl`` with the reason.

Example::

    claim = claim_spool(project.state_dir / "spool")   # held for the life of the process
    writer = PredictionWriter(project.ledger_url, claim.folder)
    claim.release()
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from ._ledger import LedgerError

__all__ = ["SpoolClaim", "claim_spool"]

_SEGMENTS, _SEGMENT_LINES = "segment-*.jsonl", 10_000  # a new segment after this many records
_MAX_FOLDERS = 1024


@dataclass
class SpoolClaim:
    """A spool folder this process holds (by an exclusive lock on ``<folder>/.lock``)."""

    folder: Path
    _lock: IO[str]

    def release(self) -> None:
        """Let the folder go: the next process to claim one may take it (and its leftovers)."""
        self._lock.close()


def claim_spool(root: Path) -> SpoolClaim:
    """A spool folder of its own for this process under ``root`` (several gateways may share a
    machine). The first folder no running process holds is taken, so a restarted gateway
    replays what a crashed one left behind.
    """
    for index in range(_MAX_FOLDERS):
        folder = Path(root) / str(index)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            handle = open(folder / ".lock", "w")
        except OSError as exc:
            raise LedgerError(
                f"cannot use the prediction spool folder {folder}: {exc.strerror}",
                field="spool",
                rule="a writable folder",
            ) from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        return SpoolClaim(folder, handle)
    raise LedgerError(
        f"no free spool folder under {root}",
        field="spool",
        rule=f"fewer than {_MAX_FOLDERS} gateways per state folder",
    )


def _spool_line(row: dict[str, Any]) -> bytes:
    """One JSON line equal to the record's ``to_row()`` (its JSON texts spliced in as values)."""
    base = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}
    inputs, outputs = base.pop("inputs") or "null", base.pop("outputs")
    return f'{json.dumps(base)[:-1]}, "inputs": {inputs}, "outputs": {outputs}}}\n'.encode()


def _append(path: Path, data: bytes) -> None:
    with path.open("ab") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
