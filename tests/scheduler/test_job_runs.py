"""The ledger's job runs on SQLite and PostgreSQL: one claim wins, and so does one take-over."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from heliograph.ledger import JobRuns, Ledger, LedgerError, ledger_counts

T = datetime(2025, 6, 1, 10, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    return str(request.getfixturevalue("postgres_url"))


def test_one_claim_and_one_take_over_win(url: str) -> None:
    ledgers = [Ledger(url) for _ in range(3)]
    a, b, c = (JobRuns(ledger) for ledger in ledgers)
    try:
        run = a.claim("ingest", T, owner="a")
        assert run is not None and run.status == "running" and run.attempt == 1
        assert b.claim("ingest", T, owner="b") is None  # the key is taken
        assert a.finish(run, "retrying", summary="boom", retry_at=T + timedelta(seconds=30))
        failed = b.get("ingest", T)
        assert failed is not None and failed.status == "retrying" and failed.summary == "boom"
        won = [x.take_over(failed, owner=name) for x, name in ((b, "b"), (c, "c"))]
        assert [w is not None for w in won] == [True, False]  # the second saw a changed row
        assert won[0] is not None and won[0].attempt == 2
        assert not a.renew(run, timedelta(seconds=60))  # the old holder holds nothing
        assert not a.finish(run, "succeeded")
        assert b.renew(won[0], timedelta(seconds=60))
        assert b.finish(won[0], "succeeded", summary="ok")
        assert c.latest("ingest") == c.get("ingest", T)
        assert c.last_finished("ingest").status == "succeeded"  # type: ignore[union-attr]
        assert ledger_counts(ledgers[2])["job_runs"] == {"succeeded": 1}
        with pytest.raises(LedgerError, match="finishes as one of"):
            a.finish(won[0], "done")
    finally:
        for ledger in ledgers:
            ledger.close()
