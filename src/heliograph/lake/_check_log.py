"""The check log: every check result the lake recorded, and the one tally read from it.

Ingest appends a line per partition batch it judged; ``helio check run`` appends a line per
partition it judged again. The current verdict of a check on a partition is its newest result
there, and every count people see (``helio check report``, the data report, ``helio up``) is
taken from that, so that they agree.

Example::

    tally = check_tally(lake.check_log("energy_prices"))
    tally["not_null(price)"].failed
    # 0
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._storage import append_text

__all__ = ["CheckTally", "append_check_log", "check_tally", "latest_results", "read_check_log"]


def append_check_log(path: Path, lines: Iterable[Mapping[str, Any]]) -> None:
    """Append ``lines`` (one JSON object each); a torn last line after a crash is skipped."""
    append_text(path, "".join(json.dumps(line, default=str) + "\n" for line in lines))


def read_check_log(path: Path) -> list[dict[str, Any]]:
    """Every line of a check log, oldest first."""
    if not path.is_file():
        return []
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        with contextlib.suppress(json.JSONDecodeError):  # a torn last line after a crash
            lines.append(json.loads(raw))
    return lines


def latest_results(log: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """The newest result of each check on each partition: ``{(partition, check): result}``."""
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in log:
        for result in entry.get("results", []):
            latest[(entry["partition"], result["check"])] = result
    return latest


@dataclass
class CheckTally:
    """How many partitions a check currently passes, fails (blocking) and warns on."""

    passed: int = 0
    failed: int = 0
    warned: int = 0

    def summary(self) -> str:
        return f"{self.passed} passed, {self.failed} failed, {self.warned} warned"


def check_tally(log: Iterable[Mapping[str, Any]]) -> dict[str, CheckTally]:
    """Per check label, its current verdicts over the partitions (see ``latest_results``)."""
    tally: dict[str, CheckTally] = {}
    for (_, label), result in latest_results(log).items():
        counts = tally.setdefault(label, CheckTally())
        if result.get("success"):
            counts.passed += 1
        elif result.get("severity", "error") == "error":
            counts.failed += 1
        else:
            counts.warned += 1
    return tally
