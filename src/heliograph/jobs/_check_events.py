"""Failed checks as ledger events: one ``check_failed`` or ``check_warning`` per check and run.

Example::

    record_checks(ledger, "energy_prices", [("date=2025-06-01", result)], "ingest")
"""

from __future__ import annotations

from collections.abc import Sequence

from heliograph.checks import CheckResult
from heliograph.ledger import Ledger

__all__ = ["record_checks"]


def record_checks(
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
